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


def test_a_record_of_another_site_is_refused(tmp_path):
    path = tmp_path / 'site.json'
    path.write_text(json.dumps({'site': {'domain': 'b.test'}}))
    with pytest.raises(MTError, match='not one of a.test'):
        site_backup._read_record(str(path), 'a.test')
    path.write_text('{not json')
    with pytest.raises(MTError, match='no readable record'):
        site_backup._read_record(str(path), 'a.test')


@pytest.mark.parametrize('keep', [dict(keep_daily='0', keep_weekly='0', keep_monthly='0'),
                                  dict(keep_daily='-1')])
def test_a_retention_that_keeps_nothing_is_refused(keep):
    with pytest.raises(InvalidInput, match='one of them more than 0'):
        mt_settings.from_mapping(keep)
