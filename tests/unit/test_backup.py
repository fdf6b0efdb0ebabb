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
