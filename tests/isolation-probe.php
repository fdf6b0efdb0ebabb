<?php
/**
 * What a site's PHP can reach of another site and of the server: root puts this file in
 * a site's document root for an end-to-end test, requests it through nginx, and reads
 * the answer (tests/e2e/test_sites.py). ?other=<domain> names the other site.
 */
header( 'Content-Type: application/json' );
$wo_mt_other  = preg_replace( '/[^a-z0-9.-]/', '', (string) $_GET['other'] );
$wo_mt_shared = '/var/www/shared';

function wo_mt_can_write( $dir ) {
	$file    = $dir . '/.mt-probe-' . getmypid();
	$written = false !== @file_put_contents( $file, 'probe' );
	if ( $written ) {
		@unlink( $file );
	}
	return $written;
}

echo json_encode( array(
	'read_other_config'       => false !== @file_get_contents( "/var/www/$wo_mt_other/wp-config.php" ),
	'list_other_uploads'      => false !== @scandir( "/var/www/$wo_mt_other/htdocs/wp-content/uploads" ),
	'write_other_uploads'     => wo_mt_can_write( "/var/www/$wo_mt_other/htdocs/wp-content/uploads" ),
	'read_etc_passwd'         => false !== @file_get_contents( '/etc/passwd' ),
	'read_wordops_db'         => false !== @file_get_contents( '/var/lib/wo/dbase.db' ),
	'write_shared_core'       => wo_mt_can_write( "$wo_mt_shared/current/wp-includes" ),
	'write_shared_plugins'    => wo_mt_can_write( "$wo_mt_shared/wp-content/plugins" ),
	'write_shared_themes'     => wo_mt_can_write( "$wo_mt_shared/wp-content/themes" ),
	'write_shared_mu_plugins' => wo_mt_can_write( "$wo_mt_shared/wp-content/mu-plugins" ),
	'reset_opcache'           => function_exists( 'opcache_reset' ) && @opcache_reset(),
	'write_own_uploads'       => wo_mt_can_write( __DIR__ . '/wp-content/uploads' ),
) );
