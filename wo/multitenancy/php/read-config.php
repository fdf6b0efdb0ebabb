<?php
/**
 * Prints what a wp-config.php defines, without starting WordPress: its constants as
 * PHP literals and $table_prefix, as one JSON object.
 *
 * Usage: php read-config.php /path/to/wp-config.php example.com   (as the web user)
 * The configuration ends by requiring ABSPATH . 'wp-settings.php': ABSPATH is set to a
 * scratch directory whose wp-settings.php is empty, so that is where it stops.
 */
$wo_mt_stop = sys_get_temp_dir() . '/wo-mt-config-' . bin2hex( random_bytes( 8 ) );
mkdir( $wo_mt_stop, 0700 );
file_put_contents( $wo_mt_stop . '/wp-settings.php', '<?php ' );
register_shutdown_function( function () use ( $wo_mt_stop ) {
	@unlink( $wo_mt_stop . '/wp-settings.php' );
	@rmdir( $wo_mt_stop );
} );
define( 'ABSPATH', $wo_mt_stop . '/' );
$_SERVER['HTTP_HOST']   = $argv[2];
$_SERVER['SERVER_NAME'] = $argv[2];
$wo_mt_before = array_keys( get_defined_constants( true )['user'] );

require $argv[1];

$wo_mt_constants = array();
foreach ( get_defined_constants( true )['user'] as $wo_mt_name => $wo_mt_value ) {
	if ( ! in_array( $wo_mt_name, $wo_mt_before, true ) ) {
		$wo_mt_constants[ $wo_mt_name ] = var_export( $wo_mt_value, true );
	}
}
echo "\n" . json_encode( array(
	'constants'    => (object) $wo_mt_constants,
	'table_prefix' => var_export( isset( $table_prefix ) ? $table_prefix : 'wp_', true ),
) ) . "\n";
