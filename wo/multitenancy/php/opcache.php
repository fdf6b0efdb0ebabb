<?php
/**
 * Run by wo multitenancy inside PHP-FPM (over FastCGI on its own pool's socket, never
 * through nginx). Every pool of one PHP-FPM shares one OPcache, so from here it can
 *   WO_MT_ACTION=forget: drop every cached script under WO_MT_PREFIX (a swapped
 *     document root, a release a site may still be running by an old path);
 *   WO_MT_ACTION=warm: compile into the cache, under WO_MT_TO, each script that is
 *     cached under WO_MT_FROM (the release every site runs now): the scripts the sites
 *     use, compiled once here rather than by every busy worker at once after a switch;
 *   WO_MT_ACTION=status: how many scripts are cached, and the bytes they use.
 * Prints {"scripts": how many it dropped, compiled or holds} (status: and "used").
 */
$wo_mt_action = isset( $_SERVER['WO_MT_ACTION'] ) ? $_SERVER['WO_MT_ACTION'] : '';
$wo_mt_status = function_exists( 'opcache_get_status' ) ? opcache_get_status( true ) : false;
$wo_mt_cached = is_array( $wo_mt_status ) && ! empty( $wo_mt_status['scripts'] ) ? array_keys( $wo_mt_status['scripts'] ) : array();
$wo_mt_count  = 0;

function wo_mt_under( $path, $prefix ) {
	return '' !== $prefix && 0 === strpos( $path, $prefix );
}

if ( 'forget' === $wo_mt_action ) {
	foreach ( $wo_mt_cached as $wo_mt_script ) {
		if ( wo_mt_under( $wo_mt_script, $_SERVER['WO_MT_PREFIX'] ) && opcache_invalidate( $wo_mt_script, true ) ) {
			$wo_mt_count++;
		}
	}
} elseif ( 'warm' === $wo_mt_action ) {
	$wo_mt_from = $_SERVER['WO_MT_FROM'];
	foreach ( $wo_mt_cached as $wo_mt_script ) {
		if ( ! wo_mt_under( $wo_mt_script, $wo_mt_from ) ) {
			continue;
		}
		$wo_mt_target = $_SERVER['WO_MT_TO'] . substr( $wo_mt_script, strlen( $wo_mt_from ) );
		if ( is_file( $wo_mt_target ) && ! opcache_is_script_cached( $wo_mt_target ) && @opcache_compile_file( $wo_mt_target ) ) {
			$wo_mt_count++;
		}
	}
} elseif ( 'status' === $wo_mt_action && is_array( $wo_mt_status ) ) {
	echo json_encode( array( 'scripts' => count( $wo_mt_cached ), 'used' => $wo_mt_status['memory_usage']['used_memory'] ) );
	exit;
} else {
	http_response_code( 400 );
}
echo json_encode( array( 'scripts' => $wo_mt_count ) );
