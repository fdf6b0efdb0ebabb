<?php
/**
 * Runs one WordPress task for wo multitenancy, without WP-CLI.
 *
 * Usage: php wp-runner.php < job.json   (run as the site's web user)
 * The job is a JSON object: {"action": ..., "htdocs": ..., "domain": ..., ...}; the
 * core is htdocs/wp, or "core" for a standalone site (its own copy in htdocs/).
 * Prints one JSON object on the last line of stdout; exits non-zero on failure.
 */
$wo_mt_job = json_decode( stream_get_contents( STDIN ), true );
if ( ! is_array( $wo_mt_job ) || empty( $wo_mt_job['action'] ) || empty( $wo_mt_job['htdocs'] ) ) {
	fwrite( STDERR, "wp-runner: expected a JSON job on stdin\n" );
	exit( 2 );
}

function wo_mt_done( $result ) {
	echo "\n" . json_encode( $result ) . "\n";
	exit( 0 );
}

function wo_mt_fail( $message ) {
	fwrite( STDERR, 'wp-runner: ' . $message . "\n" );
	exit( 1 );
}

// The request WordPress believes it is serving, as nginx would describe it.
$_SERVER['HTTP_HOST']       = $wo_mt_job['domain'];
$_SERVER['SERVER_NAME']     = $wo_mt_job['domain'];
$_SERVER['DOCUMENT_ROOT']   = $wo_mt_job['htdocs'];
$_SERVER['REQUEST_URI']     = '/';
$_SERVER['REQUEST_METHOD']  = 'GET';
$_SERVER['SERVER_PROTOCOL'] = 'HTTP/1.1';
$_SERVER['SERVER_PORT']     = 80;
$_SERVER['SCRIPT_NAME']     = '/index.php';
$_SERVER['PHP_SELF']        = '/index.php';

if ( in_array( $wo_mt_job['action'], array( 'upgrade', 'inspect', 'keep_own_theme', 'verify' ), true ) ) {
	define( 'WP_INSTALLING', true ); // as wp-admin/upgrade.php does: no plugin runs, no cron
}
if ( 'cron' === $wo_mt_job['action'] ) {
	define( 'DOING_CRON', true );
}
if ( 'install' === $wo_mt_job['action'] ) {
	define( 'WP_INSTALLING', true );
	define( 'WP_SITEURL', $wo_mt_job['url'] );
	// No mail from a server that may not send any: the admin gets the password from wo.
	function wp_new_blog_notification() {}
}

require ( isset( $wo_mt_job['core'] ) ? $wo_mt_job['core'] : $wo_mt_job['htdocs'] . '/wp' ) . '/wp-load.php';

switch ( $wo_mt_job['action'] ) {
	case 'install':
		require_once ABSPATH . 'wp-admin/includes/upgrade.php';
		if ( is_blog_installed() ) {
			wo_mt_fail( 'WordPress is already installed in this database' );
		}
		$result = wp_install( $wo_mt_job['title'], $wo_mt_job['admin_user'], $wo_mt_job['admin_email'],
			true, '', wp_slash( $wo_mt_job['admin_password'] ), $wo_mt_job['locale'] );
		if ( is_wp_error( $result ) ) {
			wo_mt_fail( $result->get_error_message() );
		}
		update_option( 'permalink_structure', '/%postname%/' );
		wo_mt_done( array( 'user_id' => $result['user_id'] ) );
		break;

	case 'baseline':
		// The enforcer is an MU-plugin, loaded with WordPress; it runs as the first administrator.
		if ( ! function_exists( 'wo_mt_apply_baseline' ) ) {
			wo_mt_fail( 'the baseline enforcer MU-plugin is not loaded' );
		}
		$wo_mt_admins = get_users( array( 'role' => 'administrator', 'orderby' => 'ID', 'number' => 1, 'fields' => 'ID' ) );
		if ( ! $wo_mt_admins ) {
			wo_mt_fail( 'the site has no administrator to activate plugins as' );
		}
		wp_set_current_user( (int) $wo_mt_admins[0] );
		wo_mt_done( wo_mt_apply_baseline() );
		break;

	case 'upgrade':
		// WordPress' own routine; under an older core it only sets db_version back, so
		// the older core runs without asking for a "Database Update".
		require_once ABSPATH . 'wp-admin/includes/upgrade.php';
		global $wp_db_version;
		$wo_mt_before = (int) get_option( 'db_version' );
		wp_upgrade();
		wo_mt_done( array( 'from' => $wo_mt_before, 'to' => (int) get_option( 'db_version' ),
			'core' => (int) $wp_db_version ) );
		break;

	case 'inspect':
		// What a conversion needs to know, read without running any plugin.
		require_once ABSPATH . 'wp-admin/includes/plugin.php';
		global $wp_version;
		wo_mt_done( array(
			'wp_version' => $wp_version,
			'db_version' => (int) get_option( 'db_version' ),
			'multisite'  => is_multisite(),
			'plugins'    => array_values( (array) get_option( 'active_plugins', array() ) ),
			'themes'     => array_values( array_unique( array( get_option( 'stylesheet' ), get_option( 'template' ) ) ) ),
			'dropins'    => array_keys( get_dropins() ),
			'upload_path' => (string) get_option( 'upload_path' ),
		) );
		break;

	case 'item_upgraded':
		// What WordPress' own upgrader does once it replaced a plugin or theme: its
		// completion hook. The site's plugins are loaded, so one that upgrades its own
		// data on load (plugins_loaded, init) has done so by now, as on a first request.
		require_once ABSPATH . 'wp-admin/includes/class-wp-upgrader.php';
		$wo_mt_admins = get_users( array( 'role' => 'administrator', 'orderby' => 'ID', 'number' => 1, 'fields' => 'ID' ) );
		if ( $wo_mt_admins ) {
			wp_set_current_user( (int) $wo_mt_admins[0] );
		}
		$wo_mt_plugin = 'plugins' === $wo_mt_job['kind'];
		$wo_mt_items  = array( $wo_mt_job['slug'] );
		if ( $wo_mt_plugin ) {
			$wo_mt_items = array_values( array_filter( (array) get_option( 'active_plugins', array() ), function ( $main ) use ( $wo_mt_job ) {
				return is_string( $main ) && 0 === strpos( $main, $wo_mt_job['slug'] . '/' );
			} ) );
		}
		$wo_mt_upgrader = $wo_mt_plugin ? new Plugin_Upgrader( new Automatic_Upgrader_Skin() ) : new Theme_Upgrader( new Automatic_Upgrader_Skin() );
		do_action( 'upgrader_process_complete', $wo_mt_upgrader, array(
			'action' => 'update',
			'type'   => $wo_mt_plugin ? 'plugin' : 'theme',
			'bulk'   => true,
			$wo_mt_job['kind'] => $wo_mt_items,
		) );
		wo_mt_done( array( 'items' => $wo_mt_items ) );
		break;

	case 'login_user':
		// The user a login link is for: the one named, or the first administrator.
		if ( '' !== $wo_mt_job['user'] ) {
			$wo_mt_user = get_user_by( 'login', $wo_mt_job['user'] );
		} else {
			$wo_mt_admins = get_users( array( 'role' => 'administrator', 'orderby' => 'ID', 'number' => 1 ) );
			$wo_mt_user   = $wo_mt_admins ? $wo_mt_admins[0] : false;
		}
		wo_mt_done( array( 'login' => $wo_mt_user ? $wo_mt_user->user_login : null ) );
		break;

	case 'keep_own_theme':
		// A converted site keeps its theme: the baseline enforcer leaves it alone.
		update_option( 'wo_mt_own_theme', 1 );
		wo_mt_done( array( 'theme' => get_option( 'stylesheet' ) ) );
		break;

	case 'set_url':
		update_option( 'home', $wo_mt_job['url'] );
		update_option( 'siteurl', $wo_mt_job['url'] );
		wo_mt_done( array( 'home' => get_option( 'home' ) ) );
		break;

	case 'verify':
		// What verify checks through the site's own connection: its DB_HOST, user, password.
		global $wpdb, $wp_db_version;
		$wpdb->suppress_errors( true );
		$wo_mt_scratch = $wpdb->prefix . 'wo_mt_verify_' . bin2hex( random_bytes( 4 ) );
		$wo_mt_written = false !== $wpdb->query( "CREATE TABLE `$wo_mt_scratch` (v INT)" )
			&& false !== $wpdb->query( "INSERT INTO `$wo_mt_scratch` VALUES (7)" )
			&& '7' === $wpdb->get_var( "SELECT v FROM `$wo_mt_scratch`" );
		$wo_mt_error   = $wpdb->last_error;
		$wo_mt_dropped = false !== $wpdb->query( "DROP TABLE IF EXISTS `$wo_mt_scratch`" );
		$wo_mt_tables  = $wpdb->get_col( $wpdb->prepare( 'SHOW TABLES LIKE %s', $wpdb->esc_like( $wpdb->prefix ) . '%' ) );
		wo_mt_done( array(
			'current_user'    => (string) $wpdb->get_var( 'SELECT CURRENT_USER()' ),
			'round_trip'      => $wo_mt_written && $wo_mt_dropped,
			'round_trip_error' => $wo_mt_error ? $wo_mt_error : $wpdb->last_error,
			'missing_tables'  => array_values( array_diff( $wpdb->tables( 'all' ), $wo_mt_tables ) ),
			'db_version'      => (int) get_option( 'db_version' ),
			'core_db_version' => (int) $wp_db_version,
			'administrators'  => count( get_users( array( 'role' => 'administrator', 'fields' => 'ID' ) ) ),
			// Options that may hold a path of the site's files (one from before its conversion,
			// or a release's), as WordPress stored them.
			'paths'           => array(
				'template_root'   => get_option( 'template_root' ),
				'stylesheet_root' => get_option( 'stylesheet_root' ),
				'upload_path'     => get_option( 'upload_path' ),
				'theme_roots'     => get_site_transient( 'theme_roots' ),
			),
		) );
		break;

	case 'cron':
		// The site's due WP-Cron events, run as wp-cron.php runs them (its plugins loaded).
		$wo_mt_due = function () {
			$count = 0;
			foreach ( wp_get_ready_cron_jobs() as $hooks ) {
				foreach ( $hooks as $events ) {
					$count += count( $events );
				}
			}
			return $count;
		};
		$wo_mt_before = $wo_mt_due();
		foreach ( wp_get_ready_cron_jobs() as $wo_mt_time => $wo_mt_hooks ) {
			foreach ( $wo_mt_hooks as $wo_mt_hook => $wo_mt_events ) {
				foreach ( $wo_mt_events as $wo_mt_event ) {
					if ( $wo_mt_event['schedule'] ) {
						wp_reschedule_event( $wo_mt_time, $wo_mt_event['schedule'], $wo_mt_hook, $wo_mt_event['args'] );
					}
					wp_unschedule_event( $wo_mt_time, $wo_mt_hook, $wo_mt_event['args'] );
					do_action_ref_array( $wo_mt_hook, $wo_mt_event['args'] );
				}
			}
		}
		wo_mt_done( array( 'due_before' => $wo_mt_before, 'due_after' => $wo_mt_due() ) );
		break;

	default:
		wo_mt_fail( 'unknown action ' . $wo_mt_job['action'] );
}
