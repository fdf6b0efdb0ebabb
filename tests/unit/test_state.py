import sqlite3

import pytest

from fake_server import WORDOPS_SITES
from wo.cli.plugins.multitenancy_db import MTDatabase


@pytest.fixture
def db(tmp_path):
    path = str(tmp_path / 'dbase.db')
    with sqlite3.connect(path) as c:
        c.execute(WORDOPS_SITES)
    database = MTDatabase(path)
    database.initialize_tables()
    database.initialize_tables()  # idempotent
    return database


def site(domain):
    return ({'domain': domain, 'site_type': 'wp', 'cache_type': 'wpfc',
             'site_path': '/var/www/' + domain, 'php_version': '8.2',
             'shared_release': 'wp-20260101-000000', 'baseline_version': 1,
             'is_enabled': 1, 'is_ssl': 0, 'db_name': None, 'db_user': None,
             'db_grant_host': None, 'state': 'provisioning', 'isolation': 'shared',
             'system_user': None, 'login_nonce': 'n'},
            {'sitename': domain, 'site_type': 'wp', 'cache_type': 'wpfc',
             'site_path': '/var/www/' + domain, 'is_enabled': 1, 'is_ssl': 0,
             'php_version': '8.2', 'db_name': 'a_test_x', 'db_user': 'atest'})


def add(db, domain):
    ours, theirs = site(domain)
    db.register_site(ours)
    db.complete_site(domain, theirs, 1, 0)


def test_a_site_is_registered_in_ours_then_in_wordops_table(db):
    ours, theirs = site('a.test')
    db.register_site(ours)
    assert (db.get_site('a.test')['state'], db.wordops_site('a.test')) == ('provisioning', None)
    db.record_database('a.test', {'db_name': 'a_test_x', 'db_user': 'atest',
                                  'db_grant_host': '10.0.0.%'})
    db.complete_site('a.test', theirs, 3, 1)
    db.set_state('a.test', 'live')
    assert {k: db.get_site('a.test')[k] for k in ('state', 'baseline_version', 'db_grant_host')} \
        == {'state': 'live', 'baseline_version': 3, 'db_grant_host': '10.0.0.%'}
    assert db.wordops_site('a.test')['site_path'] == '/var/www/a.test'
    db.remove_site('a.test')
    assert db.get_site('a.test') is None and db.wordops_site('a.test') is None


def test_completing_is_all_or_nothing(db):
    ours, theirs = site('b.test')
    db.register_site(ours)
    theirs['no_such_column'] = 1
    with pytest.raises(sqlite3.OperationalError):
        db.complete_site('b.test', theirs, 3, 0)
    assert db.get_site('b.test')['baseline_version'] == 1 and db.wordops_site('b.test') is None


def test_releases_and_the_current_one(db):
    add(db, 'a.test')
    db.record_release('wp-1', '6.4.5', 56657)
    db.record_release('wp-2', '6.5.5', 57155)
    db.record_release('wp-2', '6.5.5', 57155)  # recording twice is harmless
    db.mark_current_release('wp-2')
    assert current_flags(db) == [('wp-1', 0), ('wp-2', 1)]
    db.set_site_release('a.test', 'wp-2')
    assert db.get_site('a.test')['shared_release'] == 'wp-2'
    db.forget_releases(['wp-1'])
    assert current_flags(db) == [('wp-2', 1)]


def current_flags(db):
    with sqlite3.connect(db.path) as c:
        return list(c.execute('SELECT release_name, is_current FROM multitenancy_releases '
                              'ORDER BY release_name'))


def test_baseline_versions_are_kept_per_site(db):
    add(db, 'a.test')
    add(db, 'b.test')
    db.set_site_baseline('a.test', 4)
    assert {s['domain']: s['baseline_version'] for s in db.get_shared_sites()} == {
        'a.test': 4, 'b.test': 1}


def test_config_values_are_replaced(db):
    assert db.get_config('previous_release') is None
    db.set_config('previous_release', 'wp-1')
    db.set_config('previous_release', 'wp-2')
    assert db.get_config('previous_release') == 'wp-2'
