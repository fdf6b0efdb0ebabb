"""Choosing a snapshot, reading its record, and the retention settings, at the restic
seam (restic.snapshots) and in a sandbox."""
import json

import pytest

from wo.multitenancy import restic, settings as mt_settings, site_backup
from wo.multitenancy.errors import InvalidInput, MTError

SNAPSHOTS = [{'id': 'aaaa1111' + '0' * 56, 'short_id': 'aaaa1111', 'time': '2026-12-01T02:37'},
             {'id': 'bbbb2222' + '0' * 56, 'short_id': 'bbbb2222', 'time': '2026-12-02T02:37'}]


@pytest.fixture
def stored(monkeypatch):
    monkeypatch.setattr(restic, 'snapshots', lambda settings, domain: list(SNAPSHOTS))


def test_the_newest_snapshot_unless_one_is_named(sandbox, stored):
    assert site_backup.choose_snapshot(sandbox, 'a.test')['short_id'] == 'bbbb2222'
    assert site_backup.choose_snapshot(sandbox, 'a.test', 'AAAA11')['short_id'] == 'aaaa1111'


def test_an_id_of_no_snapshot_of_the_site_is_refused(sandbox, stored):
    with pytest.raises(InvalidInput, match='cccc is not a snapshot of a.test'):
        site_backup.choose_snapshot(sandbox, 'a.test', 'cccc')


def test_a_site_without_snapshots_is_refused(sandbox, monkeypatch):
    monkeypatch.setattr(restic, 'snapshots', lambda settings, domain: [])
    with pytest.raises(InvalidInput, match='there is no snapshot of a.test'):
        site_backup.choose_snapshot(sandbox, 'a.test')


def of_a_test(settings):
    """SNAPSHOTS[0] as restic lists it, with the paths a snapshot of a.test holds."""
    return dict(SNAPSHOTS[0], paths=[site_backup.uploads(settings, 'a.test')])


def in_snapshot(monkeypatch, files):
    """restic.read_file answering from `files` ({name at the end of the path: text})."""
    def read_file(settings, snapshot_id, path):
        for name, text in files.items():
            if path.endswith('/' + name):
                return text
        raise MTError('restic dump failed: no such file')
    monkeypatch.setattr(restic, 'read_file', read_file)
    monkeypatch.setattr(restic, 'restore_size', lambda settings, snapshot_id: 1000)


@pytest.mark.parametrize('record,message', [
    (json.dumps({'site': {'domain': 'b.test'}}), 'not one of a.test'),
    (json.dumps({'site': 'a.test'}), 'not one of a.test'),
    ('{not json', 'no readable record'),
    (None, 'no readable record'),
])
def test_a_record_of_another_site_or_none_is_refused(sandbox, monkeypatch, record, message):
    in_snapshot(monkeypatch, {'site.json': record} if record else {})
    with pytest.raises(MTError, match=message):
        site_backup.copy_of(sandbox, 'a.test', of_a_test(sandbox), 'copy.test')


CONFIG = """<?php
define( 'DB_NAME', 'a_test' );
$table_prefix = 'wpx7_';
"""


def test_a_copy_takes_the_snapshots_php_cache_isolation_and_table_prefix(sandbox, monkeypatch):
    row = {'domain': 'a.test', 'php_version': '8.2', 'cache_type': 'wpfc',
           'isolation': 'sovereign', 'baseline_version': 3}
    in_snapshot(monkeypatch, {'site.json': json.dumps({'site': row}), 'wp-config.php': CONFIG})
    site, prefix, record = site_backup.copy_of(sandbox, 'a.test', of_a_test(sandbox), 'copy.test')
    assert (site.domain, site.php_version, site.cache, site.isolation, site.letsencrypt) == (
        'copy.test', '8.2', 'wpfc', 'sovereign', False)
    assert prefix == 'wpx7_' and record['site'] == row


@pytest.mark.parametrize('config', ["$table_prefix = 'wp_' . 'x';", "$table_prefix = $x;", ''])
def test_a_copy_whose_table_prefix_cannot_be_read_is_refused(sandbox, monkeypatch, config):
    row = {'domain': 'a.test', 'php_version': '8.2', 'cache_type': 'wpfc'}
    in_snapshot(monkeypatch, {'site.json': json.dumps({'site': row}), 'wp-config.php': config})
    with pytest.raises(MTError, match='names no table prefix'):
        site_backup.copy_of(sandbox, 'a.test', of_a_test(sandbox), 'copy.test')


@pytest.mark.parametrize('keep', [dict(keep_daily='0', keep_weekly='0', keep_monthly='0'),
                                  dict(keep_daily='-1')])
def test_a_retention_that_keeps_nothing_is_refused(keep):
    with pytest.raises(InvalidInput, match='one of them more than 0'):
        mt_settings.from_mapping(keep)


def test_a_copy_of_a_snapshot_taken_elsewhere_or_naming_an_unknown_cache_is_refused(
        sandbox, monkeypatch):
    row = {'domain': 'a.test', 'php_version': '8.2', 'cache_type': 'wpfc'}
    in_snapshot(monkeypatch, {'site.json': json.dumps({'site': row}), 'wp-config.php': CONFIG})
    with pytest.raises(MTError, match='it was taken with another sites_root'):
        site_backup.copy_of(sandbox, 'a.test', dict(SNAPSHOTS[0], paths=['/srv/a.test']),
                            'copy.test')
    for cache in (None, 'memcached'):
        in_snapshot(monkeypatch, {'site.json': json.dumps({'site': dict(row, cache_type=cache)}),
                                  'wp-config.php': CONFIG})
        with pytest.raises(MTError, match='names no cache type this version knows'):
            site_backup.copy_of(sandbox, 'a.test', of_a_test(sandbox), 'copy.test')
