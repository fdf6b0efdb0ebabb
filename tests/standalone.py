"""Standalone WordPress sites laid out as `wo site create --wp` lays them out: a full
copy of the core in /var/www/<domain>/htdocs, wp-config.php one level up, the whole
site owned by www-data, its own database and user, WordOps' vhost template, a row in
WordOps' `sites` table. `wo site create --wp` itself needs WP-CLI from the internet,
which these machines cannot reach; this builds the same result with the same parts.

Used by the benchmark (the thing a user would otherwise do) and by tests that need
existing WordOps sites. Run with WordOps' Python (/opt/wo/bin/python), as root.
"""
import json
import os
import secrets
import shutil
import sqlite3
import subprocess
import tarfile
import time

from wo.multitenancy.mariadb import SITE_PRIVILEGES

SITES = '/var/www'
WO_DB = '/var/lib/wo/dbase.db'
INSTALL_PHP = r"""<?php
define( 'WP_INSTALLING', true );
$_SERVER['HTTP_HOST'] = $argv[1]; $_SERVER['REQUEST_URI'] = '/';
define( 'WP_SITEURL', 'http://' . $argv[1] );
function wp_new_blog_notification() {}
require $argv[2] . '/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/upgrade.php';
$r = wp_install( $argv[1], 'admin', 'admin@example.com', true, '', $argv[3] );
update_option( 'permalink_structure', '/%postname%/' );
echo is_wp_error( $r ) ? 'failed' : 'installed';
"""
WP_CONFIG = """<?php
define( 'DB_NAME', '{db}' );
define( 'DB_USER', '{db}' );
define( 'DB_PASSWORD', '{password}' );
define( 'DB_HOST', 'localhost' );
define( 'DB_CHARSET', 'utf8mb4' );
define( 'DB_COLLATE', '' );
$table_prefix = 'wp_';
{salts}
define( 'WP_DEBUG', false );
if ( ! defined( 'ABSPATH' ) ) {{
	define( 'ABSPATH', __DIR__ . '/htdocs/' );
}}
require_once ABSPATH . 'wp-settings.php';
"""


def unpacked_release(tarball):
    """The release tree inside `tarball`, unpacked once beside it."""
    tree = tarball + '.unpacked'
    if not os.path.isdir(tree):
        with tarfile.open(tarball) as tar:
            tar.extractall(tree + '.tmp')
        os.rename(tree + '.tmp', tree)
    return os.path.join(tree, 'wordpress')


def create(domain, release_tree, php_version, cache='wpfc'):
    """Create a standalone WordPress site `domain` from `release_tree`."""
    root = os.path.join(SITES, domain)
    db = domain.replace('.', '_').replace('-', '_')[:48]
    password = secrets.token_hex(12)
    shutil.copytree(release_tree, os.path.join(root, 'htdocs'), symlinks=True)
    os.makedirs(os.path.join(root, 'logs'))
    os.makedirs(os.path.join(root, 'conf', 'nginx'))
    salts = '\n'.join("define( '{0}', '{1}' );".format(n, secrets.token_hex(32)) for n in (
        'AUTH_KEY', 'SECURE_AUTH_KEY', 'LOGGED_IN_KEY', 'NONCE_KEY',
        'AUTH_SALT', 'SECURE_AUTH_SALT', 'LOGGED_IN_SALT', 'NONCE_SALT'))
    with open(os.path.join(root, 'wp-config.php'), 'w') as f:
        f.write(WP_CONFIG.format(db=db, password=password, salts=salts))
    subprocess.run(['chown', '-R', 'www-data:www-data', root], check=True)
    # What a run killed part-way left under these names goes first.
    subprocess.run(['mariadb', '-e', "DROP DATABASE IF EXISTS `{0}`; DROP USER IF EXISTS "
                    "`{0}`@`localhost`; CREATE DATABASE `{0}`; CREATE USER `{0}`@`localhost` "
                    "IDENTIFIED BY '{1}'; GRANT {2} ON `{0}`.* TO `{0}`@`localhost`"
                    .format(db, password, ', '.join(SITE_PRIVILEGES))], check=True)
    _write_vhost(domain, root, php_version, cache)
    installer = os.path.join(root, 'mt-install.php')
    with open(installer, 'w') as f:
        f.write(INSTALL_PHP)
    done = subprocess.run(['runuser', '-u', 'www-data', '--', '/usr/bin/php' + php_version,
                           installer, domain, os.path.join(root, 'htdocs'), password],
                          capture_output=True, text=True)
    os.unlink(installer)
    if 'installed' not in done.stdout:
        raise RuntimeError('installing {0} failed: {1}{2}'.format(domain, done.stdout, done.stderr))
    with sqlite3.connect(WO_DB) as c:
        c.execute('INSERT INTO sites (sitename, site_type, cache_type, site_path, is_enabled, '
                  'is_ssl, storage_fs, storage_db, db_name, db_user, db_password, db_host, '
                  'is_hhvm, php_version, created_on) VALUES (?, "wp", ?, ?, 1, 0, "ext4", '
                  '"mysql", ?, ?, ?, "localhost", 0, ?, CURRENT_TIMESTAMP)',
                  (domain, cache, root, db, db, password, php_version))


def _write_vhost(domain, root, php_version, cache):
    from wo.cli.main import WOTestApp
    app = WOTestApp()
    app.setup()
    php = 'php' + php_version.replace('.', '')
    text = app.render(dict(site_name=domain, www_domain='www.' + domain, static=False,
                           basic=cache == 'basic', wp=True, wpfc=cache == 'wpfc', wpsc=False,
                           wpredis=False, wprocket=False, wpce=False, multisite=False,
                           wpsubdir=False, webroot=root, wo_php=php),
                      'virtualconf.mustache', out=None)
    app.close()
    with open('/etc/nginx/sites-available/' + domain, 'w') as f:
        f.write(text)
    os.symlink('/etc/nginx/sites-available/' + domain, '/etc/nginx/sites-enabled/' + domain)
    for kind in ('access', 'error'):
        os.symlink('/var/log/nginx/{0}.{1}.log'.format(domain, kind),
                   os.path.join(root, 'logs', kind + '.log'))
    subprocess.run(['nginx', '-t', '-q'], check=True, stderr=subprocess.DEVNULL)
    subprocess.run(['nginx', '-s', 'reload'], check=True, stderr=subprocess.DEVNULL)


UPGRADE_PHP = r"""<?php
define( 'WP_INSTALLING', true );
$_SERVER['HTTP_HOST'] = $argv[1]; $_SERVER['REQUEST_URI'] = '/';
require $argv[2] . '/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/upgrade.php';
wp_upgrade();
echo 'upgraded';
"""
CORE_DIRS = ('wp-admin', 'wp-includes')


def update(domain, new_tree, php_version):
    """Update a standalone site the usual way (what `wp core update` and
    `wp core update-db` do): replace the core files, then upgrade the database.
    Returns (seconds replacing files, seconds upgrading the database)."""
    htdocs = os.path.join(SITES, domain, 'htdocs')
    started = time.monotonic()
    for name in CORE_DIRS:
        shutil.rmtree(os.path.join(htdocs, name))
    for name in os.listdir(new_tree):
        source, target = os.path.join(new_tree, name), os.path.join(htdocs, name)
        if os.path.isdir(source) and name != 'wp-content':
            shutil.copytree(source, target)
        elif os.path.isfile(source):
            shutil.copy2(source, target)
    subprocess.run(['chown', '-R', 'www-data:www-data', htdocs], check=True)
    copied = time.monotonic()
    script = os.path.join(SITES, domain, 'mt-upgrade.php')
    with open(script, 'w') as f:
        f.write(UPGRADE_PHP)
    done = subprocess.run(['runuser', '-u', 'www-data', '--', '/usr/bin/php' + php_version,
                           script, domain, htdocs], capture_output=True, text=True)
    os.unlink(script)
    if 'upgraded' not in done.stdout:
        raise RuntimeError('upgrading {0} failed: {1}{2}'.format(domain, done.stdout, done.stderr))
    return copied - started, time.monotonic() - copied


POPULATE_PHP = r"""<?php
define( 'WP_INSTALLING', true ); // no plugin, no cron: only what this script does
$_SERVER['HTTP_HOST'] = $argv[1]; $_SERVER['REQUEST_URI'] = '/';
require $argv[2] . '/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/plugin.php';
$upload = wp_upload_bits( 'mt-upload.txt', null, 'uploaded to ' . $argv[1] );
wp_insert_post( array( 'post_title' => 'A post of ' . $argv[1], 'post_name' => 'a-post',
	'post_content' => 'Its body, with <a href="' . $upload['url'] . '">a file</a>.',
	'post_status' => 'publish' ) );
wp_insert_post( array( 'post_type' => 'page', 'post_title' => 'About ' . $argv[1],
	'post_name' => 'about', 'post_content' => 'A page.', 'post_status' => 'publish' ) );
if ( $argv[3] ) { switch_theme( $argv[3] ); }
foreach ( array_slice( $argv, 4 ) as $plugin ) { activate_plugin( $plugin ); }
echo json_encode( array( 'upload' => parse_url( $upload['url'], PHP_URL_PATH ) ) );
"""


def populate(domain, php_version, theme='', plugins=()):
    """Give a standalone site a post linking an uploaded file, a page, and optionally
    another theme and active plugins (main files, e.g. akismet/akismet.php).
    Returns {'upload': the upload's URL path}."""
    script = os.path.join(SITES, domain, 'mt-populate.php')
    with open(script, 'w') as f:
        f.write(POPULATE_PHP)
    done = subprocess.run(['runuser', '-u', 'www-data', '--', '/usr/bin/php' + php_version,
                           script, domain, os.path.join(SITES, domain, 'htdocs'), theme]
                          + list(plugins), capture_output=True, text=True)
    os.unlink(script)
    if done.returncode != 0 or '"upload"' not in done.stdout:
        raise RuntimeError('populating {0} failed: {1}{2}'.format(domain, done.stdout, done.stderr))
    return json.loads(done.stdout.strip().splitlines()[-1])


FOOTER_PLUGIN = """<?php
/** Plugin Name: mt footer (a plugin only this site has) */
add_action( 'wp_footer', function () { echo '<!-- mt-footer runs -->'; } );
"""


def add_footer_plugin(domain):
    """Give a standalone site a plugin the shared set lacks: mt-footer/mt-footer.php."""
    folder = os.path.join(SITES, domain, 'htdocs', 'wp-content', 'plugins', 'mt-footer')
    os.makedirs(folder)
    with open(os.path.join(folder, 'mt-footer.php'), 'w') as f:
        f.write(FOOTER_PLUGIN)
    subprocess.run(['chown', '-R', 'www-data:www-data', folder], check=True)
