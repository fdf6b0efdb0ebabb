"""init, list, status and baseline as a script or a cron job sees them."""
import json
import os
import shutil
import zipfile

import pytest

from stack import SHARED, get, wo, write_conf

COMMANDS = {'init': 'stage a WordPress release', 'create': 'Create a WordPress site',
            'list': 'List the sites', 'status': 'real HTTP request', 'baseline': 'every site must have',
            'audit': 'who ran it'}
PLUGIN = """<?php
/**
 * Plugin Name: MT footer mark
 */
add_action( 'wp_footer', function () { echo '<!-- mt-footer-mark -->'; } );
"""


@pytest.mark.parametrize('command', sorted(COMMANDS))
def test_help_explains_each_command_and_the_exit_codes(command):
    done = wo(command, '--help')
    assert COMMANDS[command] in ' '.join(done.stdout.split())
    assert 'Exit codes' in done.stdout


def test_init_twice_changes_nothing_the_second_time(shared_core):
    before = os.readlink(SHARED + '/current')
    done = wo('init')
    assert 'already initialized' in done.stdout
    assert os.readlink(SHARED + '/current') == before


def test_init_force_stages_a_fresh_release_and_sites_follow(make_site, release_tarball):
    make_site('force-mt.test')
    before = os.readlink(SHARED + '/current')
    wo('init', '--force', '--source', release_tarball)
    after = os.readlink(SHARED + '/current')
    assert after != before
    assert os.path.isdir(os.path.join(SHARED, before)), 'the previous release is kept'
    assert get('force-mt.test', '/?after-force').status_code == 200


def test_init_offline_with_the_shipped_plugins_says_how_to_go_on_and_leaves_nothing(
        release_tarball):
    """No wordpress.org here: the shipped baseline plugins (nginx-helper, redis-cache)
    cannot be had; one refusal names them both and the way on."""
    root = '/var/www/shared-offline.test'
    write_conf(shared_root=root, baseline_plugins='nginx-helper,redis-cache')
    try:
        done = wo('init', '--source', release_tarball, check=False)
    finally:
        write_conf()
    assert done.returncode == 1, done.stderr
    assert 'baseline plugin(s) nginx-helper, redis-cache: not in this release' in done.stderr
    assert 'set baseline_plugins in /etc/wo/plugins.d/multitenancy.conf to plugins this ' \
        'release bundles (hello) or to nothing' in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not os.path.exists(root)


def test_list_and_status_print_json_for_scripts(make_site):
    make_site('json-mt.test')
    listed = json.loads(wo('list', '--json').stdout)
    assert [s['domain'] for s in listed] == ['json-mt.test']
    status = json.loads(wo('status', '--json').stdout)
    assert status['healthy'] is True and status['wp_version'] == '6.5.5'
    site = status['sites'][0]
    assert site['domain'] == 'json-mt.test' and site['status'] == 200
    assert site['version'] == '6.5.5'
    assert site['own_disk_bytes'] < 1024 * 1024


def test_status_exits_3_when_a_site_is_broken(make_site):
    make_site('broken-mt.test')
    config = '/var/www/broken-mt.test/wp-config.php'
    shutil.move(config, config + '.away')
    try:
        done = wo('status', '--json', check=False)
    finally:
        shutil.move(config + '.away', config)
    assert done.returncode == 3
    broken = [s for s in json.loads(done.stdout)['sites'] if s['domain'] == 'broken-mt.test']
    assert broken[0]['ok'] is False and broken[0]['status'] == 500


def test_a_baseline_plugin_added_once_reaches_every_site(make_site, tmp_path):
    for domain in ('base1-mt.test', 'base2-mt.test'):
        make_site(domain)
    archive = tmp_path / 'mt-footer-mark.zip'
    with zipfile.ZipFile(archive, 'w') as z:
        z.writestr('mt-footer-mark/mt-footer-mark.php', PLUGIN)
    try:
        done = json.loads(wo('baseline', '--add-plugin', str(archive), '--json').stdout)
        assert 'mt-footer-mark' in done['plugins'] and done['failed_sites'] == {}
        for domain in ('base1-mt.test', 'base2-mt.test'):
            assert '<!-- mt-footer-mark -->' in get(domain, '/?baseline').text
        listed = {s['domain']: s['baseline_version'] for s in json.loads(wo('list', '--json').stdout)}
        assert set(listed.values()) == {done['version']}
        again = json.loads(wo('baseline', '--add-plugin', str(archive), '--json').stdout)
        assert again['version'] == done['version'], 'the same change twice changes nothing'
    finally:
        wo('baseline', '--remove-plugin', 'mt-footer-mark')
        shutil.rmtree(SHARED + '/wp-content/plugins/mt-footer-mark', ignore_errors=True)
