<?php
/**
 * wo multitenancy: every PHP entry point of this site (index.php, wp-login.php,
 * wp-admin/*.php ...) is this one file, hard-linked under each name.
 *
 * It finds the shared core with readlink(), which PHP does not cache, and runs the core's
 * file of the same name. Resolving the `wp` link through PHP's realpath cache instead
 * would keep a PHP-FPM worker on a release for up to realpath_cache_ttl after a switch.
 */
$wo_mt_root = __DIR__;
while ( ! is_link( $wo_mt_root . '/wp' ) && '/' !== $wo_mt_root ) {
	$wo_mt_root = dirname( $wo_mt_root );
}
$wo_mt_core = $wo_mt_root . '/wp';
for ( $wo_mt_hops = 0; is_link( $wo_mt_core ) && $wo_mt_hops < 8; $wo_mt_hops++ ) {
	$wo_mt_target = readlink( $wo_mt_core );
	$wo_mt_core   = '/' === $wo_mt_target[0] ? $wo_mt_target : dirname( $wo_mt_core ) . '/' . $wo_mt_target;
}
$wo_mt_file = $wo_mt_core . substr( __FILE__, strlen( $wo_mt_root ) );
unset( $wo_mt_hops, $wo_mt_target, $wo_mt_core, $wo_mt_root );
if ( ! is_file( $wo_mt_file ) ) { // the stub's own name, or an entry the release dropped
	http_response_code( 404 );
	exit;
}
require $wo_mt_file;
