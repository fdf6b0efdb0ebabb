<?php
/**
 * Plugin Name: wo multitenancy login links
 * Description: Takes the one-time admin login links `wo multitenancy login` makes. Installed by wo multitenancy; changes here are overwritten.
 *
 * A link is https://<site>/?wo-mt-login#<token>. The token is in the fragment, which
 * browsers never send: it is in no log, no Referer, no cache. This page's script posts
 * it, so a mail scanner or a link preview (HEAD, or a GET without a browser) sees the
 * page and uses nothing. The token is <claims>.<signature>, both base64url, the
 * signature HMAC-SHA256 with the site's own key (<site root>/login.key, root's, readable
 * by this site's PHP alone) over "wo-mt-login." and the claims: pur (login), aud (the
 * site's host), sub (the user), iat, exp, jti (its single use), red (where to go).
 * The signature is checked in constant time before anything is decoded; then purpose,
 * host, origin, times (a cap of WO_MT_LOGIN_CAP seconds whatever the token says),
 * user, and the id, consumed atomically (one INSERT IGNORE: of two requests with one
 * token exactly one gets a session). Every use and refusal is kept as an event root
 * collects into its audit trail (with the id's first 8 characters, never the token).
 */
if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

const WO_MT_LOGIN_CAP     = 300; // seconds a link lives at most
const WO_MT_LOGIN_SKEW    = 30;  // seconds of clock difference forgiven
const WO_MT_LOGIN_EVENTS  = 1000; // refusals of signed links kept for root to collect, at most
const WO_MT_LOGIN_UNSIGNED = array( 'no key', 'malformed', 'bad signature' );

if ( isset( $_GET['wo-mt-login'] ) ) {
	add_action( 'init', 'wo_mt_login', 0 ); // pluggable functions are loaded; nothing is sent yet
}

function wo_mt_login() {
	nocache_headers();
	header( 'Cache-Control: no-store, no-cache, must-revalidate, max-age=0' );
	header( 'Referrer-Policy: same-origin' ); // WordOps' nginx sets its own; the page's <meta> rules its form
	header( 'X-Robots-Tag: noindex, nofollow' );
	header( 'X-Frame-Options: DENY' );
	if ( 'POST' !== ( isset( $_SERVER['REQUEST_METHOD'] ) ? $_SERVER['REQUEST_METHOD'] : '' ) ) {
		wo_mt_login_page();
	}
	$token  = isset( $_POST['token'] ) && is_string( $_POST['token'] ) ? wp_unslash( $_POST['token'] ) : '';
	$host   = strtolower( (string) wp_parse_url( home_url(), PHP_URL_HOST ) );
	$asked  = strtolower( preg_replace( '/:\d+$/', '', isset( $_SERVER['HTTP_HOST'] ) ? $_SERVER['HTTP_HOST'] : '' ) );
	$origin = isset( $_SERVER['HTTP_ORIGIN'] ) ? strtolower( (string) wp_parse_url( $_SERVER['HTTP_ORIGIN'], PHP_URL_HOST ) ) : '';
	$used   = wo_mt_login_check( $token, wo_mt_login_key(), $host, $asked, $origin, time() );
	if ( is_string( $used ) ) {
		wo_mt_login_refused( $used );
	}
	list( $user, $claims ) = $used;
	if ( ! wo_mt_login_event( 'ok', 'used', $claims['jti'], $user->user_login ) ) {
		wo_mt_login_refused( 'not recorded' ); // no session that the audit trail would miss
	}
	wp_set_auth_cookie( $user->ID, false, is_ssl() );
	$target = admin_url();
	if ( isset( $claims['red'] ) && is_string( $claims['red'] ) && '' !== $claims['red'] ) {
		$target = wp_validate_redirect( home_url( $claims['red'] ), admin_url() );
	}
	wp_safe_redirect( $target, 303 );
	exit;
}

/**
 * The page a link opens: its script takes the fragment out of the address (and the
 * history) into the form, which a person posts with one click. A scanner that fetches
 * the link, even one that runs scripts, clicks nothing. Referrer policy same-origin: a
 * page without one sends "Origin: null" with its form (Fetch), and a fragment is never
 * in a Referer anyway.
 */
function wo_mt_login_page() {
	header( 'Content-Type: text/html; charset=utf-8' );
	$host = esc_html( (string) wp_parse_url( home_url(), PHP_URL_HOST ) );
	echo '<!DOCTYPE html><html><head><meta charset="utf-8"><meta name="referrer" content="same-origin">'
		. '<meta name="robots" content="noindex"><title>Log in to ' . $host . '</title></head><body>'
		. '<form method="post" id="wo-mt-login"><input type="hidden" name="token" id="wo-mt-token">'
		. '<button type="submit" id="wo-mt-go" disabled>Log in to ' . $host . '</button>'
		. '<noscript>This login link needs JavaScript.</noscript></form><script>'
		. '(function(){var t=location.hash.slice(1);history.replaceState(null,"",location.pathname+location.search);'
		. 'if(t){document.getElementById("wo-mt-token").value=t;document.getElementById("wo-mt-go").disabled=false;}})();'
		. '</script></body></html>';
	exit;
}

/** One neutral page for every refusal; its reason is kept for root. */
function wo_mt_login_refused( $reason ) {
	if ( in_array( $reason, WO_MT_LOGIN_UNSIGNED, true ) ) {
		wo_mt_login_count( $reason ); // anyone can send these: counted, not kept one by one
	} else {
		wo_mt_login_event( 'refused', $reason, null, null );
	}
	status_header( 403 );
	header( 'Content-Type: text/html; charset=utf-8' );
	echo '<!DOCTYPE html><html><head><meta charset="utf-8"><meta name="referrer" content="same-origin">'
		. '<title>Link not valid</title></head><body><p>This login link cannot be used. Ask for a new one.</p></body></html>';
	exit;
}

/**
 * [WP_User, claims] when `token` logs its bearer in, else the reason it does not: `key`
 * the site's, `host` its home's, `asked` the request's Host, `origin` the host of its
 * Origin, `now` the time (tests fix it).
 */
function wo_mt_login_check( $token, $key, $host, $asked, $origin, $now ) {
	if ( null === $key ) {
		return 'no key';
	}
	$parts = explode( '.', $token );
	if ( 2 !== count( $parts ) || strlen( $token ) > 4096 ) {
		return 'malformed';
	}
	$signature = wo_mt_b64( hash_hmac( 'sha256', 'wo-mt-login.' . $parts[0], $key, true ) );
	if ( ! hash_equals( $signature, $parts[1] ) ) {
		return 'bad signature';
	}
	$claims = json_decode( (string) base64_decode( strtr( $parts[0], '-_', '+/' ), true ), true );
	if ( ! is_array( $claims ) ) {
		return 'malformed claims';
	}
	if ( ! isset( $claims['pur'] ) || 'login' !== $claims['pur'] ) {
		return 'wrong purpose';
	}
	if ( ! isset( $claims['aud'] ) || $claims['aud'] !== $host || $asked !== $host ) {
		return 'wrong host';
	}
	if ( $origin !== $host ) {
		return 'wrong origin';
	}
	$iat = isset( $claims['iat'] ) && is_int( $claims['iat'] ) ? $claims['iat'] : PHP_INT_MAX;
	$exp = isset( $claims['exp'] ) && is_int( $claims['exp'] ) ? $claims['exp'] : 0;
	if ( $iat > $now + WO_MT_LOGIN_SKEW ) {
		return 'issued in the future';
	}
	if ( $now > $exp + WO_MT_LOGIN_SKEW || $now > $iat + WO_MT_LOGIN_CAP + WO_MT_LOGIN_SKEW || $exp - $iat > WO_MT_LOGIN_CAP ) {
		return 'expired';
	}
	$user = isset( $claims['sub'] ) && is_string( $claims['sub'] ) ? get_user_by( 'login', $claims['sub'] ) : false;
	if ( ! $user ) {
		return 'unknown user';
	}
	if ( ! isset( $claims['jti'] ) || ! is_string( $claims['jti'] ) || ! preg_match( '/^[0-9a-f]{32}$/', $claims['jti'] ) ) {
		return 'malformed claims';
	}
	global $wpdb;
	$first = $wpdb->query( $wpdb->prepare(
		"INSERT IGNORE INTO {$wpdb->options} (option_name, option_value, autoload) VALUES (%s, %s, 'no')",
		'_wo_mt_jti_' . $claims['jti'], (string) $exp ) );
	if ( 1 !== $first ) {
		return 'replayed';
	}
	$wpdb->query( $wpdb->prepare( "DELETE FROM {$wpdb->options} WHERE option_name LIKE %s AND option_value < %d",
		$wpdb->esc_like( '_wo_mt_jti_' ) . '%', $now - WO_MT_LOGIN_CAP - WO_MT_LOGIN_SKEW ) );
	return array( $user, $claims );
}

function wo_mt_login_key() {
	$file = dirname( WP_CONTENT_DIR, 2 ) . '/login.key'; // <site root>/htdocs/wp-content
	$hex  = is_readable( $file ) ? trim( (string) file_get_contents( $file ) ) : '';
	return preg_match( '/^[0-9a-f]{64}$/', $hex ) ? hex2bin( $hex ) : null;
}

function wo_mt_b64( $bytes ) {
	return rtrim( strtr( base64_encode( $bytes ), '+/', '-_' ), '=' );
}

/** Count one refusal of `reason` for root's audit trail (an option root takes away). */
function wo_mt_login_count( $reason ) {
	global $wpdb;
	$wpdb->query( $wpdb->prepare(
		"INSERT INTO {$wpdb->options} (option_name, option_value, autoload) VALUES (%s, '1', 'no') "
		. 'ON DUPLICATE KEY UPDATE option_value = option_value + 1',
		'_wo_mt_login_count_' . str_replace( ' ', '_', $reason ) ) );
}

/**
 * Keep one use or refusal for root's audit trail (an option root takes away); whether
 * it was kept. Refusals beyond WO_MT_LOGIN_EVENTS pending are counted instead.
 */
function wo_mt_login_event( $result, $reason, $jti, $login ) {
	global $wpdb;
	if ( 'ok' !== $result ) {
		$pending = (int) $wpdb->get_var( $wpdb->prepare( "SELECT COUNT(*) FROM {$wpdb->options} WHERE option_name LIKE %s",
			$wpdb->esc_like( '_wo_mt_login_event_' ) . '%' ) );
		if ( $pending >= WO_MT_LOGIN_EVENTS ) {
			wo_mt_login_count( $reason );
			return true;
		}
	}
	return 1 === $wpdb->query( $wpdb->prepare(
		"INSERT IGNORE INTO {$wpdb->options} (option_name, option_value, autoload) VALUES (%s, %s, 'no')",
		'_wo_mt_login_event_' . bin2hex( random_bytes( 8 ) ),
		wp_json_encode( array(
			'at'     => microtime( true ),
			'result' => $result,
			'reason' => $reason,
			'link'   => $jti ? substr( $jti, 0, 8 ) : null,
			'user'   => $login,
			'from'   => isset( $_SERVER['REMOTE_ADDR'] ) ? $_SERVER['REMOTE_ADDR'] : null,
		) ) ) );
}
