<?php
/**
 * WordPress' own Site Health, every test of it (direct and async), run on one site as
 * its first administrator: php site_health.php <htdocs> <domain> [behind]. `behind`: as
 * though wordpress.org offered a newer release (9.9.9). Prints JSON:
 * {"tests": {name: [status, label]}, "can_update_plugins": bool}.
 */
$_SERVER['HTTP_HOST']     = $argv[2];
$_SERVER['SERVER_NAME']   = $argv[2];
$_SERVER['DOCUMENT_ROOT'] = $argv[1];
$_SERVER['REQUEST_URI']   = '/';
require $argv[1] . '/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/admin.php';
require_once ABSPATH . 'wp-admin/includes/class-wp-site-health.php';
if ( isset( $argv[3] ) && 'behind' === $argv[3] ) {
	add_filter( 'pre_site_transient_update_core', function () {
		return (object) array(
			'last_checked'    => time(),
			'version_checked' => get_bloginfo( 'version' ),
			'updates'         => array( (object) array(
				'response' => 'upgrade', 'current' => '9.9.9', 'version' => '9.9.9', 'locale' => 'en_US',
				'php_version' => '7.2.24', 'mysql_version' => '5.5.5', 'packages' => (object) array(),
			) ),
		);
	} );
}
$admins = get_users( array( 'role' => 'administrator', 'number' => 1, 'fields' => 'ID' ) );
wp_set_current_user( (int) $admins[0] );
$health = WP_Site_Health::get_instance();
$found  = array();
foreach ( WP_Site_Health::get_tests() as $tests ) {
	foreach ( $tests as $name => $test ) {
		$run = isset( $test['async_direct_test'] ) ? $test['async_direct_test'] : $test['test'];
		if ( is_string( $run ) && method_exists( $health, 'get_test_' . $run ) ) {
			$run = array( $health, 'get_test_' . $run );
		}
		if ( is_callable( $run ) ) {
			$result         = call_user_func( $run );
			$found[ $name ] = array( $result['status'], $result['label'] );
		}
	}
}
echo json_encode( array( 'tests' => $found, 'can_update_plugins' => current_user_can( 'update_plugins' ) ) ), "\n";
