<?php
/**
 * Installed by wo multitenancy into every shared core release.
 *
 * PHP resolves symlinks in __DIR__, so wp-load.php looks for wp-config.php beside
 * the release, not beside the site. This file hands over to the configuration of
 * the site the request is for: one level above the document root nginx gave PHP
 * (for CLI tasks, wo multitenancy sets DOCUMENT_ROOT itself).
 */
$wo_mt_root = isset( $_SERVER['DOCUMENT_ROOT'] ) ? rtrim( $_SERVER['DOCUMENT_ROOT'], '/' ) : '';
if ( '' === $wo_mt_root || ! is_file( dirname( $wo_mt_root ) . '/wp-config.php' ) ) {
	header( 'HTTP/1.1 500 Internal Server Error' );
	exit( 'wo multitenancy: no site configuration for this document root.' );
}
require dirname( $wo_mt_root ) . '/wp-config.php';
