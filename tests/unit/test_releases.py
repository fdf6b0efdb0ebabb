import hashlib
import http.server
import os
import tarfile
import threading
from datetime import datetime
from functools import partial

import pytest

from sample_release import make_release_tarball, make_release_tree, tarball_with
from wo.multitenancy import fs, releases
from wo.multitenancy.errors import MTError
from wo.multitenancy.undo import Changes


@pytest.fixture
def serve(tmp_path):
    """serve(files) -> base URL of a real HTTP server on loopback serving `files`."""
    servers = []

    def start(files):
        root = tmp_path / 'served'
        root.mkdir(exist_ok=True)
        for name, data in files.items():
            (root / name).write_bytes(data)
        handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
        handler.log_message = lambda *a: None
        server = http.server.ThreadingHTTPServer(('127.0.0.3', 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return 'http://127.0.0.3:{0}/'.format(server.server_address[1])

    yield start
    for server in servers:
        server.shutdown()


def stage(settings, source):
    fs.make_dir(settings.releases_dir)
    with Changes() as changes:
        return releases.stage(settings, source, changes)


def test_names_come_from_the_clock_and_never_collide(tmp_path):
    now = datetime(2026, 1, 2, 3, 4, 5)
    assert releases.new_name(str(tmp_path), now) == 'wp-20260102-030405'
    (tmp_path / 'wp-20260102-030405').mkdir()
    assert releases.new_name(str(tmp_path), now) == 'wp-20260102-030405-2'


def test_read_version(tmp_path):
    tree = make_release_tree(str(tmp_path / 'r'), '6.1.9', 53496)
    assert releases.read_version(tree) == ('6.1.9', 53496)


def test_stage_from_a_tarball_installs_the_router_and_locks_the_release(sandbox, tmp_path):
    name = stage(sandbox, make_release_tarball(tmp_path))
    release = releases.path(sandbox, name)
    assert releases.read_version(release) == ('6.5.5', 57155)
    router = open(os.path.join(release, 'wp-config.php')).read()
    assert "$_SERVER['DOCUMENT_ROOT']" in router
    mode = os.stat(os.path.join(release, 'wp-load.php'))
    assert mode.st_uid == 0 and oct(mode.st_mode)[-3:] == '644'
    assert oct(os.stat(release).st_mode)[-3:] == '755'
    assert releases.names(sandbox) == [name]


def test_stage_from_a_directory(sandbox, tmp_path):
    tree = make_release_tree(str(tmp_path / 'unpacked' / 'wordpress'))
    name = stage(sandbox, os.path.dirname(tree))
    assert os.path.isfile(os.path.join(releases.path(sandbox, name), 'wp-config.php'))


def test_a_truncated_archive_is_refused_and_leaves_nothing(sandbox, tmp_path):
    good = make_release_tarball(tmp_path)
    truncated = str(tmp_path / 'truncated.tar.gz')
    with open(good, 'rb') as src, open(truncated, 'wb') as dst:
        dst.write(src.read()[:os.path.getsize(good) // 2])
    with pytest.raises(MTError, match='damaged|unpack'):
        stage(sandbox, truncated)
    assert os.listdir(sandbox.releases_dir) == []


def test_an_archive_without_wordpress_is_refused(sandbox, tmp_path):
    with pytest.raises(MTError, match='no WordPress release'):
        stage(sandbox, tarball_with(tmp_path, 'readme.txt'))
    assert os.listdir(sandbox.releases_dir) == []


def test_an_incomplete_release_is_refused(sandbox, tmp_path):
    tree = make_release_tree(str(tmp_path / 'w'))
    os.unlink(os.path.join(tree, 'wp-settings.php'))
    with pytest.raises(MTError, match='wp-settings.php missing'):
        stage(sandbox, tree)
    assert os.listdir(sandbox.releases_dir) == []


@pytest.mark.parametrize('member,kind,link', [
    ('../escape.php', tarfile.REGTYPE, ''), ('/etc/evil', tarfile.REGTYPE, ''),
    ('wordpress/link', tarfile.SYMTYPE, '/etc/passwd')])
def test_archive_members_cannot_escape(tmp_path, member, kind, link):
    with pytest.raises(MTError):
        fs.extract_archive(tarball_with(tmp_path, member, member_type=kind, linkname=link),
                           str(tmp_path / 'out'))
    assert not os.path.exists(str(tmp_path / 'escape.php'))


def test_a_download_with_the_published_checksum_is_staged(sandbox, tmp_path, serve):
    data = open(make_release_tarball(tmp_path), 'rb').read()
    base = serve({'wp.tar.gz': data, 'wp.tar.gz.sha1': hashlib.sha1(data).hexdigest().encode()})
    name = stage(sandbox, base + 'wp.tar.gz')
    assert releases.read_version(releases.path(sandbox, name))[0] == '6.5.5'


def test_a_checksum_mismatch_is_refused_and_leaves_nothing(sandbox, tmp_path, serve):
    data = open(make_release_tarball(tmp_path), 'rb').read()
    base = serve({'wp.tar.gz': data, 'wp.tar.gz.sha1': b'0' * 40})
    with pytest.raises(MTError, match='checksum mismatch'):
        stage(sandbox, base + 'wp.tar.gz')
    assert os.listdir(sandbox.releases_dir) == []


def test_a_missing_download_is_reported(sandbox, serve):
    base = serve({})
    with pytest.raises(MTError, match='HTTP 404'):
        stage(sandbox, base + 'nothing.tar.gz')


def test_switch_replaces_the_link_and_prune_keeps_current_and_previous(sandbox, tmp_path):
    fs.make_dir(sandbox.releases_dir)
    made = ['wp-20260101-00000{0}'.format(i) for i in range(5)]
    for name in made:
        make_release_tree(releases.path(sandbox, name))
    releases.switch(sandbox, made[0])
    assert releases.current(sandbox) == made[0]
    releases.switch(sandbox, made[1])
    assert os.readlink(sandbox.current_link) == 'releases/' + made[1]
    os.mkdir(os.path.join(sandbox.releases_dir, '.staging-wp-leftover'))
    removed = releases.prune(sandbox, keep=2, protected={made[0], made[1]})
    assert removed == [made[2]]
    assert releases.names(sandbox) == [made[0], made[1], made[3], made[4]]
    assert not os.path.exists(os.path.join(sandbox.releases_dir, '.staging-wp-leftover'))


def test_switch_to_a_missing_release_is_refused(sandbox):
    fs.make_dir(sandbox.releases_dir)
    with pytest.raises(MTError, match='does not exist'):
        releases.switch(sandbox, 'wp-20990101-000000')


def test_core_entries_link_the_entry_points_not_the_configs(tmp_path):
    tree = make_release_tree(str(tmp_path / 'w'))
    entries = releases.core_entries(tree)
    assert entries[:2] == ['wp-admin', 'wp-includes']
    assert 'wp-login.php' in entries and 'wp-cron.php' in entries
    assert not [e for e in entries if e.startswith('wp-config') or e == 'index.php']


def test_previous_is_the_newest_older_release(sandbox):
    fs.make_dir(sandbox.releases_dir)
    for name in ('wp-20260101-000000', 'wp-20260201-000000', 'wp-20260301-000000'):
        make_release_tree(releases.path(sandbox, name))
    assert releases.previous(sandbox, 'wp-20260301-000000') == 'wp-20260201-000000'
    assert releases.previous(sandbox, 'wp-20260101-000000') is None


def test_staging_clears_what_a_killed_staging_left(sandbox, tmp_path):
    fs.make_dir(sandbox.releases_dir)
    name = releases.new_name(sandbox.releases_dir)
    for leftover in ('.staging-' + name, '.staging-' + name + '.unpack', '.mt-download-x'):
        os.mkdir(os.path.join(sandbox.releases_dir, leftover))
    staged = stage(sandbox, make_release_tarball(tmp_path))
    assert os.listdir(sandbox.releases_dir) == [staged]


@pytest.mark.parametrize('version, than, newer', [
    ('6.5.5', '6.5', True), ('6.5', '6.5.0', False), ('6.4.5', '6.5.5', False),
    ('6.10', '6.9.9', True), ('6.6-RC1', '6.5.5', True)])
def test_which_wordpress_version_is_newer(version, than, newer):
    assert releases.is_newer(version, than) is newer
