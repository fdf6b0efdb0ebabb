"""Backups with restic on the real stack: a site whose uploads and database were damaged
is restored from its snapshot and its content checked over HTTP; a restore that fails
leaves the site as it was; a second backup right after the first adds almost nothing;
--prune applies the retention; nothing of the shared core is in a snapshot; a snapshot
restored --as a new domain is a live copy, and one that cannot be leaves nothing."""
import json
import os
import subprocess

import pytest

from stack import (CONF, SHARED, SITES, get, mysql, server_state, sovereign_and_shared, wo,
                   write_conf)

DOMAINS = ('keep-a.test', 'keep-b.test')  # sovereign, shared
REPOSITORY = '/var/backups/wo-multitenancy-tests'
COPY = 'copy-of-keep-a.test'


@pytest.fixture(scope='module')
def sites(shared_core):
    subprocess.run(['rm', '-rf', REPOSITORY], check=True)
    original = open(CONF).read()
    write_conf(backup_repository=REPOSITORY)
    try:
        with sovereign_and_shared(*DOMAINS) as made:
            yield made
    finally:
        with open(CONF, 'w') as f:
            f.write(original)
        subprocess.run(['rm', '-rf', REPOSITORY], check=True)


def _database(domain):
    return json.loads(wo('info', domain, '--json').stdout)['db_name']


def _upload(domain, name, text):
    path = os.path.join(SITES, domain, 'htdocs', 'wp-content', 'uploads', name)
    with open(path, 'w') as f:
        f.write(text)
    owner = os.stat(os.path.dirname(path))
    os.chown(path, owner.st_uid, owner.st_gid)
    return path


def _page(domain):
    return get(domain, '/?fresh={0}'.format(os.urandom(4).hex())).text  # not cached


def test_a_damaged_site_comes_back_from_its_snapshot(sites):
    for domain in sites:
        _title(domain, 'Kept title')
        _upload(domain, 'kept.txt', 'kept upload of ' + domain)
    done = json.loads(wo('backup', *sites, '--json').stdout)
    assert [r['domain'] for r in done['sites']] == list(sites)
    for domain in sites:
        _title(domain, 'Damaged')
        os.unlink(os.path.join(SITES, domain, 'htdocs', 'wp-content', 'uploads', 'kept.txt'))
        _upload(domain, 'junk.txt', 'junk')
        assert 'Damaged' in _page(domain)
        result = json.loads(wo('restore', domain, '--json').stdout)
        assert result['snapshot'] == [r for r in done['sites'] if r['domain'] == domain][0][
            'snapshot']
        assert 'Kept title' in _page(domain) and 'Damaged' not in _page(domain)
        assert get(domain, '/wp-content/uploads/kept.txt').text == 'kept upload of ' + domain
        assert get(domain, '/wp-content/uploads/junk.txt').status_code == 404
        content = os.path.join(SITES, domain, 'htdocs', 'wp-content')
        assert sorted(n for n in os.listdir(content) if n.startswith('.')) == []
        assert not os.path.exists(os.path.join(SITES, domain, '.wo-mt-restore'))
        assert get(domain, '/').status_code == 200  # out of maintenance
        assert wo('verify', domain).returncode == 0


POISON = '''<?php // test_backup_restore.py: a page with post 1 titled Poison dies
add_action( 'wp', function () {
	if ( 'cli' !== PHP_SAPI && 'Poison' === get_the_title( 1 ) ) {
		throw new Error( 'poisoned' );
	}
} );
'''


def _title(domain, text):
    mysql("UPDATE `{0}`.wp_posts SET post_title = '{1}' WHERE ID = 1".format(
        _database(domain), text))


def test_a_restore_that_fails_leaves_the_site_as_it_was(sites):
    """The snapshot's content breaks the site (a shared MU-plugin dies on it): the
    restore is refused over HTTP and the database and uploads are as before."""
    domain = sites[0]
    _title(domain, 'Poison')
    wo('backup', domain)
    _title(domain, 'After the backup')
    _upload(domain, 'after.txt', 'after')
    poison = '/var/www/shared/wp-content/mu-plugins/zz-test-poison.php'
    with open(poison, 'w') as f:
        f.write(POISON)
    try:
        failed = wo('restore', domain, check=False)
    finally:
        os.unlink(poison)
    assert failed.returncode == 1 and 'does not serve well' in failed.stderr
    assert 'After the backup' in _page(domain)
    assert get(domain, '/wp-content/uploads/after.txt').text == 'after'
    assert not os.path.exists(os.path.join(SITES, domain, '.wo-mt-restore'))
    content = os.path.join(SITES, domain, 'htdocs', 'wp-content')
    assert sorted(n for n in os.listdir(content) if n.startswith('.')) == []
    assert get(domain, '/').status_code == 200  # not left in maintenance


def test_a_second_backup_adds_almost_nothing_and_prune_keeps_the_retention(sites):
    first = json.loads(wo('backup', '--all', '--json').stdout)
    second = json.loads(wo('backup', '--all', '--json').stdout)
    mine = [r for r in second['sites'] if r['domain'] in sites]
    assert len(mine) == 2 and all(r['added_bytes'] < 200000 for r in mine)
    assert second['repository_bytes'] - first['repository_bytes'] < 400000
    before = json.loads(wo('backup', '--list', sites[1], '--json').stdout)['snapshots']
    assert len(before) >= 3
    converted = ['{0}-202501{1:02d}-000000'.format(sites[1], day) for day in range(1, 11)]
    for name in converted:  # what ten days of convert's backups leave (7 daily, 4 weekly, 6 monthly)
        os.makedirs(os.path.join(SHARED, 'backups', name))
    pruned = json.loads(wo('backup', sites[1], '--prune', '--json').stdout)['sites'][0]
    after = json.loads(wo('backup', '--list', sites[1], '--json').stdout)['snapshots']
    assert len(after) == 1 and len(pruned['forgotten']) == len(before)  # one a day: the last
    assert pruned['convert_backups_removed'] == converted[:3]  # Jan 4-10 daily, Jan 5 weekly
    for name in converted[3:]:
        subprocess.run(['rm', '-rf', os.path.join(SHARED, 'backups', name)], check=True)


def test_a_snapshot_holds_the_site_and_nothing_of_the_shared_core(sites):
    snapshot = json.loads(wo('backup', '--list', sites[0], '--json').stdout)['snapshots'][-1]
    assert sorted(snapshot['paths']) == sorted([
        os.path.join(SITES, sites[0], 'wp-config.php'),
        os.path.join(SITES, sites[0], 'htdocs', 'wp-content', 'uploads'),
        '/var/lib/wo/multitenancy/backups/' + sites[0]])


def _option(database, name):
    return mysql("SELECT option_value FROM `{0}`.wp_options WHERE option_name = '{1}'".format(
        database, name))


def test_a_snapshot_restored_as_a_new_domain_is_a_live_copy(sites):
    domain = sites[0]  # sovereign
    _title(domain, 'Copied title')
    _upload(domain, 'copied.txt', 'copied upload')
    mysql("INSERT INTO `{0}`.wp_options (option_name, option_value) VALUES "
          "('_wo_mt_login_event_x', 'an event of the original')".format(_database(domain)))
    wo('backup', domain)
    mysql("DELETE FROM `{0}`.wp_options WHERE option_name = '_wo_mt_login_event_x'".format(
        _database(domain)))
    _title(domain, 'The site goes on')
    since = max([e['id'] for e in json.loads(wo('audit', '--json').stdout)['events']] or [0])
    try:
        done = json.loads(wo('restore', domain, '--as', COPY, '--json').stdout)
        assert (done['domain'], done['copy_of'], done['url']) == (
            COPY, domain, 'http://{0}/'.format(COPY))
        assert 'Copied title' in _page(COPY)
        assert get(COPY, '/wp-content/uploads/copied.txt').text == 'copied upload'
        assert 'The site goes on' in _page(domain)  # the site itself is not touched
        copy = json.loads(wo('info', COPY, '--json').stdout)
        assert (copy['state'], copy['isolation']) == ('live', 'sovereign')
        assert copy['db_name'] != _database(domain) and copy['system_user'] != \
            json.loads(wo('info', domain, '--json').stdout)['system_user']
        assert _option(copy['db_name'], 'home') == ['http://' + COPY]
        assert _option(copy['db_name'], 'siteurl') == ['http://' + COPY]
        assert _option(copy['db_name'], '_wo_mt_login_event_x') == []  # the original's
        assert not os.path.exists(os.path.join(SITES, COPY, '.wo-mt-restore'))
        assert wo('verify', COPY).returncode == 0
        audited = json.loads(wo('audit', '--site', COPY, '--json').stdout)['events']
        assert [e['command'] for e in audited if e['id'] > since] == ['restore', 'verify']
    finally:
        wo('delete', COPY, '--force')


def test_a_deleted_site_comes_back_under_its_own_name(sites):
    gone = 'deleted-then-restored.test'
    wo('create', gone, '--isolation', 'sovereign')
    try:
        _title(gone, 'Before the delete')
        _upload(gone, 'kept.txt', 'kept upload of ' + gone)
        wo('backup', gone)
        wo('delete', gone, '--force')
        done = json.loads(wo('restore', gone, '--as', gone, '--json').stdout)
        assert (done['domain'], done['copy_of']) == (gone, gone)
        assert 'Before the delete' in _page(gone)
        assert get(gone, '/wp-content/uploads/kept.txt').text == 'kept upload of ' + gone
        assert wo('verify', gone).returncode == 0
    finally:
        wo('delete', gone, '--force', check=False)


def test_a_copy_whose_database_runs_code_as_the_site_is_refused_and_leaves_nothing(sites):
    """A view runs with its definer's rights: in a copy, the original site's account
    would answer for it. The dump is loaded as the copy's own account, which MariaDB
    does not let define anything as another one."""
    domain = sites[0]
    database, user = _database(domain), json.loads(wo('info', domain, '--json').stdout)['db_user']
    mysql('CREATE DEFINER=`{0}`@`localhost` VIEW `{1}`.titles AS SELECT post_title FROM '
          '`{1}`.wp_posts'.format(user, database))
    try:
        wo('backup', domain)
    finally:
        mysql('DROP VIEW `{0}`.titles'.format(database))
    before = server_state()
    failed = wo('restore', domain, '--as', COPY, check=False)
    assert failed.returncode == 1 and 'MariaDB refused the dump as ' in failed.stderr
    assert 'SUPER' in failed.stderr  # what a definer of another account needs
    assert server_state() == before


@pytest.mark.parametrize('args,message', [
    (('restore', 'keep-a.test', '--snapshot', 'deadbeef'), 'is not a snapshot of keep-a.test'),
    (('restore', 'nobody.test'), 'nobody.test'),
    (('backup',), 'give the domains to backup, or --all'),
    (('restore', 'keep-a.test', '--as', 'keep-b.test'), 'keep-b.test already exists'),
    (('restore', 'keep-a.test', '--as', 'not a domain'), 'not a domain'),
    (('restore', 'keep-a.test', '--as', ''), "'' is not a domain name"),
])
def test_bad_requests_are_refused(sites, args, message):
    done = wo(*args, check=False)
    assert done.returncode == 2 and message in done.stderr
