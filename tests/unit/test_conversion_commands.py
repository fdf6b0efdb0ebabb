"""convert and revert on the fake server: what each site ends as, and the exit code
the outcome asks for."""
import os
import re
import signal
import sqlite3

import pytest
from cement.core.exc import CaughtSignal

from sample_release import make_release_tree
from wo.cli.plugins import multitenancy_functions as mt
from wo.multitenancy import (conversion_checks, docroot_swap, layout, mariadb, nginx,
                             releases, reversion, wp_config)
from wo.multitenancy.errors import Interrupted, InvalidInput, PartlyFailed
from wo.multitenancy.undo import Changes


@pytest.fixture
def initialized(server):
    server.init('6.5.5')
    return server


def standalone(server, domain, version='6.5.5'):
    """A site as `wo site create --wp` lays it out, with an upload of its own."""
    settings = server.settings
    htdocs = layout.htdocs(settings, domain)
    make_release_tree(htdocs, version)
    os.makedirs(os.path.join(htdocs, 'wp-content', 'uploads'))
    with open(os.path.join(htdocs, 'wp-content', 'uploads', 'photo.jpg'), 'w') as f:
        f.write('photo of ' + domain)
    name = domain.replace('.', '_')
    with open(wp_config.path(settings, domain), 'w') as f:
        f.write("<?php\ndefine( 'DB_NAME', '{0}' );\ndefine( 'DB_USER', '{0}' );\n"
                "$table_prefix = 'wp_';\n".format(name))
    with open(nginx.available(settings, domain), 'w') as f:
        f.write('server {{\n    root {0};\n}}\n'.format(htdocs))
    with sqlite3.connect(settings.wo_database) as c:
        c.execute("INSERT INTO sites (sitename, site_type, cache_type, site_path, is_enabled, "
                  "is_ssl, php_version, db_name, db_user) VALUES (?, 'wp', 'wpfc', ?, 1, 0, "
                  "'8.2', ?, ?)", (domain, settings.site_root(domain), name, name))
    server.accounts[name, 'localhost'] = [  # as WordOps' setupdatabase grants
        'GRANT USAGE ON *.* TO `{0}`@`localhost`'.format(name),
        'GRANT {0} ON `{1}`.* TO `{1}`@`localhost`'.format(
            ', '.join(sorted(mariadb.SITE_PRIVILEGES)), name)]
    site = server.runner.site(domain)  # its WordPress, as it reports on itself
    site.current_user, site.installed_as = name + '@localhost', {'admin_user': 'admin'}
    return htdocs


def upload(server, domain):
    with open(os.path.join(layout.htdocs(server.settings, domain), 'wp-content', 'uploads',
                           'photo.jpg')) as f:
        return f.read()


def test_every_site_converted_is_a_plain_result(initialized):
    for domain in ('a.test', 'b.test'):
        standalone(initialized, domain)
    outcome = mt.convert_sites(initialized.ctx, ['a.test', 'b.test'])
    assert [r['status'] for r in outcome['sites']] == ['converted', 'converted']
    assert outcome['failed'] == 0
    for domain in ('a.test', 'b.test'):
        assert docroot_swap.is_shared(initialized.settings, layout.htdocs(initialized.settings, domain))
        assert upload(initialized, domain) == 'photo of ' + domain
        assert initialized.ctx.db.get_site(domain)['shared_release'] == \
            releases.current(initialized.settings)
    assert sorted(os.listdir(outcome['sites'][0]['backup'])) == ['database.sql', 'files.tar.zst']


def test_refusals_alone_exit_2(initialized):
    standalone(initialized, 'a.test')
    with pytest.raises(PartlyFailed) as ended:
        mt.convert_sites(initialized.ctx, ['a.test', 'missing.test'])
    assert ended.value.exit_code == 2 and ended.value.message == ''
    outcome = ended.value.result
    assert [r['status'] for r in outcome['sites']] == ['converted', 'refused']
    assert outcome['sites'][1]['error'] == 'missing.test is not a WordOps site'
    assert outcome['failed'] == 1


def test_a_failure_exits_1_and_that_site_is_put_back(initialized):
    standalone(initialized, 'a.test')
    htdocs = standalone(initialized, 'b.test')
    with open(wp_config.path(initialized.settings, 'b.test')) as f:
        config = f.read()
    initialized.runner.fail['upgrade', 'b.test'] = 'the database went away'
    with pytest.raises(PartlyFailed) as ended:
        mt.convert_sites(initialized.ctx, ['a.test', 'missing.test', 'b.test'])
    assert ended.value.exit_code == 1
    assert [r['status'] for r in ended.value.result['sites']] == ['converted', 'refused', 'failed']
    assert not docroot_swap.is_shared(initialized.settings, htdocs)
    assert not os.path.exists(docroot_swap.swap_dir(initialized.settings, 'b.test'))
    assert upload(initialized, 'b.test') == 'photo of b.test'
    with open(wp_config.path(initialized.settings, 'b.test')) as f:
        assert f.read() == config
    assert initialized.ctx.db.get_site('b.test') is None


def test_neither_domains_nor_all_is_refused(initialized):
    with pytest.raises(InvalidInput, match='give the domains to convert, or --all'):
        mt.convert_sites(initialized.ctx, [], every=False)


def test_an_interrupted_bulk_keeps_the_finished_sites_and_undoes_the_current_one(initialized):
    standalone(initialized, 'a.test')
    htdocs = standalone(initialized, 'b.test')

    def interrupt(job):
        raise CaughtSignal(signal.SIGINT, None)
    initialized.runner.on_task['keep_own_theme', 'b.test'] = interrupt
    with pytest.raises(Interrupted) as ended:
        initialized.run(lambda ctx: mt.convert_sites(ctx, ['a.test', 'b.test']))
    assert ended.value.exit_code == 130
    assert ended.value.message == ('interrupted by SIGINT while backing up b.test (files and '
                                   'database): its changes were undone; what was finished '
                                   'before stays')
    assert ended.value.hint == 'run the same command again: it finishes the rest'
    assert initialized.ctx.db.get_site('a.test') and not initialized.ctx.db.get_site('b.test')
    assert not docroot_swap.is_shared(initialized.settings, htdocs)
    assert [n for n in os.listdir(initialized.settings.backups_dir) if n.startswith('.')] == []


def test_a_stopped_revert_is_finished_by_the_next_one(initialized):
    initialized.create('a.test')
    settings, htdocs = initialized.settings, layout.htdocs(initialized.settings, 'a.test')
    with open(os.path.join(htdocs, 'wp-content', 'uploads', 'photo.jpg'), 'w') as f:
        f.write('photo of a.test')
    site = initialized.ctx.db.get_site('a.test')
    with Changes() as changes:  # the first revert, killed right after its swap
        reversion.swap_to_own_core(initialized.ctx, site, releases.path(
            settings, releases.current(settings)), changes)
    assert not docroot_swap.is_shared(initialized.settings, htdocs) and initialized.ctx.db.get_site('a.test')

    result = mt.revert_site(initialized.ctx, 'a.test')
    assert result == {'domain': 'a.test', 'status': 'reverted', 'wp_version': '6.5.5'}
    assert 'Finishing the stopped revert of a.test' in initialized.lines
    assert upload(initialized, 'a.test') == 'photo of a.test'
    assert not os.path.exists(docroot_swap.swap_dir(settings, 'a.test'))
    assert initialized.ctx.db.get_site('a.test') is None
    assert initialized.ctx.db.wordops_site('a.test')['site_type'] == 'wp'
    assert 'WP_CONTENT_DIR' not in wp_config.read(settings, wp_config.path(settings, 'a.test'),
                                                  'a.test', '8.3')['constants']


@pytest.mark.parametrize('plugins, themes, named', [
    (['../../../lib/wo/x.php'], ['twentytwentyfour'], "plugin '..'"),
    ([], ['../../../../../lib/wo'], "theme '../../../../../lib/wo'"),
    ([], ['evil.zip'], "theme 'evil.zip'"),
    (['hello.php'], ['x.php'], "theme 'x.php'"),
])
def test_names_from_a_sites_database_must_be_plain(sandbox, plugins, themes, named):
    site = {'plugins': plugins, 'themes': themes}
    with pytest.raises(InvalidInput, match='names an active ' + re.escape(named)):
        conversion_checks.missing_from_shared(sandbox, 'a.test', site)


def test_plugin_names_become_slugs_of_the_shared_set(sandbox):
    site = {'plugins': ['akismet/akismet.php', 'hello.php'], 'themes': ['twentytwentyfour', False]}
    assert conversion_checks.missing_from_shared(sandbox, 'a.test', site) == [
        ('plugins', 'akismet'), ('plugins', 'hello'), ('themes', 'twentytwentyfour')]


def not_converted(server, domain):
    """The result of a convert of `domain` alone that did not convert it."""
    with pytest.raises(PartlyFailed) as ended:
        mt.convert_sites(server.ctx, [domain])
    return ended.value.result['sites'][0]


def test_a_site_failing_verification_once_converted_is_put_back(initialized):
    htdocs = standalone(initialized, 'a.test')
    release = os.path.join(initialized.settings.releases_dir, 'wp-old', 'wp-content', 'themes')
    initialized.runner.site('a.test').paths = {'template_root': release}
    result = not_converted(initialized, 'a.test')
    assert result['status'] == 'failed'
    assert result['error'] == ('a.test failed verification: no_legacy_paths: option '
                               'template_root holds ' + release)
    assert result['hint'].startswith('it is back on its own core; ')
    assert not docroot_swap.is_shared(initialized.settings, htdocs)
    assert initialized.ctx.db.get_site('a.test') is None


@pytest.mark.parametrize('upload_path', ['files', '{root}/htdocs/files'])
def test_uploads_kept_elsewhere_than_wp_content_uploads_are_refused_before_anything(
        initialized, upload_path):
    """A relative upload_path is relative to the core: once converted, the shared one.
    An absolute one elsewhere in the site root is a place its user is not given."""
    htdocs = standalone(initialized, 'a.test')
    upload_path = upload_path.format(root=initialized.settings.site_root('a.test'))
    initialized.runner.site('a.test').paths = {'upload_path': upload_path}
    result = not_converted(initialized, 'a.test')
    assert result['status'] == 'refused'
    assert result['error'] == ('a.test keeps its uploads in {0} (its option upload_path): on '
                               'the shared core they live in its wp-content/uploads'.format(
                                   upload_path))
    assert 'wp option update upload_path ""' in result['hint']
    assert not docroot_swap.is_shared(initialized.settings, htdocs)
    assert not os.listdir(initialized.settings.backups_dir)


def test_a_site_with_a_file_system_mounted_in_it_is_refused_before_anything(initialized,
                                                                           bind_mount, tmp_path):
    """Its files move by rename, which a mount point refuses half-way."""
    htdocs = standalone(initialized, 'a.test')
    (tmp_path / 'volume').mkdir()
    bind_mount(tmp_path / 'volume', os.path.join(htdocs, 'wp-content', 'uploads'))
    result = not_converted(initialized, 'a.test')
    assert (result['status'], result['error']) == ('refused', '{0}/wp-content/uploads is mounted '
                                                   'in the tree of a.test'.format(htdocs))
    assert result['hint'].endswith('then run the same convert again')
    assert not os.listdir(initialized.settings.backups_dir)
