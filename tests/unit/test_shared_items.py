"""Versions of the shared plugins and themes on disk (shared_items.py), in a sandbox root."""
import json
import os
import shutil
import zipfile

import pytest
import requests

from wo.multitenancy import fs, shared_items, sources
from wo.multitenancy.errors import InvalidInput, MTError
from wo.multitenancy.undo import Changes


FORGET = [].append  # what adopt asks to drop from OPcache


def make_plugin(folder, version, main='mt-marker.php', extra=''):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, main), 'w') as f:
        f.write('<?php\n/**\n * Plugin Name: MT Marker\n * Version: {0}\n */\n{1}'.format(
            version, extra))
    return folder


@pytest.fixture
def shared(sandbox):
    """A shared wp-content holding plugin mt-marker 1.0 as a plain folder (as baseline
    puts it) and the one-file plugin hello.php."""
    plugins = os.path.join(sandbox.shared_content, 'plugins')
    make_plugin(os.path.join(plugins, 'mt-marker'), '1.0')
    with open(os.path.join(plugins, 'hello.php'), 'w') as f:
        f.write('<?php\n/* Plugin Name: Hello Dolly\nVersion: 1.7.2 */\n')
    return sandbox


def test_a_plain_folder_is_adopted_as_a_version_behind_a_link(shared):
    assert shared_items.in_use(shared, 'plugins', 'mt-marker') is None
    forgotten = []
    assert shared_items.adopt(shared, 'plugins', 'mt-marker', forgotten.append) == '1.0'
    link = shared_items.link_path(shared, 'plugins', 'mt-marker')
    assert forgotten == [link]  # compiled from the folder: gone from OPcache
    assert os.readlink(link) == '../.versions/plugins/mt-marker/1.0'
    assert os.path.isfile(os.path.join(link, 'mt-marker.php'))
    assert shared_items.adopt(shared, 'plugins', 'mt-marker', FORGET) == '1.0'  # idempotent
    assert shared_items.kept(shared, 'plugins', 'mt-marker') == ['1.0']
    assert not [n for n in os.listdir(os.path.dirname(link)) if '.mt-' in n]


def test_one_file_plugins_have_no_versions(shared):
    assert shared_items.slugs(shared, 'plugins') == ['mt-marker']
    with pytest.raises(InvalidInput, match='not in the shared set'):
        shared_items.require_shared(shared, 'plugins', 'akismet')
    with pytest.raises(InvalidInput, match='not a plugin slug'):
        shared_items.require_shared(shared, 'plugins', '../etc')


def test_a_staged_version_is_kept_and_switched_to_in_one_link(shared, tmp_path):
    shared_items.adopt(shared, 'plugins', 'mt-marker', FORGET)
    source = make_plugin(str(tmp_path / 'new' / 'mt-marker'), '1.1')
    with Changes() as changes:
        assert shared_items.stage(shared, 'plugins', 'mt-marker', source, None, changes) == ('1.1', True)
    assert shared_items.in_use(shared, 'plugins', 'mt-marker') == '1.0'
    times = {os.stat(os.path.join(shared_items.version_path(shared, 'plugins', 'mt-marker', v),
                                  'mt-marker.php')).st_mtime for v in ('1.0', '1.1')}
    times = {int(t) for t in times}
    assert len(times) == 2  # OPcache tells files apart by their mtime
    shared_items.switch(shared, 'plugins', 'mt-marker', '1.1')
    assert shared_items.in_use(shared, 'plugins', 'mt-marker') == '1.1'
    with Changes() as changes:  # the same version again: nothing new
        assert shared_items.stage(shared, 'plugins', 'mt-marker', source, None, changes) == ('1.1', False)


def test_a_zip_as_wordpress_org_ships_it_is_staged(shared, tmp_path):
    source = make_plugin(str(tmp_path / 'src' / 'mt-marker'), '2.0')
    archive = str(tmp_path / 'mt-marker.2.0.zip')
    with zipfile.ZipFile(archive, 'w') as z:
        z.write(os.path.join(source, 'mt-marker.php'), 'mt-marker/mt-marker.php')
    with Changes() as changes:
        assert shared_items.stage(shared, 'plugins', 'mt-marker', archive, None, changes)[0] == '2.0'
    staged = shared_items.version_path(shared, 'plugins', 'mt-marker', '2.0')
    assert os.stat(staged).st_uid == 0 and oct(os.stat(staged).st_mode & 0o777) == '0o755'


def test_a_failed_command_removes_the_version_it_staged(shared, tmp_path):
    source = make_plugin(str(tmp_path / 'new' / 'mt-marker'), '1.1')
    with pytest.raises(MTError, match='later step'):
        with Changes() as changes:
            shared_items.stage(shared, 'plugins', 'mt-marker', source, None, changes)
            raise MTError('a later step failed')
    assert shared_items.kept(shared, 'plugins', 'mt-marker') == []
    assert os.listdir(os.path.dirname(shared_items.version_path(
        shared, 'plugins', 'mt-marker', 'x'))) == []


def test_a_version_that_drops_the_main_file_is_refused(shared, tmp_path):
    source = make_plugin(str(tmp_path / 'new' / 'mt-marker'), '1.1', main='renamed.php')
    with pytest.raises(MTError, match='has no mt-marker.php'):
        with Changes() as changes:
            shared_items.stage(shared, 'plugins', 'mt-marker', source, None, changes)


def test_a_tree_that_is_no_plugin_or_names_no_usable_version_is_refused(shared, tmp_path):
    empty = tmp_path / 'nothing'
    empty.mkdir()
    with pytest.raises(MTError, match='does not hold the plugin mt-marker'):
        with Changes() as changes:
            shared_items.stage(shared, 'plugins', 'mt-marker', str(empty), None, changes)
    odd = make_plugin(str(tmp_path / 'odd' / 'mt-marker'), '1.1/../../x')
    with pytest.raises(MTError, match='names no usable Version'):
        with Changes() as changes:
            shared_items.stage(shared, 'plugins', 'mt-marker', odd, None, changes)


def test_a_source_that_is_not_a_zip_folder_or_url_is_refused(tmp_path):
    (tmp_path / 'plugin.tar').write_text('x')
    with pytest.raises(InvalidInput, match='not a .zip, a folder'):
        shared_items.check_source(str(tmp_path / 'plugin.tar'))
    shared_items.check_source('https://example.com/p.zip')
    shared_items.check_source(str(tmp_path))


def test_versions_are_ordered_as_numbers_and_pruned_but_never_one_in_use(shared):
    for version in ('1.9', '1.10', '1.2', '2.0-beta', '2.0'):
        make_plugin(shared_items.version_path(shared, 'plugins', 'mt-marker', version), version)
    assert shared_items.kept(shared, 'plugins', 'mt-marker') == ['1.2', '1.9', '1.10', '2.0-beta', '2.0']
    assert shared_items.prune(shared, 'plugins', 'mt-marker', 2, {'1.2'}) == ['1.9', '1.10']
    assert shared_items.kept(shared, 'plugins', 'mt-marker') == ['1.2', '2.0-beta', '2.0']


def test_the_canary_set_differs_from_the_shared_one_in_the_version_proven(shared):
    shared_items.adopt(shared, 'plugins', 'mt-marker', FORGET)
    make_plugin(shared_items.version_path(shared, 'plugins', 'mt-marker', '1.1'), '1.1')
    view = shared_items.canary_set(shared, 'plugins', 'mt-marker', '1.1')
    assert os.readlink(os.path.join(view, 'mt-marker')) == shared_items.version_path(
        shared, 'plugins', 'mt-marker', '1.1')
    assert os.path.isfile(os.path.join(view, 'hello.php'))
    shared_items.remove_canary_set(shared, 'plugins')
    assert not os.path.exists(view)


def test_a_site_leaving_the_shared_core_gets_plain_copies(shared, tmp_path):
    shared_items.adopt(shared, 'plugins', 'mt-marker', FORGET)
    shared_items.copy_set(shared, 'plugins', str(tmp_path / 'own'))
    own = tmp_path / 'own' / 'mt-marker'
    assert own.is_dir() and not own.is_symlink() and (own / 'mt-marker.php').is_file()
    assert (tmp_path / 'own' / 'hello.php').is_file()


def test_published_checksums_must_match_every_file(tmp_path):
    tree = make_plugin(str(tmp_path / 'mt-marker'), '1.0')
    digest = shared_items.fs.sha256(os.path.join(tree, 'mt-marker.php'))
    shared_items.check_published_sums(tree, {'mt-marker.php': [digest]})
    with pytest.raises(MTError, match='changed or unknown: mt-marker.php'):
        shared_items.check_published_sums(tree, {'mt-marker.php': ['0' * 64]})
    with pytest.raises(MTError, match='missing: readme.txt'):
        shared_items.check_published_sums(tree, {'mt-marker.php': [digest], 'readme.txt': ['1']})


def test_wordpress_org_checksums_are_read_as_lists(monkeypatch):
    class Answer:
        @staticmethod
        def json():
            return {'files': {'a.php': {'md5': 'x', 'sha256': 'aa'},
                              'b.php': {'md5': ['y'], 'sha256': ['bb', 'cc']}}}
    monkeypatch.setattr(sources, '_get', lambda url: Answer)
    assert sources.plugin_checksums('mt-marker', '1.0') == {'a.php': ['aa'], 'b.php': ['bb', 'cc']}


def test_wordpress_org_unreachable_or_answering_nonsense_is_an_error_not_no_update(monkeypatch):
    def unreachable(url, timeout):
        raise requests.ConnectionError('Failed to resolve api.wordpress.org')
    monkeypatch.setattr(sources.requests, 'get', unreachable)
    with pytest.raises(MTError, match='cannot ask wordpress.org for the plugin akismet: Failed to '
                                      'resolve') as failed:
        sources.latest_item_version('plugins', 'akismet')
    assert failed.value.hint == 'check the network, or pass --core-only'
    monkeypatch.setattr(sources.requests, 'get', lambda url, timeout: Answer(502, '<html>'))
    with pytest.raises(MTError, match=r'no version of the theme x \(HTTP 502\)'):
        sources.latest_item_version('themes', 'x')
    monkeypatch.setattr(sources.requests, 'get',
                        lambda url, timeout: Answer(404, '{"error": "Plugin not found."}'))
    assert sources.latest_item_version('plugins', 'my-own') is None
    monkeypatch.setattr(sources.requests, 'get',
                        lambda url, timeout: Answer(404, '{"error": "closed"}'))
    assert sources.latest_item_version('plugins', 'taken-down') == sources.CLOSED


class Answer:
    def __init__(self, status_code, text):
        self.status_code, self.text = status_code, text

    def json(self):
        return json.loads(self.text)


def test_a_source_holding_a_link_is_refused_and_nothing_is_kept(shared, tmp_path):
    source = make_plugin(str(tmp_path / 'new' / 'mt-marker'), '1.1')
    os.symlink('/etc/shadow', os.path.join(source, 'readme.txt'))
    with pytest.raises(MTError, match='readme.txt is not a plain file or folder'):
        with Changes() as changes:
            shared_items.stage(shared, 'plugins', 'mt-marker', source, None, changes)
    assert shared_items.kept(shared, 'plugins', 'mt-marker') == []


def test_a_folder_swapped_for_a_link_while_it_is_copied_is_refused(tmp_path, monkeypatch):
    source = make_plugin(str(tmp_path / 'new' / 'mt-marker'), '1.1')
    make_plugin(os.path.join(source, 'includes'), '1.1', main='a.php')
    secret = make_plugin(str(tmp_path / 'secret'), '0', main='a.php')
    judge = os.stat

    def judged_then_swapped(name, *args, **kwargs):  # after the copy looked at it
        found = judge(name, *args, **kwargs)
        if name == 'includes':
            shutil.rmtree(os.path.join(source, 'includes'))
            os.symlink(secret, os.path.join(source, 'includes'))
        return found
    monkeypatch.setattr(os, 'stat', judged_then_swapped)
    with pytest.raises(MTError, match='includes is not a plain file or folder'):
        fs.copy_plain_tree(source, str(tmp_path / 'copy'))
    assert not os.path.exists(str(tmp_path / 'copy' / 'includes' / 'a.php'))


def test_leftovers_of_a_killed_run_are_no_plugins(shared):
    os.makedirs(shared_items.link_path(shared, 'plugins', 'mt-marker') + '.mt-adopt')
    assert shared_items.slugs(shared, 'plugins') == ['mt-marker']
    with pytest.raises(InvalidInput):
        shared_items.check_slug('plugins', 'mt-marker.mt-adopt')
    shared_items.adopt(shared, 'plugins', 'mt-marker', FORGET)
    assert not os.path.exists(shared_items.link_path(shared, 'plugins', 'mt-marker') + '.mt-adopt')
