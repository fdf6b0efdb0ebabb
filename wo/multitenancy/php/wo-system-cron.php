<?php
/**
 * Plugin Name: wo multitenancy system cron
 * Description: The server runs this site's WP-Cron events every minute (wo multitenancy cron), so visitors do not. Installed by wo multitenancy; changes here are overwritten.
 *
 * Every run of the system cron touches <shared root>/config/cron-heartbeat. While it is
 * less than ten minutes old, DISABLE_WP_CRON keeps page views from spawning WP-Cron;
 * once the system cron stops, the site runs its events itself again.
 */
if ( ! defined( 'ABSPATH' ) ) {
	exit;
}
$wo_mt_heartbeat = @filemtime( dirname( __DIR__, 2 ) . '/config/cron-heartbeat' );
if ( ! defined( 'DISABLE_WP_CRON' ) && $wo_mt_heartbeat && time() - $wo_mt_heartbeat < 600 ) {
	define( 'DISABLE_WP_CRON', true );
}
unset( $wo_mt_heartbeat );
