<?php
/* Front controller of a wo multitenancy site: the core is the shared release in wp/. */
define( 'WP_USE_THEMES', true );
require __DIR__ . '/wp/wp-blog-header.php';
