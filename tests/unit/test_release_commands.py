"""init, update and rollback on the fake server: which release every site ends on."""
import json
import os
import re
import shutil

import pytest

from wo.cli.plugins import multitenancy_everyday_functions as everyday
from wo.cli.plugins import multitenancy_functions as mt
from wo.multitenancy import baseline, releases, shared_items, sources, switching, texts
from wo.multitenancy.errors import InvalidInput, MTError, PartlyFailed


def release_versions(server):
    return {name: releases.version(server.settings, name)[0]
            for name in releases.names(server.settings)}


def test_init_seeds_the_baseline_and_switches_to_the_release(server):
    result = server.init('6.4.5')
    assert result['changed'] and result['wp_version'] == '6.4.5'
    assert releases.current(server.settings) == result['release']
    assert sorted(os.listdir(os.path.join(server.settings.shared_content, 'plugins'))) == \
        ['nginx-helper', 'redis-cache']
    assert 'https://downloads.wordpress.org/plugin/nginx-helper.latest-stable.zip' in server.web.urls
    assert mt.init_shared(server.ctx)['changed'] is False  # already initialized


def test_init_failing_part_way_leaves_no_shared_root(server):
    server.web.missing.add('redis-cache')  # the seed fails after the release was staged
    with pytest.raises(MTError, match='plugin redis-cache is not in the shared set'):
        server.init('6.4.5')
    assert any(line.startswith('Seeding the baseline') for line in server.lines)
    assert not os.path.lexists(server.settings.shared_root)


def test_init_offline_names_every_plugin_it_cannot_have_and_the_way_on(server):
    server.web.missing.update({'nginx-helper', 'redis-cache'})  # no wordpress.org
    with pytest.raises(MTError) as refused:
        server.init('6.4.5')
    assert 'baseline plugin(s) nginx-helper, redis-cache: not in this release' in refused.value.message
    assert 'set baseline_plugins in /etc/wo/plugins.d/multitenancy.conf to plugins this ' \
        'release bundles (hello) or to nothing' in refused.value.hint
    assert not os.path.lexists(server.settings.shared_root)
    server.configure(baseline_plugins=('hello',))
    assert server.init('6.4.5')['changed']


def test_init_offline_takes_the_default_theme_of_the_release_and_says_so(server):
    server.web.missing.update({'twentytwentyfour'})
    server.configure(baseline_plugins=())
    result = mt.init_shared(server.ctx, server.tarball('6.1.9', 53496, theme='twentytwentythree'))
    assert result['notes'] == ['the baseline theme is twentytwentythree, the default theme of '
                               'this release: twentytwentyfour is not in it and could not be '
                               'downloaded (theme twentytwentyfour is not in the shared set and '
                               'could not be downloaded: cannot download https://downloads.'
                               'wordpress.org/theme/twentytwentyfour.latest-stable.zip: HTTP 404)']
    assert baseline.read(server.settings)['theme'] == 'twentytwentythree'
    assert os.path.isdir(os.path.join(server.settings.shared_content, 'themes', 'twentytwentythree'))


def test_update_version_stages_that_wordpress_org_release(server):
    server.init('6.4.5')
    server.create('a.test')
    server.tarball('6.5.5')
    result = mt.update(server.ctx, version='6.5.5')
    assert 'https://wordpress.org/wordpress-6.5.5.tar.gz' in server.web.urls
    assert result['wp_version'] == '6.5.5' and result['failed'] == {}
    assert releases.version(server.settings, releases.current(server.settings))[0] == '6.5.5'
    assert server.ctx.db.get_site('a.test')['shared_release'] == result['release']
    assert any('canary site a.test' in line for line in server.lines)


def test_update_naming_the_release_twice_is_refused(server):
    server.init('6.4.5')
    with pytest.raises(InvalidInput, match='--source and --version both name the release'):
        mt.update(server.ctx, source=server.tarball('6.5.5'), version='6.6.1')


def test_update_to_the_version_already_running_changes_nothing(server):
    server.init('6.4.5')
    before = release_versions(server)
    assert mt.update(server.ctx, version='6.4.5') == {
        'changed': False, 'release': releases.current(server.settings), 'wp_version': '6.4.5'}
    assert release_versions(server) == before


@pytest.fixture
def two_releases(server):
    """Sites on 6.5.5, with 6.4.5 kept: (old release, new release)."""
    old = server.init('6.4.5')['release']
    server.create('a.test')
    server.create('b.test')
    return old, mt.update(server.ctx, source=server.tarball('6.5.5'))['release']


def test_rollback_to_a_kept_release(server, two_releases):
    old, new = two_releases
    result = mt.rollback(server.ctx, to=old)
    assert (result['release'], result['previous'], result['wp_version']) == (old, new, '6.4.5')
    assert releases.current(server.settings) == old
    assert {s['shared_release'] for s in server.ctx.db.get_shared_sites()} == {old}
    assert server.runner.site('b.test').db_version == 57155


def test_rollback_to_an_unknown_release_is_refused_naming_the_kept_ones(server, two_releases):
    old, new = two_releases
    with pytest.raises(InvalidInput) as refused:
        mt.rollback(server.ctx, to='wp-20200101-000000')
    assert refused.value.exit_code == 2
    assert refused.value.message == 'no release wp-20200101-000000 to roll back to'
    assert refused.value.hint == 'releases kept: {0} (6.4.5), {1} (6.5.5)'.format(old, new)
    assert releases.current(server.settings) == new


def test_rollback_to_a_wordpress_version_is_its_release_and_nothing_to_do_once_there(
        server, two_releases):
    old, new = two_releases
    assert mt.rollback(server.ctx, to='6.5.5')['changed'] is False
    assert mt.rollback(server.ctx, to='6.4.5')['release'] == old
    assert mt.rollback(server.ctx, to='6.4.5') == {
        'changed': False, 'release': old, 'wp_version': '6.4.5'}
    with pytest.raises(InvalidInput, match='no release 6.3.1 to roll back to'):
        mt.rollback(server.ctx, to='6.3.1')


def test_a_site_failing_after_the_switch_is_named_and_the_result_kept(server, two_releases):
    old, new = two_releases
    server.runner.fail['upgrade', 'b.test'] = 'the database is read-only'
    with pytest.raises(PartlyFailed) as failed:
        mt.rollback(server.ctx, force=True)
    assert failed.value.exit_code == 1
    assert failed.value.message.startswith('1 site(s) not on the new release: b.test: ')
    assert failed.value.result['release'] == old and list(failed.value.result['failed']) == ['b.test']
    assert releases.current(server.settings) == old  # the switch stays


@pytest.fixture
def offered(server):
    """A site using redis-cache on 6.4.5; wordpress.org offers 6.5.5 and redis-cache 2.5,
    and knows nothing of nginx-helper (init seeded both at 1.0)."""
    server.init('6.4.5')
    server.create('a.test')
    server.runner.site('a.test').plugins = ['redis-cache/redis-cache.php']
    server.tarball('6.5.5')
    server.web.items['plugins', 'redis-cache'] = '2.5'
    return server


def test_update_moves_the_core_then_each_shared_plugin_wordpress_org_has_newer(offered):
    result = mt.update(offered.ctx)
    assert result['wp_version'] == '6.5.5' and result['changed']
    assert [(i['slug'], i['version'], i['previous'], i['canary']) for i in result['plugins']] == [
        ('redis-cache', '2.5', '1.0', 'a.test')]
    assert result['not_updated_plugins'] == {'nginx-helper': 'wordpress.org has no plugin of that name'}
    assert result['themes'] == []
    assert shared_items.in_use(offered.settings, 'plugins', 'redis-cache') == '2.5'
    assert 'https://downloads.wordpress.org/plugin-checksums/redis-cache/2.5.json' in offered.web.urls
    text = texts.update_text(result).splitlines()
    assert text[1:3] == [
        'plugin Updated redis-cache to 2.5 (was 1.0) on every site; 1 site(s) use it, proven on a.test.',
        'plugin nginx-helper: not updated, wordpress.org has no plugin of that name']
    again = mt.update(offered.ctx)
    assert not again['changed'] and again['plugins'] == []
    assert texts.update_text(again).splitlines()[-1] == \
        'Shared plugins and themes: nothing newer on wordpress.org to update to.'


def test_update_leaves_a_plugin_with_another_updater_or_closed_on_wordpress_org_alone(offered):
    main = os.path.join(offered.settings.shared_content, 'plugins', 'redis-cache', 'redis-cache.php')
    with open(main, 'a') as f:
        f.write('/*\nUpdate URI: https://updates.example.com/redis-cache-pro\n*/\n')
    result = mt.update(offered.ctx, plugins_only=True)
    assert result['plugins'] == [] and result['not_updated_plugins']['redis-cache'] == (
        "its Update URI 'https://updates.example.com/redis-cache-pro' names another updater "
        "than wordpress.org")
    assert shared_items.in_use(offered.settings, 'plugins', 'redis-cache') is None



def test_update_core_only_and_a_named_release_leave_the_plugins_alone(offered):
    assert 'plugins' not in mt.update(offered.ctx, core_only=True)
    assert 'plugins' not in mt.update(offered.ctx, version='6.5.5')
    assert not any('/plugins/info/' in url for url in offered.web.urls)
    assert shared_items.in_use(offered.settings, 'plugins', 'redis-cache') is None  # not adopted


def test_update_plugins_only_leaves_the_core_and_refuses_a_release(offered):
    before = releases.current(offered.settings)
    result = mt.update(offered.ctx, plugins_only=True)
    assert result['plugins'][0]['version'] == '2.5' and 'release' not in result
    assert releases.current(offered.settings) == before
    for core in (dict(version='6.5.5'), dict(source=offered.tarball('6.5.5')), dict(core_only=True)):
        with pytest.raises(InvalidInput, match='names the core, which --plugins-only leaves alone'):
            mt.update(offered.ctx, plugins_only=True, **core)


def test_a_plugin_wordpress_org_names_no_version_of_is_left_alone_and_named(offered):
    offered.web.items['plugins', 'redis-cache'] = '2.5; rm -rf /'
    result = mt.update(offered.ctx, plugins_only=True)
    assert result['plugins'] == [] and not result['changed']
    assert result['not_updated_plugins']['redis-cache'] == \
        "wordpress.org names version '2.5; rm -rf /', which is none"
    assert shared_items.in_use(offered.settings, 'plugins', 'redis-cache') is None


def test_wordpress_org_failing_after_the_plugins_moved_still_reports_them(offered, monkeypatch):
    asked = sources.latest_item_version

    def themes_unreachable(kind, slug):
        if kind == 'themes':
            raise MTError('cannot ask wordpress.org for the theme ' + slug)
        return asked(kind, slug)
    monkeypatch.setattr(sources, 'latest_item_version', themes_unreachable)
    theme = os.path.join(offered.settings.shared_content, 'themes', 'mt-theme')
    os.makedirs(theme)
    with open(os.path.join(theme, 'style.css'), 'w') as f:
        f.write('/*\nTheme Name: mt-theme\nVersion: 1.0\n*/\n')
    with pytest.raises(MTError, match='cannot ask wordpress.org for the theme') as stopped:
        mt.update(offered.ctx, plugins_only=True)
    assert stopped.value.result['plugins'][0]['version'] == '2.5'
    assert stopped.value.result['changed'] is True
    assert texts.update_text(stopped.value.result).splitlines() == [
        'plugin Updated redis-cache to 2.5 (was 1.0) on every site; 1 site(s) use it, proven on a.test.',
        'plugin nginx-helper: not updated, wordpress.org has no plugin of that name']


def test_a_pinned_plugin_is_brought_to_its_pin_and_no_further(offered):
    pinned = everyday.change_baseline(offered.ctx, pins={'plugins': ['redis-cache=2.4']})
    assert baseline.pins(baseline.read(offered.settings), 'plugins') == {'redis-cache': '2.4'}
    assert shared_items.in_use(offered.settings, 'plugins', 'redis-cache') is None  # not now
    assert texts.baseline_text(pinned).splitlines()[-1] == \
        '  plugin redis-cache is at 1.0: the next update brings every site to 2.4'
    result = mt.update(offered.ctx, plugins_only=True)  # wordpress.org offers 2.5
    assert [(i['slug'], i['version']) for i in result['plugins']] == [('redis-cache', '2.4')]
    assert not mt.update(offered.ctx, plugins_only=True)['changed']
    listed = everyday.list_items(offered.ctx, 'plugins')['items']
    assert [(i['slug'], i['version'], i['pinned']) for i in listed] == [
        ('nginx-helper', '1.0', None), ('redis-cache', '2.4', '2.4')]
    shown = everyday.show_baseline(offered.ctx)
    assert 'pinned:  redis-cache 2.4' in texts.baseline_text(shown) and shown['pins_to_reach'] == []
    everyday.change_baseline(offered.ctx, pins={'plugins': ['redis-cache=latest']})
    assert mt.update(offered.ctx, plugins_only=True)['plugins'][0]['version'] == '2.5'


def test_a_version_other_than_the_pin_is_refused_by_plugin_update_and_rollback(offered):
    mt.item_update(offered.ctx, 'plugins', ['redis-cache'], version='2.4')
    mt.item_update(offered.ctx, 'plugins', ['redis-cache'])  # the latest, 2.5
    everyday.change_baseline(offered.ctx, pins={'plugins': ['redis-cache=2.5']})
    with pytest.raises(InvalidInput, match='the baseline pins plugin redis-cache to 2.5, not 2.4'):
        mt.item_update(offered.ctx, 'plugins', ['redis-cache'], version='2.4')
    with pytest.raises(InvalidInput, match='pins plugin redis-cache to 2.5, not 2.4') as refused:
        mt.item_rollback(offered.ctx, 'plugins', ['redis-cache'])
    assert refused.value.hint.startswith('change the pin first: wo multitenancy baseline '
                                         '--pin-plugin redis-cache=2.4')
    assert shared_items.in_use(offered.settings, 'plugins', 'redis-cache') == '2.5'
    everyday.change_baseline(offered.ctx, pins={'plugins': ['redis-cache=2.4']})
    assert mt.item_update(offered.ctx, 'plugins', ['redis-cache'])['items'][0]['version'] == '2.4'


def test_a_pin_of_something_not_in_the_shared_set_is_refused_and_changes_nothing(offered):
    before = baseline.read(offered.settings)
    with pytest.raises(InvalidInput):
        everyday.change_baseline(offered.ctx, pins={'plugins': ['redis-cache=2.4'],
                                                    'themes': ['no-such-theme=1.0']})
    assert baseline.read(offered.settings) == before


def test_the_core_canary_is_the_first_site_answering_cleanly_now(server, monkeypatch):
    monkeypatch.setattr(switching, 'PHP_SETTLE_SECONDS', 0)  # a.test stays broken
    server.init('6.4.5')
    for domain in ('a.test', 'b.test'):
        server.create(domain)
    server.runner.broken['a.test'] = 'There has been a critical error'
    with pytest.raises(PartlyFailed) as still_broken:  # the switch moves it too
        mt.update(server.ctx, server.tarball('6.5.5'))
    assert any(line.startswith('a.test is no canary: it fails already (HTTP 500)')
               for line in server.lines)
    assert any('canary site b.test' in line for line in server.lines)
    assert list(still_broken.value.result['failed']) == ['a.test']
    assert server.ctx.db.get_site('b.test')['shared_release'] == \
        still_broken.value.result['release']


def test_with_no_site_answering_cleanly_the_first_is_the_canary_all_the_same(
        server, monkeypatch):
    monkeypatch.setattr(switching, 'PHP_SETTLE_SECONDS', 0)
    server.init('6.4.5')
    server.create('a.test')
    before = releases.current(server.settings)
    server.runner.broken['a.test'] = 'There has been a critical error'
    with pytest.raises(MTError, match='the canary site a.test fails on'):
        mt.update(server.ctx, server.tarball('6.5.5'))
    assert 'No site answers cleanly now: a.test is the canary all the same' in server.lines
    assert releases.current(server.settings) == before


def test_a_folder_holding_another_plugin_than_wordpress_orgs_namesake_is_not_replaced(offered):
    main = os.path.join(offered.settings.shared_content, 'plugins', 'redis-cache', 'redis-cache.php')
    with open(main, 'w') as f:
        f.write('<?php\n/*\nPlugin Name: Acme Cache\nAuthor: Acme\nVersion: 1.0\n*/\n')
    with pytest.raises(PartlyFailed) as refused:
        mt.update(offered.ctx, plugins_only=True)
    assert refused.value.result['plugins'][0]['error'].startswith(
        "wordpress.org's plugin redis-cache (redis-cache by The redis-cache team) is not the "
        "one in use (Acme Cache by Acme) -- nothing was switched; keep it as it is with wo "
        "multitenancy baseline --pin-plugin redis-cache=VERSION")
    assert shared_items.version_in_use(offered.settings, 'plugins', 'redis-cache') == '1.0'
    with open(main, 'w') as f:  # renamed since, and its author too, at the same address
        f.write('<?php\n/*\nPlugin Name: Redis Object Cache\nAuthor: Till\nPlugin URI: '
                'https://WordPress.org/plugins/redis-cache\nVersion: 1.0\n*/\n')
    assert mt.update(offered.ctx, plugins_only=True)['plugins'][0]['version'] == '2.5'


@pytest.mark.parametrize('needs,refusal', [
    ('Requires PHP: 99.1', r'needs PHP 99\.1 \(has \d\.\d\)'),
    ('Requires at least: 99.0\nRequires PHP: 5.6', r'needs WordPress 99\.0 \(has 6\.4\.5\)'),
])
def test_a_version_needing_a_newer_php_or_wordpress_than_its_sites_is_refused(
        offered, tmp_path, needs, refusal):
    folder = tmp_path / 'redis-cache'
    folder.mkdir()
    (folder / 'redis-cache.php').write_text(
        '<?php\n/*\nPlugin Name: redis-cache\nVersion: 3.0\n{0}\n*/\n'.format(needs))
    with pytest.raises(PartlyFailed) as refused:
        mt.item_update(offered.ctx, 'plugins', ['redis-cache'], source=str(folder), force=True)
    assert re.match('plugin redis-cache 3.0 ' + refusal, refused.value.result['items'][0]['error'])
    assert shared_items.version_in_use(offered.settings, 'plugins', 'redis-cache') == '1.0'
    assert '3.0' not in shared_items.kept(offered.settings, 'plugins', 'redis-cache')


def test_a_plugin_at_its_pin_is_left_as_it_is_without_a_download(offered):
    everyday.change_baseline(offered.ctx, pins={'plugins': ['redis-cache=1.0']})
    offered.web.urls.clear()
    done = mt.item_update(offered.ctx, 'plugins', ['redis-cache'])
    assert not done['changed'] and not any('downloads.wordpress.org' in u for u in offered.web.urls)
    assert not mt.item_rollback(offered.ctx, 'plugins', ['redis-cache'], to='1.0')['changed']


def test_the_pin_of_a_plugin_gone_from_the_shared_set_can_be_taken_away(offered):
    everyday.change_baseline(offered.ctx, pins={'plugins': ['redis-cache=1.0']})
    shutil.rmtree(os.path.join(offered.settings.shared_content, 'plugins', 'redis-cache'))
    everyday.change_baseline(offered.ctx, pins={'plugins': ['redis-cache=latest']})
    assert baseline.pins(baseline.read(offered.settings), 'plugins') == {}


def test_a_site_failing_verification_after_an_update_is_named_with_exit_3(server):
    server.init('6.4.5')
    server.create('a.test')
    server.create('b.test')
    server.runner.site('b.test').paths = {'upload_path': 'files'}  # relative to the core
    with pytest.raises(PartlyFailed) as ended:
        mt.update(server.ctx, source=server.tarball('6.5.5'))
    assert ended.value.exit_code == 3
    assert ended.value.result['unverified'] == {'b.test': ['no_legacy_paths']}
    assert ended.value.result['wp_version'] == '6.5.5'  # the update stays
    assert ended.value.result['seconds']['verify'] >= 0  # beside the update's other phases
    assert 'b.test: no_legacy_paths' in ended.value.message
    assert json.loads(server.ctx.db.get_site('a.test')['last_verification'])['ok']


def test_plugin_update_and_rollback_verify_every_site_and_name_one_failing_with_exit_3(offered):
    offered.create('b.test')
    offered.runner.site('b.test').paths = {'upload_path': 'files'}  # relative to the core
    for command in (lambda: mt.item_update(offered.ctx, 'plugins', ['redis-cache']),
                    lambda: mt.item_rollback(offered.ctx, 'plugins', ['redis-cache'])):
        with pytest.raises(PartlyFailed) as ended:
            command()
        assert ended.value.exit_code == 3
        assert ended.value.result['unverified'] == {'b.test': ['no_legacy_paths']}
    assert shared_items.in_use(offered.settings, 'plugins', 'redis-cache') == '1.0'  # both stay
    assert json.loads(offered.ctx.db.get_site('a.test')['last_verification'])['ok']
