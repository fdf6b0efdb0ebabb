"""plugin|theme update and rollback: a real theme's versions (Twenty Twenty-Four 1.0 of
WordPress 6.4.5, 1.1 of 6.5.5) switched under load and back, a plugin's new version
upgraded on every site that uses it, and a broken one refused on the canary."""
import json
import os
import shutil
import threading
import time

import pytest
import wordpress_releases
from load import Saturated
from stack import SHARED, WO_LOG, get, mysql, purge_site, wo

CANARY, OTHER = 'shv-a.test', 'shv-b.test'  # the canary is the first by name
THEME = 'twentytwentyfour'
THEME_11_MARK = 'outline-style:solid'  # the "css" Twenty Twenty-Four 1.1 added to theme.json
PLUGIN = 'mt-marker'
PLUGIN_CODE = """<?php
/**
 * Plugin Name: MT Marker
 * Version: {version}
 */
add_action( 'wp_footer', function () {{ echo '<!-- mt-marker {version} -->'; }} );
add_action( 'upgrader_process_complete', function ( $upgrader, $done ) {{
	if ( 'plugin' === $done['type'] && in_array( 'mt-marker/mt-marker.php', $done['plugins'], true ) ) {{
		update_option( 'mt_marker_upgraded_to', '{version}' );
	}}
}}, 10, 2 );
{extra}
"""


def plugin_version(root, version, extra=''):
    folder = os.path.join(root, version, PLUGIN)
    os.makedirs(folder)
    with open(os.path.join(folder, PLUGIN + '.php'), 'w') as f:
        f.write(PLUGIN_CODE.format(version=version, extra=extra))
    return folder


@pytest.fixture(scope='module')
def sources(shared_core, older_tarball, release_tarball, tmp_path_factory):
    root = tmp_path_factory.mktemp('versions')
    return {'theme-1.0': wordpress_releases.bundled_theme(older_tarball, THEME, str(root / 'old')),
            'theme-1.1': wordpress_releases.bundled_theme(release_tarball, THEME, str(root / 'new')),
            'plugin-1.0': plugin_version(str(root), '1.0'),
            'plugin-1.1': plugin_version(str(root), '1.1'),
            'plugin-broken': plugin_version(str(root), '1.2', 'mt_marker_no_such_function();'),
            # breaks pages only: what the canary's HTTP probe must find
            'plugin-broken-pages': plugin_version(str(root), '1.3', "add_action( 'wp_footer', "
                                                  "'mt_marker_no_such_function' );")}


@pytest.fixture(scope='module')
def two_sites(sources):
    """A sovereign canary and a shared site, both on Twenty Twenty-Four 1.0 with the
    plugin at 1.0; the theme is put back on the version it had, the plugin removed."""
    before = json.loads(wo('theme', 'list', '--json').stdout)
    theme_was = [i['version'] for i in before['items'] if i['slug'] == THEME][0]
    for domain in (CANARY, OTHER):
        purge_site(domain)
    wo('create', CANARY, '--isolation', 'sovereign')
    wo('create', OTHER, '--isolation', 'shared')
    wo('theme', 'update', THEME, '--source', sources['theme-1.0'])
    wo('baseline', '--add-plugin', sources['plugin-1.0'])
    yield CANARY, OTHER
    for domain in (CANARY, OTHER):
        purge_site(domain)
    wo('baseline', '--remove-plugin', PLUGIN)
    for path in ('wp-content/plugins/' + PLUGIN, 'wp-content/.versions/plugins/' + PLUGIN):
        shutil.rmtree(os.path.join(SHARED, path), ignore_errors=True)
        if os.path.islink(os.path.join(SHARED, path)):
            os.unlink(os.path.join(SHARED, path))
    wo('theme', 'rollback', THEME, '--to', theme_was)


def page(domain):
    answer = get(domain, '/?v={0}'.format(time.time()))
    assert answer.status_code == 200, (domain, answer.status_code)
    return answer.text


def theme_is_11(domain):
    return THEME_11_MARK in page(domain)


def plugin_version_served(domain):
    return page(domain).split('<!-- mt-marker ')[1].split(' ')[0]


def option(domain, name):
    db = json.loads(wo('info', domain, '--json').stdout)['db_name']
    return mysql("SELECT option_value FROM `{0}`.wp_options WHERE option_name = '{1}'".format(db, name))


def test_a_theme_version_is_switched_under_load_and_rolled_back(two_sites, sources):
    assert not any(theme_is_11(d) for d in two_sites)
    with Saturated(two_sites) as load:
        time.sleep(3)
        done = json.loads(wo('theme', 'update', THEME, '--source', sources['theme-1.1'],
                             '--json').stdout)
        assert all(theme_is_11(d) for d in two_sites)
        wo('theme', 'rollback', THEME)
        assert not any(theme_is_11(d) for d in two_sites)
    assert load.failures() == {}
    assert all(r['requests'] > 100 for r in load.results.values()), load.results
    item = done['items'][0]
    assert (item['version'], item['previous'], item['canary']) == ('1.1', '1.0', CANARY)
    assert sorted(item['sites_using']) == sorted(two_sites)
    listed = json.loads(wo('theme', 'list', '--json').stdout)['items']
    theme = [i for i in listed if i['slug'] == THEME][0]
    assert theme['version'] == '1.0' and {'1.0', '1.1'} <= set(theme['kept'])
    assert theme['sites'] == sorted(two_sites)


def test_a_plugin_version_is_switched_under_load_and_rolled_back(two_sites, sources):
    assert {plugin_version_served(d) for d in two_sites} == {'1.0'}
    with Saturated(two_sites) as load:
        time.sleep(3)
        wo('plugin', 'update', PLUGIN, '--source', sources['plugin-1.1'])
        assert {plugin_version_served(d) for d in two_sites} == {'1.1'}
        wo('plugin', 'rollback', PLUGIN)
        assert {plugin_version_served(d) for d in two_sites} == {'1.0'}
        wo('plugin', 'update', PLUGIN, '--source', sources['plugin-1.1'])  # kept: one switch
        assert {plugin_version_served(d) for d in two_sites} == {'1.1'}
    assert load.failures() == {}
    assert all(r['requests'] > 100 for r in load.results.values()), load.results
    assert all(option(d, 'mt_marker_upgraded_to') == ['1.1'] for d in two_sites)
    link = os.path.join(SHARED, 'wp-content', 'plugins', PLUGIN)
    assert os.readlink(link) == '../.versions/plugins/{0}/1.1'.format(PLUGIN)
    version = os.path.realpath(link)
    assert os.stat(version).st_uid == 0 and os.stat(version).st_mode & 0o022 == 0
    again = wo('plugin', 'update', PLUGIN, '--source', sources['plugin-1.1'])
    assert (again.returncode, again.stdout, again.stderr) == (0, '', '')  # quiet from cron
    again = json.loads(wo('plugin', 'update', PLUGIN, '--source', sources['plugin-1.1'],
                          '--json').stdout)
    assert again['changed'] is False and again['items'][0]['version'] == '1.1'


def test_a_broken_plugin_version_is_refused_on_the_canary_and_no_other_site_sees_it(
        two_sites, sources):
    if plugin_version_served(OTHER) != '1.1':
        wo('plugin', 'update', PLUGIN, '--source', sources['plugin-1.1'])
    seen, watching = set(), threading.Event()

    def watch():
        while not watching.is_set():
            seen.add(plugin_version_served(OTHER))

    watcher = threading.Thread(target=watch)
    with Saturated([OTHER]) as load:
        watcher.start()
        done = wo('plugin', 'update', PLUGIN, '--source', sources['plugin-broken'], check=False)
        watching.set()
        watcher.join()
    assert done.returncode == 1, done.stderr
    assert 'the canary site {0} fails on {1} 1.2'.format(CANARY, PLUGIN) in done.stderr
    assert 'no other site saw it' in done.stderr
    assert load.failures() == {} and seen == {'1.1'}
    assert {plugin_version_served(d) for d in two_sites} == {'1.1'}
    listed = json.loads(wo('plugin', 'list', '--json').stdout)['items']
    assert '1.2' not in [i for i in listed if i['slug'] == PLUGIN][0]['kept']
    assert not os.path.exists(os.path.join(SHARED, 'wp-content', '.canary', 'plugins'))


def test_a_version_that_breaks_only_the_pages_is_refused_by_the_canary_s_http_probe(
        two_sites, sources):
    if plugin_version_served(OTHER) != '1.1':
        wo('plugin', 'update', PLUGIN, '--source', sources['plugin-1.1'])
    done = wo('plugin', 'update', PLUGIN, '--source', sources['plugin-broken-pages'], check=False)
    assert done.returncode == 1, done.stderr
    assert 'the canary site {0} fails on {1} 1.3: the page stops before </html>'.format(
        CANARY, PLUGIN) in done.stderr
    assert {plugin_version_served(d) for d in two_sites} == {'1.1'}


def test_a_canary_left_pinned_by_a_killed_run_is_put_back_first(two_sites, sources):
    if plugin_version_served(OTHER) != '1.1':
        wo('plugin', 'update', PLUGIN, '--source', sources['plugin-1.1'])
    link = '/var/www/{0}/htdocs/wp-content/plugins'.format(CANARY)
    stale = os.path.join(SHARED, 'wp-content', '.canary', 'plugins')
    shutil.rmtree(stale, ignore_errors=True)
    os.makedirs(stale)
    os.symlink(os.path.join(SHARED, 'wp-content', '.versions', 'plugins', PLUGIN, '1.0'),
               os.path.join(stale, PLUGIN))
    os.unlink(link)
    os.symlink(stale, link)  # what a run killed while proving 1.0 on the canary leaves
    assert plugin_version_served(CANARY) == '1.0'
    log_size = os.path.getsize(WO_LOG)
    wo('plugin', 'update', PLUGIN, '--source', sources['plugin-1.1'])  # nothing to do but that
    with open(WO_LOG) as log:
        log.seek(log_size)
        assert '{0}: back on the shared plugins, left pinned'.format(CANARY) in log.read()
    assert os.readlink(link) == os.path.join(SHARED, 'wp-content', 'plugins')
    assert {plugin_version_served(d) for d in two_sites} == {'1.1'}
    shutil.rmtree(stale)


def test_a_rollback_to_a_version_not_kept_is_refused_with_the_kept_ones(two_sites):
    done = wo('plugin', 'rollback', PLUGIN, '--to', '0.9', check=False)
    assert done.returncode == 2
    assert 'no version 0.9 is kept' in done.stderr and 'versions kept: 1.0, 1.1' in done.stderr


def test_a_version_needing_a_newer_php_than_its_sites_is_refused(two_sites, sources, tmp_path):
    if plugin_version_served(OTHER) != '1.1':
        wo('plugin', 'update', PLUGIN, '--source', sources['plugin-1.1'])
    needy = plugin_version(str(tmp_path), '1.5', '// Requires PHP: 99.0')
    done = wo('plugin', 'update', PLUGIN, '--source', needy, check=False)
    assert done.returncode == 1 and 'plugin {0} 1.5 needs PHP 99.0'.format(PLUGIN) in done.stderr
    assert {plugin_version_served(d) for d in two_sites} == {'1.1'}
    listed = json.loads(wo('plugin', 'list', '--json').stdout)['items']
    assert [i['kept'] for i in listed if i['slug'] == PLUGIN] == [['1.0', '1.1']]


def test_a_pinned_plugin_is_kept_at_its_pin(two_sites, sources):
    if plugin_version_served(OTHER) != '1.1':
        wo('plugin', 'update', PLUGIN, '--source', sources['plugin-1.1'])
    wo('baseline', '--pin-plugin', PLUGIN + '=1.0')
    try:
        assert '{0} 1.0'.format(PLUGIN) in wo('baseline').stdout
        assert {plugin_version_served(d) for d in two_sites} == {'1.1'}  # a pin switches nothing
        other = wo('plugin', 'update', PLUGIN, '--source', sources['plugin-1.1'], check=False)
        assert other.returncode == 1 and 'is version 1.1, not 1.0' in other.stderr
        wo('plugin', 'update', PLUGIN, '--source', sources['plugin-1.0'])
        assert {plugin_version_served(d) for d in two_sites} == {'1.0'}
        back = wo('plugin', 'rollback', PLUGIN, check=False)
        assert back.returncode == 2
        assert 'pins plugin {0} to 1.0, not 1.1'.format(PLUGIN) in back.stderr
        assert {plugin_version_served(d) for d in two_sites} == {'1.0'}
    finally:
        wo('baseline', '--pin-plugin', PLUGIN + '=latest')
    wo('plugin', 'rollback', PLUGIN)
    assert {plugin_version_served(d) for d in two_sites} == {'1.1'}
    assert 'pinned:  none' in wo('baseline').stdout
