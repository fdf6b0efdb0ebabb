<?php
/**
 * Prints what a wp-config.php defines, without starting WordPress: its constants and
 * $table_prefix, as one JSON object of plain values (null, booleans, numbers, strings,
 * arrays of those). A constant whose value is anything else (an object, a string that
 * is not UTF-8) is named under "unsupported" instead.
 *
 * Usage: php read-config.php /path/to/wp-config.php example.com   (as the site's PHP user)
 * The configuration ends by requiring ABSPATH . 'wp-settings.php': ABSPATH is our
 * config-stop/ (root's, like this file), whose wp-settings.php is empty, so that is
 * where it stops. Nothing is written: a scratch file would be the PHP user's, and so
 * every process of that user's to change. The file read is the site's own code: what
 * it prints is checked, never trusted (wp_config.py).
 */
define( 'ABSPATH', __DIR__ . '/config-stop/' );
$_SERVER['HTTP_HOST']   = $argv[2];
$_SERVER['SERVER_NAME'] = $argv[2];
$wo_mt_before = array_keys( get_defined_constants( true )['user'] );

require $argv[1];

function wo_mt_plain( $value ) {
	if ( is_array( $value ) ) {
		foreach ( $value as $key => $item ) {
			if ( ! wo_mt_plain( $key ) || ! wo_mt_plain( $item ) ) {
				return false;
			}
		}
		return true;
	}
	if ( is_string( $value ) ) {
		return 1 === preg_match( '//u', $value );
	}
	return null === $value || is_bool( $value ) || is_int( $value ) || ( is_float( $value ) && is_finite( $value ) );
}

$wo_mt_constants   = array();
$wo_mt_unsupported = array();
foreach ( get_defined_constants( true )['user'] as $wo_mt_name => $wo_mt_value ) {
	if ( in_array( $wo_mt_name, $wo_mt_before, true ) ) {
		continue;
	}
	if ( wo_mt_plain( $wo_mt_value ) && wo_mt_plain( $wo_mt_name ) ) {
		$wo_mt_constants[ $wo_mt_name ] = $wo_mt_value;
	} else {
		$wo_mt_unsupported[] = wo_mt_plain( $wo_mt_name ) ? $wo_mt_name : bin2hex( $wo_mt_name );
	}
}
echo "\n" . json_encode( array(
	'constants'    => (object) $wo_mt_constants,
	'unsupported'  => $wo_mt_unsupported,
	'table_prefix' => isset( $table_prefix ) ? $table_prefix : 'wp_',
), JSON_PRESERVE_ZERO_FRACTION ) . "\n";
