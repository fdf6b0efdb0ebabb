<?php
/**
 * Run by wo multitenancy inside PHP-FPM (over FastCGI, never through nginx): drops every
 * cached script under one directory (a release, a swapped document root), given as the
 * WO_MT_PREFIX parameter, from OPcache.
 */
$wo_mt_prefix = isset( $_SERVER['WO_MT_PREFIX'] ) ? $_SERVER['WO_MT_PREFIX'] : '';
$wo_mt_count   = 0;
$wo_mt_status  = function_exists( 'opcache_get_status' ) ? opcache_get_status( true ) : false;
if ( '' !== $wo_mt_prefix && is_array( $wo_mt_status ) && ! empty( $wo_mt_status['scripts'] ) ) {
	foreach ( array_keys( $wo_mt_status['scripts'] ) as $wo_mt_script ) {
		if ( 0 === strpos( $wo_mt_script, $wo_mt_prefix ) && opcache_invalidate( $wo_mt_script, true ) ) {
			$wo_mt_count++;
		}
	}
}
echo json_encode( array( 'invalidated' => $wo_mt_count ) );
