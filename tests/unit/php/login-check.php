<?php
/**
 * Runs the login verifier's wo_mt_login_check() with WordPress stubbed, for
 * tests/unit/test_login_links.py. Job on stdin: {"key": hex or null, "token", "host",
 * "asked", "origin", "now", "users": [logins], "used": [option names taken already]}.
 * Prints the reason of a refusal, or "ok <login>".
 */
define( 'ABSPATH', '/' );
$job = json_decode( stream_get_contents( STDIN ), true );

function add_action() {}

function get_user_by( $field, $value ) {
	global $job;
	return in_array( $value, $job['users'], true ) ? (object) array( 'ID' => 1, 'user_login' => $value ) : false;
}

/** The options table: one INSERT IGNORE per name succeeds. */
class WoMtFakeDb {
	public $options = 'wp_options';
	public $taken;

	public function __construct( $taken ) {
		$this->taken = array_fill_keys( $taken, true );
	}

	public function prepare( $query, ...$args ) {
		return array( $query, $args );
	}

	public function esc_like( $text ) {
		return $text;
	}

	public function query( $prepared ) {
		list( $query, $args ) = $prepared;
		if ( 0 !== strpos( $query, 'INSERT IGNORE' ) ) {
			return 0;
		}
		if ( isset( $this->taken[ $args[0] ] ) ) {
			return 0;
		}
		$this->taken[ $args[0] ] = true;
		return 1;
	}
}

$wpdb = new WoMtFakeDb( $job['used'] );
require $argv[1];
$result = wo_mt_login_check( $job['token'], null === $job['key'] ? null : hex2bin( $job['key'] ),
	$job['host'], $job['asked'], $job['origin'], $job['now'] );
echo is_string( $result ) ? $result : 'ok ' . $result[0]->user_login;
