"""create, delete, remove and baseline on the fake server."""
import json
import os

import pytest

from wo.cli.plugins import multitenancy_everyday_functions as everyday
from wo.cli.plugins import multitenancy_functions as mt
from wo.multitenancy import layout, nginx, sites
from wo.multitenancy.errors import InvalidInput, MTError, PartlyFailed


@pytest.fixture
def initialized(server):
    server.init('6.5.5')
    return server


def test_create_hands_the_admin_email_and_user_to_the_install(initialized):
    result = initialized.create('a.test', admin_email='me@a.test', admin_user='boss')
    install, = initialized.runner.tasks('install')
    assert (install['admin_email'], install['admin_user']) == ('me@a.test', 'boss')
    assert install['admin_password'] == result['admin_password']
    assert install['url'] == 'http://a.test'
    assert initialized.runner.site('a.test').installed_as['admin_user'] == 'boss'
    assert initialized.ctx.db.wordops_site('a.test')['db_name'] == 'a_test'
    assert os.path.isfile(nginx.enabled(initialized.settings, 'a.test'))


def test_create_probes_the_site_unless_the_health_check_is_off(initialized):
    initialized.create('a.test')
    assert initialized.runner.programs().count('curl') == 1
    initialized.configure(enable_health_check=False)
    initialized.create('b.test')
    assert initialized.runner.programs().count('curl') == 1
    assert 'Checking the site over HTTP' not in initialized.lines[-2:]


def test_a_create_that_fails_removes_what_it_made(initialized):
    initialized.runner.broken['a.test'] = 'There has been a critical error'
    with pytest.raises(MTError, match='a.test does not answer well: HTTP 500'):
        initialized.create('a.test')
    assert not os.path.lexists(initialized.settings.site_root('a.test'))
    assert not os.path.lexists(nginx.available(initialized.settings, 'a.test'))
    assert initialized.databases == {}
    assert initialized.ctx.db.get_site('a.test') is None


@pytest.mark.parametrize('options, settings, wanted', [
    ({}, {}, (False, False)),
    ({'dns': 'dns_cf'}, {}, (True, False)),
    ({}, {'auto_ssl': True}, (True, False)),
    ({}, {'auto_ssl': True, 'enable_hsts': True}, (True, True)),
    ({'letsencrypt': True, 'hsts': True}, {}, (True, True)),
])
def test_lets_encrypt_and_hsts_follow_the_flags_then_the_settings(sandbox, options, settings,
                                                                   wanted):
    import dataclasses
    site = sites.new_site(dataclasses.replace(sandbox, **settings), ['a.test'], **options)
    assert (site.letsencrypt, site.hsts) == wanted


def test_create_takes_one_php_version_and_cache_from_the_flags(sandbox):
    site = sites.new_site(sandbox, ['a.test'], ['php82', 'wpredis', 'json'])
    assert (site.php_version, site.cache, site.admin_email) == ('8.2', 'wpredis', sandbox.admin_email)
    with pytest.raises(InvalidInput, match=r'give exactly one domain \(got a.test b.test\)'):
        sites.new_site(sandbox, ['a.test', 'b.test'])


def test_delete_removes_the_site_and_leaves_the_others(initialized):
    initialized.create('a.test')
    initialized.create('b.test')
    assert mt.delete_site(initialized.ctx, 'a.test') == {'domain': 'a.test', 'database': 'a_test'}
    assert not os.path.lexists(initialized.settings.site_root('a.test'))
    assert [s['domain'] for s in initialized.ctx.db.get_shared_sites()] == ['b.test']
    assert list(initialized.databases) == ['b_test']


def test_remove_refuses_while_sites_exist_unless_forced(initialized):
    initialized.create('a.test')
    with pytest.raises(InvalidInput) as refused:
        mt.remove_everything(initialized.ctx)
    assert refused.value.message == '1 site(s) still run on the shared core'
    assert os.path.isdir(layout.htdocs(initialized.settings, 'a.test'))
    assert mt.remove_everything(initialized.ctx, force=True)['sites'] == ['a.test']
    assert not os.path.lexists(initialized.settings.shared_root)
    assert initialized.ctx.db.get_shared_sites() == []


def test_baseline_without_a_change_shows_it(initialized):
    shown = everyday.change_baseline(initialized.ctx)
    assert shown == {'version': 1, 'theme': 'twentytwentyfour', 'auto_activate': True,
                     'plugins': ['nginx-helper', 'redis-cache'], 'pins_to_reach': []}


def test_baseline_theme_is_added_to_the_shared_set_and_reaches_every_site(initialized):
    initialized.create('a.test')
    initialized.create('b.test')
    result = everyday.change_baseline(initialized.ctx, theme='twentytwentythree')
    assert (result['theme'], result['version'], result['failed_sites']) == ('twentytwentythree', 2, {})
    assert os.path.isdir(os.path.join(initialized.settings.shared_content, 'themes',
                                      'twentytwentythree'))
    with open(initialized.settings.baseline_file) as f:
        assert json.load(f)['theme'] == 'twentytwentythree'
    assert {s['baseline_version'] for s in initialized.ctx.db.get_shared_sites()} == {2}


def test_sites_the_baseline_cannot_reach_are_named(initialized):
    initialized.create('a.test')
    initialized.create('b.test')
    initialized.runner.fail['baseline', 'b.test'] = 'the site has no administrator'
    with pytest.raises(PartlyFailed) as failed:
        everyday.change_baseline(initialized.ctx, add_plugins=['akismet'])
    assert failed.value.message == ('1 site(s) could not be brought to the baseline: b.test: '
                                    'WordPress baseline failed for b.test: wp-runner: the site has no '
                                    'administrator')
    assert failed.value.result['plugins'] == ['nginx-helper', 'redis-cache', 'akismet']
    assert list(failed.value.result['failed_sites']) == ['b.test']
    versions = {s['domain']: s['baseline_version'] for s in initialized.ctx.db.get_shared_sites()}
    assert versions == {'a.test': 2, 'b.test': 1}


def test_delete_refuses_while_a_file_system_is_mounted_in_the_site(initialized, bind_mount,
                                                                   tmp_path):
    """A delete would remove what is on it: nothing is removed until it is unmounted."""
    initialized.create('a.test')
    volume = tmp_path / 'volume'
    volume.mkdir()
    (volume / 'photo.jpg').write_text('on another disk')
    uploads = os.path.join(layout.htdocs(initialized.settings, 'a.test'), 'wp-content', 'uploads')
    bind_mount(volume, uploads)
    with pytest.raises(InvalidInput) as refused:
        mt.delete_site(initialized.ctx, 'a.test')
    assert refused.value.message == '{0} is mounted in the tree of a.test'.format(uploads)
    assert 'then run the same delete again' in refused.value.hint
    assert (volume / 'photo.jpg').read_text() == 'on another disk'
    assert initialized.ctx.db.get_site('a.test')['state'] == 'live'
