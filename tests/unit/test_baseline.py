import os
import zipfile

import pytest

from wo.multitenancy import baseline, fs
from wo.multitenancy.errors import InvalidInput, MTError
from wo.multitenancy.undo import Changes


def test_changes_bump_the_version_and_no_change_keeps_it():
    start = {'version': 3, 'theme': 'tt4', 'plugins': ['a'], 'auto_activate': True}
    assert baseline.changed(start, ['a']) is start
    grown = baseline.changed(start, ['b'], theme='tt3')
    assert grown == {'version': 4, 'theme': 'tt3', 'plugins': ['a', 'b'], 'auto_activate': True}
    assert baseline.changed(grown, remove_plugins=['a'])['plugins'] == ['b']


def test_pins_are_kept_per_kind_and_latest_unpins():
    start = {'version': 3, 'theme': 'tt4', 'plugins': ['a'], 'auto_activate': True}
    pinned = baseline.pinned(start, 'plugins', {'a': '1.2', 'b': '2.0'})
    assert pinned == dict(start, versions={'plugins': {'a': '1.2', 'b': '2.0'}})
    assert baseline.pins(pinned, 'plugins') == {'a': '1.2', 'b': '2.0'}
    assert baseline.pins(pinned, 'themes') == {} and baseline.pins(None, 'plugins') == {}
    assert baseline.pinned(pinned, 'plugins', {'a': 'latest', 'b': 'latest'}) == start
    assert baseline.pinned(start, 'themes', {'tt4': 'latest'}) == start


@pytest.mark.parametrize('text', ['akismet', 'akismet=', 'Akismet=1.0', 'akismet=1.0; rm',
                                  '=1.0', '../x=1.0', 'akismet=-1'])
def test_a_pin_that_is_not_slug_equals_version_or_latest_is_refused(text):
    with pytest.raises(InvalidInput, match='is not a pin such as akismet=5.3.1'):
        baseline.parse_pin(text)


def test_a_pin_is_a_slug_and_a_version_or_latest():
    assert baseline.parse_pin('akismet=5.3.1') == ('akismet', '5.3.1')
    assert baseline.parse_pin('twentytwentyfour=latest') == ('twentytwentyfour', 'latest')


@pytest.mark.parametrize('item,slug', [('akismet', 'akismet'), ('x/akismet.zip', 'akismet'),
                                       ('x/redis-cache.latest-stable.zip', 'redis-cache'),
                                       ('x/my-plugin/', 'my-plugin')])
def test_slug_of(item, slug, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'x' / 'my-plugin').mkdir(parents=True)
    for name in ('akismet.zip', 'redis-cache.latest-stable.zip'):
        (tmp_path / 'x' / name).write_bytes(b'')
    assert baseline.slug_of(item) == slug


def test_a_bad_slug_is_refused():
    with pytest.raises(InvalidInput):
        baseline.slug_of('Evil Plugin')


@pytest.mark.parametrize('typo', ['./akismet.zip', '/nonexistent/plugin/', 'akismet.zip'])
def test_a_path_that_does_not_exist_is_refused_not_downloaded(typo):
    with pytest.raises(InvalidInput, match='no such file'):
        baseline.slug_of(typo)


@pytest.fixture
def shared(sandbox):
    for kind in ('plugins', 'themes', 'mu-plugins'):
        fs.make_dir(os.path.join(sandbox.shared_content, kind))
    fs.make_dir(os.path.dirname(sandbox.baseline_file))
    return sandbox


def test_a_plugin_comes_from_the_release_bundle(shared, tmp_path):
    release = tmp_path / 'release'
    (release / 'wp-content' / 'plugins').mkdir(parents=True)
    (release / 'wp-content' / 'plugins' / 'hello.php').write_text('<?php // Hello')
    with Changes() as changes:
        assert baseline.ensure(shared, 'plugins', 'hello', str(release), changes) == 'hello'
    assert os.path.isfile(os.path.join(shared.shared_content, 'plugins', 'hello.php'))


def test_a_plugin_comes_from_a_zip_and_a_failure_removes_it(shared, tmp_path):
    archive = tmp_path / 'my-plugin.zip'
    with zipfile.ZipFile(archive, 'w') as z:
        z.writestr('my-plugin/my-plugin.php', '<?php /* Plugin Name: Mine */')
    target = os.path.join(shared.shared_content, 'plugins', 'my-plugin')
    with pytest.raises(RuntimeError):
        with Changes() as changes:
            baseline.ensure(shared, 'plugins', str(archive), str(tmp_path), changes)
            assert os.path.isfile(os.path.join(target, 'my-plugin.php'))
            raise RuntimeError('a later step failed')
    assert not os.path.exists(target)


def test_write_and_restore(shared):
    with Changes() as changes:
        baseline.write(shared, baseline.initial(shared), changes)
    first = baseline.read(shared)
    assert first['version'] == 1 and first['plugins'] == list(shared.baseline_plugins)
    with pytest.raises(RuntimeError):
        with Changes() as changes:
            baseline.write(shared, baseline.changed(first, ['x']), changes)
            raise RuntimeError()
    assert baseline.read(shared) == first


def test_broken_json_is_reported(shared):
    with open(shared.baseline_file, 'w') as f:
        f.write('{not json')
    with pytest.raises(MTError, match='not valid JSON'):
        baseline.read(shared)
