<?php
/**
 * What a site's PHP can reach. Run by `wo multitenancy verify` in a sovereign site's
 * own pool (FastCGI on its socket, never through nginx), or required by a file an
 * end-to-end test puts in a document root. WO_MT_TARGETS (a FastCGI parameter, or set
 * by the requiring file) is JSON {name: ["read" | "list" | "write", path]}; prints JSON
 * {name: whether it got there}, with reset_opcache (opcache_reset() worked) and
 * run_exec (exec() could be called).
 */
header( 'Content-Type: application/json' );
$wo_mt_targets = json_decode( isset( $_SERVER['WO_MT_TARGETS'] ) ? $_SERVER['WO_MT_TARGETS'] : '{}', true );
$wo_mt_reached = array();

function wo_mt_reaches( $kind, $path ) {
	if ( 'read' === $kind ) {
		return false !== @file_get_contents( $path, false, null, 0, 1 );
	}
	if ( 'list' === $kind ) {
		return false !== @scandir( $path );
	}
	$file    = $path . '/.wo-mt-probe-' . getmypid();
	$written = false !== @file_put_contents( $file, 'probe' );
	if ( $written ) {
		@unlink( $file );
	}
	return $written;
}

foreach ( is_array( $wo_mt_targets ) ? $wo_mt_targets : array() as $wo_mt_name => $wo_mt_target ) {
	$wo_mt_reached[ $wo_mt_name ] = wo_mt_reaches( $wo_mt_target[0], $wo_mt_target[1] );
}
$wo_mt_reached['reset_opcache'] = function_exists( 'opcache_reset' ) && @opcache_reset();
try {
	exec( 'true' );
	$wo_mt_reached['run_exec'] = true;
} catch ( Error $e ) { // disabled: "Call to undefined function exec()"
	$wo_mt_reached['run_exec'] = false;
}
echo json_encode( $wo_mt_reached );
