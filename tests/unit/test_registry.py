"""The registry's states: a site is registered first, live once made and checked; a
create killed part-way leaves an entry that delete removes."""
import os

import pytest

from wo.cli.plugins import multitenancy_everyday_functions as everyday
from wo.cli.plugins import multitenancy_functions as mt
from wo.multitenancy import mariadb, sites, texts


@pytest.fixture
def initialized(server):
    server.init('6.5.5')
    return server


def test_create_registers_first_and_is_live_once_checked(initialized):
    seen = []
    for action in ('install', 'verify'):
        initialized.runner.on_task[action, 'a.test'] = lambda job: seen.append(
            (job['action'], initialized.ctx.db.get_site('a.test')['state']))
    initialized.create('a.test')
    # Its account is checked before the install, all of its database after.
    assert seen == [('verify', 'provisioning'), ('install', 'provisioning'),
                    ('verify', 'verifying')]
    assert initialized.ctx.db.get_site('a.test')['state'] == 'live'
    assert everyday.site_info(initialized.ctx, 'a.test')['state'] == 'live'


def test_a_create_killed_part_way_is_listed_left_alone_and_deleted(initialized):
    initialized.create('a.test')
    new = sites.new_site(initialized.settings, ['b.test'], ())
    with initialized.ctx.changes() as changes:  # as a create SIGKILLed after registering
        sites.register(initialized.ctx, new, changes)
    assert '(provisioning)' in texts.list_text(everyday.list_sites(initialized.ctx))
    before = initialized.ctx.db.get_site('b.test')['shared_release']
    updated = initialized.run(lambda ctx: mt.update(ctx, initialized.tarball('6.6.2')))
    assert initialized.ctx.db.get_site('a.test')['shared_release'] == updated['release']
    assert initialized.ctx.db.get_site('b.test')['shared_release'] == before  # not touched
    assert 'b.test' not in [j['domain'] for j in initialized.runner.tasks()]
    mt.delete_site(initialized.ctx, 'b.test')
    assert initialized.ctx.db.get_site('b.test') is None


def test_delete_of_a_create_killed_after_its_database_drops_the_database(initialized):
    new = sites.new_site(initialized.settings, ['b.test'], ())
    with initialized.ctx.changes() as changes:  # as a create SIGKILLed after the database
        sites.register(initialized.ctx, new, changes)
        db = mariadb.create_site_database(initialized.ctx.ctl, 'b.test', changes)
        initialized.ctx.db.record_database('b.test', db)
    assert initialized.databases == {'b_test': 'b.test'}
    os.makedirs(initialized.settings.sites_root, exist_ok=True)  # /var/www is always there
    mt.delete_site(initialized.ctx, 'b.test')
    assert initialized.databases == {} and initialized.accounts == {}
    assert initialized.ctx.db.get_site('b.test') is None
