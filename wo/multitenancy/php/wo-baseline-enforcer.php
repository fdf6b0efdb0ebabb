<?php
/**
 * Plugin Name: wo multitenancy baseline
 * Description: Keeps this site on the shared baseline (config/baseline.json): the theme and plugins every site of this server must have. Installed by wo multitenancy; changes here are overwritten.
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/** The baseline, read from <shared_root>/config/baseline.json (this file lives in <shared_root>/wp-content/mu-plugins). */
function wo_mt_baseline() {
	static $baseline = null;
	if ( null === $baseline ) {
		$file     = dirname( __DIR__, 2 ) . '/config/baseline.json';
		$read     = is_readable( $file ) ? json_decode( file_get_contents( $file ), true ) : null;
		$baseline = wp_parse_args( is_array( $read ) ? $read : array(),
			array( 'version' => 0, 'theme' => '', 'plugins' => array(), 'auto_activate' => false ) );
	}
	return $baseline;
}

/** The main file of an installed plugin, relative to WP_PLUGIN_DIR: 'slug/slug.php', or 'slug.php' for a single file. */
function wo_mt_plugin_file( $slug ) {
	if ( is_file( WP_PLUGIN_DIR . '/' . $slug . '.php' ) ) {
		return $slug . '.php';
	}
	if ( ! function_exists( 'get_plugins' ) ) {
		require_once ABSPATH . 'wp-admin/includes/plugin.php';
	}
	$found = array_keys( get_plugins( '/' . $slug ) );
	return $found ? $slug . '/' . $found[0] : null;
}

/**
 * Bring this site to the baseline: its theme (unless it keeps its own), and its plugins
 * when auto_activate is on.
 * Plugins are activated as an administrator would (activation hooks run), so this
 * runs for a user who may activate plugins. Returns what holds afterwards, with what
 * could not be applied under 'missing'.
 */
function wo_mt_apply_baseline() {
	$baseline = wo_mt_baseline();
	$missing  = array();
	// A site converted from a standalone one keeps its own theme (option set by convert).
	if ( ! empty( $baseline['theme'] ) && ! get_option( 'wo_mt_own_theme' )
		&& get_stylesheet() !== $baseline['theme'] ) {
		$theme = wp_get_theme( $baseline['theme'] );
		if ( $theme->exists() ) {
			switch_theme( $baseline['theme'] );
		} else {
			$missing[] = 'theme ' . $baseline['theme'];
		}
	}
	if ( ! empty( $baseline['auto_activate'] ) ) {
		require_once ABSPATH . 'wp-admin/includes/plugin.php';
		foreach ( (array) $baseline['plugins'] as $slug ) {
			$file = wo_mt_plugin_file( $slug );
			if ( ! $file ) {
				$missing[] = 'plugin ' . $slug;
			} elseif ( ! is_plugin_active( $file ) && is_wp_error( activate_plugin( $file ) ) ) {
				$missing[] = 'plugin ' . $slug;
			}
		}
	}
	if ( ! $missing ) {
		update_option( 'wo_mt_baseline_version', (int) $baseline['version'] );
	}
	return array(
		'version' => (int) get_option( 'wo_mt_baseline_version' ),
		'theme'   => get_stylesheet(),
		'plugins' => array_values( (array) get_option( 'active_plugins' ) ),
		'missing' => $missing,
	);
}

// A site that drifted (a baseline plugin deactivated by hand, the baseline changed while
// the site was unreachable) is brought back the next time an administrator opens it.
add_action( 'admin_init', function () {
	if ( current_user_can( 'activate_plugins' ) && ! wp_installing()
		&& (int) get_option( 'wo_mt_baseline_version' ) !== (int) wo_mt_baseline()['version'] ) {
		wo_mt_apply_baseline();
	}
} );
