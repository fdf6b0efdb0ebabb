<?php
/**
 * Run by wo multitenancy inside PHP-FPM (over FastCGI, never through nginx): drops every
 * cached script of one release, given as the WO_MT_RELEASE parameter, from OPcache.
 */
$wo_mt_release = isset( $_SERVER['WO_MT_RELEASE'] ) ? $_SERVER['WO_MT_RELEASE'] : '';
$wo_mt_count   = 0;
$wo_mt_status  = function_exists( 'opcache_get_status' ) ? opcache_get_status( true ) : false;
if ( '' !== $wo_mt_release && is_array( $wo_mt_status ) && ! empty( $wo_mt_status['scripts'] ) ) {
	foreach ( array_keys( $wo_mt_status['scripts'] ) as $wo_mt_script ) {
		if ( 0 === strpos( $wo_mt_script, $wo_mt_release ) && opcache_invalidate( $wo_mt_script, true ) ) {
			$wo_mt_count++;
		}
	}
}
echo json_encode( array( 'invalidated' => $wo_mt_count ) );
