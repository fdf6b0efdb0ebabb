<?php
/**
 * Plugin Name: wo multitenancy: updates managed by the server
 * Description: The core, plugins and themes of this site are shared and read-only; the server updates them (wo multitenancy update, plugin update, theme update), each new version proven on one site first and kept for a rollback.
 *
 * WordPress' own update buttons cannot work on files no site may write, and its notices
 * would offer versions the server installs itself: the capabilities behind them are
 * withheld. Site Health would count the updates WordPress does not run as broken: its
 * tests of them say instead who updates this site, and how. Its WordPress version test
 * keeps its verdict when it knows of a newer release (the server is behind: the site's
 * administrator should know), and says who updates when it knows of none.
 */
add_filter( 'map_meta_cap', function ( $caps, $cap ) {
	$managed = array( 'update_core', 'update_plugins', 'update_themes', 'install_plugins', 'install_themes',
		'upload_plugins', 'upload_themes', 'delete_plugins', 'delete_themes', 'install_languages',
		'update_languages' );
	return in_array( $cap, $managed, true ) ? array( 'do_not_allow' ) : $caps;
}, 10, 2 );

add_filter( 'site_status_tests', function ( $tests ) {
	$good = function ( $test, $label, $why ) {
		return function () use ( $test, $label, $why ) {
			return array(
				'label'       => $label,
				'status'      => 'good',
				'badge'       => array( 'label' => __( 'Security' ), 'color' => 'blue' ),
				'description' => '<p>' . $why . '</p>',
				'actions'     => '',
				'test'        => $test,
			);
		};
	};
	$version = esc_html( get_bloginfo( 'version' ) );
	$tests['direct']['wordpress_version'] = array(
		'label' => 'WordPress version',
		'test'  => function () use ( $version ) {
			$who     = sprintf( 'This site runs WordPress %s, shared with the other sites of this server. Its administrator updates it for every site at once (wo multitenancy update); the site itself cannot.', $version );
			$updates = get_core_updates();
			foreach ( is_array( $updates ) ? $updates : array() as $update ) {
				if ( isset( $update->response ) && 'upgrade' === $update->response ) { // the server is behind
					$found                 = WP_Site_Health::get_instance()->get_test_wordpress_version();
					$found['description'] .= '<p>' . $who . '</p>';
					return $found;
				}
			}
			return array(
				'label'       => sprintf( 'WordPress %s, the release the server runs', $version ),
				'status'      => 'good',
				'badge'       => array( 'label' => __( 'Performance' ), 'color' => 'blue' ),
				'description' => '<p>' . $who . '</p>',
				'actions'     => '',
				'test'        => 'wordpress_version',
			);
		},
	);
	unset( $tests['async']['background_updates'] );
	$tests['direct']['background_updates'] = array(
		'label' => 'Updates are managed by the server',
		'test'  => $good( 'background_updates', 'Updates are managed by the server',
			sprintf( 'WordPress %s and the shared plugins and themes are updated by the server\'s administrator (wo multitenancy update): each new version is proven on one site before every site moves to it at once, and the one before is kept for a rollback. WordPress\' own background updates are off by design: no site may write the shared files.', $version ) ),
	);
	$tests['direct']['update_temp_backup_writable'] = array(
		'label' => 'Plugin and theme versions are kept by the server',
		'test'  => $good( 'update_temp_backup_writable', 'Plugin and theme versions are kept by the server',
			'The server keeps the previous versions of the shared plugins and themes and can switch every site back in one step (wo multitenancy plugin rollback): WordPress\' temporary backup directory is not used.' ),
	);
	return $tests;
} );
