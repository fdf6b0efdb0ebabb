import os

from wo.multitenancy import backup


def test_the_latest_complete_backup_of_a_domain(sandbox):
    for name in ('a.test-20261123-101010', 'a.test-20261123-111111', 'a.test-20261123-111111-2',
                 '.a.test-20261124-000000.partial', 'a.test-b.test-20261125-000000'):
        os.makedirs(os.path.join(sandbox.backups_dir, name))
    assert backup.latest(sandbox, 'a.test') == \
        os.path.join(sandbox.backups_dir, 'a.test-20261123-111111-2')
    assert backup.latest(sandbox, 'c.test') is None
    backup.remove_unfinished(sandbox, 'a.test')
    assert not os.path.exists(os.path.join(sandbox.backups_dir, '.a.test-20261124-000000.partial'))


def test_prune_keeps_the_newest_of_each_day_week_and_month_as_restic_does(sandbox):
    names = ['a.test-20261202-010000', 'a.test-20261202-020000', 'a.test-20261201-230000',
             'a.test-20261125-120000', 'a.test-20261103-120000', 'a.test-20261002-120000',
             'a.test-20260901-120000', 'a.test-b.test-20260101-000000', '.a.test-x.partial']
    for name in names:
        os.makedirs(os.path.join(sandbox.backups_dir, name))
    gone = backup.prune(sandbox, 'a.test', {'daily': 2, 'weekly': 2, 'monthly': 3})
    # days: 12-02 (02:00), 12-01; weeks: 49 (12-02), 48 (11-25); months: 12, 11 (11-25), 10
    assert gone == ['a.test-20260901-120000', 'a.test-20261103-120000',
                    'a.test-20261202-010000']
    assert sorted(os.listdir(sandbox.backups_dir)) == sorted(set(names) - set(gone))


def test_the_newest_backup_is_kept_whatever_the_retention(sandbox):
    os.makedirs(os.path.join(sandbox.backups_dir, 'a.test-20250101-000000'))
    assert backup.prune(sandbox, 'a.test', {'daily': 0, 'weekly': 0, 'monthly': 0}) == []
