"""site_files: root's work in a tree a site can change never follows the site's links."""
import os
import stat
import subprocess
import time

import pytest

from wo.multitenancy import fs, site_files
from wo.multitenancy.errors import MTError


@pytest.fixture
def site(tmp_path):
    """A site root of root's holding a tree a site would own: old/wp-content/uploads/a.jpg,
    and a new tree beside it; `outside` is what a link would point at."""
    root = tmp_path / 'site'
    for folder in ('old/wp-content/uploads', 'new/wp-content', 'outside/uploads'):
        (root.parent / folder if folder.startswith('outside') else root / folder).mkdir(parents=True)
    (root / 'old/wp-content/uploads/a.jpg').write_text('picture')
    (tmp_path / 'outside/uploads/secret').write_text('secret')
    os.chmod(root, 0o755)
    return root


def test_a_move_lands_the_entry_in_our_tree(site):
    site_files.move(str(site), 'old/wp-content/uploads', 'new/wp-content/uploads')
    assert (site / 'new/wp-content/uploads/a.jpg').read_text() == 'picture'


def test_a_parent_swapped_for_a_link_is_not_followed(site):
    os.rename(site / 'old/wp-content', site / 'old/real')
    os.symlink(site.parent / 'outside', site / 'old/wp-content')
    with pytest.raises(MTError, match='not a directory that is not a link'):
        site_files.move(str(site), 'old/wp-content/uploads', 'new/wp-content/uploads')
    assert (site.parent / 'outside/uploads/secret').exists()
    assert not (site / 'new/wp-content/uploads').exists()


def test_a_move_never_replaces_what_is_there(site):
    (site / 'new/wp-content/uploads').mkdir()
    (site / 'new/wp-content/uploads/b.jpg').write_text('other')
    with pytest.raises(MTError, match='both exist'):
        site_files.move(str(site), 'old/wp-content/uploads', 'new/wp-content/uploads')


def test_an_anchor_the_site_could_change_is_refused(site):
    os.chmod(site, 0o777)
    with pytest.raises(MTError, match='only root may change'):
        site_files.read_file(str(site), 'old/wp-content/uploads/a.jpg')


def test_only_plain_files_are_read(site):
    os.symlink(site.parent / 'outside/uploads/secret', site / 'old/wp-content/link.mo')
    os.mkfifo(site / 'old/wp-content/fifo.mo')
    assert site_files.read_file(str(site), 'old/wp-content/uploads/a.jpg') == b'picture'
    for name in ('link.mo', 'fifo.mo'):
        with pytest.raises(MTError):
            site_files.read_file(str(site), 'old/wp-content/' + name)
    with pytest.raises(MTError, match='larger than'):
        site_files.read_file(str(site), 'old/wp-content/uploads/a.jpg', limit=3)


def test_taking_a_tree_makes_it_roots_and_refuses_a_link(site):
    (site / 'conf/nginx').mkdir(parents=True)
    (site / 'conf/nginx/ssl.conf').write_text('ssl')
    os.chmod(site / 'conf/nginx/ssl.conf', 0o666)
    os.chown(site / 'conf', 33, 33)
    site_files.take_tree(str(site / 'conf'))
    assert os.stat(site / 'conf').st_uid == 0
    assert stat.S_IMODE(os.stat(site / 'conf/nginx/ssl.conf').st_mode) == 0o644
    os.symlink('/etc/passwd', site / 'conf/nginx/evil.conf')
    with pytest.raises(MTError, match='is a link, a hard link or a special file'):
        site_files.take_tree(str(site / 'conf'))
    site_files.take_tree(str(site / 'conf'), keep_links=True)  # logs/: its links stay links
    assert os.lstat(site / 'conf/nginx/evil.conf').st_uid == 0
    assert os.stat('/etc/passwd').st_uid == 0


def test_taking_a_tree_refuses_a_hard_link(site):
    (site / 'conf/nginx').mkdir(parents=True)
    (site / 'secret').write_text('root only')
    os.chmod(site / 'secret', 0o600)
    os.link(site / 'secret', site / 'conf/nginx/evil.conf')
    with pytest.raises(MTError, match='a hard link'):
        site_files.take_tree(str(site / 'conf'))
    assert stat.S_IMODE(os.stat(site / 'secret').st_mode) == 0o600
    assert stat.S_IMODE(os.stat(site / 'conf/nginx/evil.conf').st_mode) == 0o600


def test_a_tree_is_given_away_deepest_first_links_not_followed(site):
    os.symlink(site.parent / 'outside', site / 'new/wp-content/link')
    site_files.give_tree(str(site / 'new'), (33, 33))
    for path in ('new', 'new/wp-content'):
        assert os.stat(site / path).st_uid == 33
    assert os.lstat(site / 'new/wp-content/link').st_uid == 33
    assert os.stat(site.parent / 'outside').st_uid == 0


def test_hand_over_gives_a_tree_by_descriptor_and_keeps_a_file_with_other_names(tmp_path):
    """What another site's user put in the tree is taken too (it would keep a file to
    write there); root's files and a file with other names are kept."""
    old, new, other = (12345, 12345), (23456, 23456), (34567, 34567)
    content = tmp_path / 'wp-content'
    (content / 'uploads' / '2026').mkdir(parents=True)
    os.chmod(tmp_path, 0o755)
    os.chmod(content, 0o755)
    (content / 'uploads' / 'planted').mkdir()
    for name in ('2026/photo.jpg', '2026/twin.jpg', 'planted/app.js'):
        (content / 'uploads' / name).write_text('x')
    os.link(content / 'uploads' / '2026' / 'twin.jpg', tmp_path / 'elsewhere.jpg')
    (content / 'uploads' / 'root-owned.txt').write_text('x')
    for path in ('uploads', 'uploads/2026', 'uploads/2026/photo.jpg', 'uploads/2026/twin.jpg'):
        os.chown(content / path, *old)
    for path in ('uploads/planted', 'uploads/planted/app.js'):
        os.chown(content / path, *other)
    kept = site_files.hand_over(str(content), 'uploads', old, new, new + (0o750,))
    assert kept == [(str(content / 'uploads' / '2026' / 'twin.jpg'),
                     'it has other names (a hard link): it keeps its owner')]
    owners = {p: os.stat(content / 'uploads' / p)[4:6] for p in (
        '', '2026', '2026/photo.jpg', '2026/twin.jpg', 'root-owned.txt', 'planted',
        'planted/app.js')}
    assert owners == {'': new, '2026': new, '2026/photo.jpg': new, '2026/twin.jpg': old,
                      'root-owned.txt': (0, 0), 'planted': new, 'planted/app.js': new}
    assert os.stat(content / 'uploads').st_mode & 0o777 == 0o750
    assert site_files.hand_over(str(content), 'uploads', old, new, new + (0o750,),
                                linked_too=True) == []
    assert os.stat(tmp_path / 'elsewhere.jpg')[4:6] == new


def test_hand_over_shuts_a_directory_nested_too_deep_instead_of_failing(tmp_path):
    """Any user that could write the tree can nest directories past the walk's depth to
    fail a hand-over: the one past it becomes root's, 0700, and the rest is handed over."""
    old, new = (12345, 12345), (23456, 23456)
    content = tmp_path / 'wp-content'
    deep = content / 'uploads' / '/'.join(['d'] * (site_files.MAX_WALK_DEPTH + 2))
    deep.mkdir(parents=True)
    os.chmod(tmp_path, 0o755)
    os.chmod(content, 0o755)
    for path in [content / 'uploads'] + list(deep.parents)[:site_files.MAX_WALK_DEPTH + 1] + [deep]:
        os.chown(path, *old)
    kept = site_files.hand_over(str(content), 'uploads', old, new, new + (0o750,))
    shut = content / 'uploads' / '/'.join(['d'] * (site_files.MAX_WALK_DEPTH + 1))
    assert kept == [(str(shut), "nested too deep: made root's, 0700")]
    assert (os.stat(shut)[4:6], os.stat(shut).st_mode & 0o777) == ((0, 0), 0o700)
    assert os.stat(shut.parent)[4:6] == new and os.stat(deep)[4:6] == old


def test_removing_a_tree_nested_past_the_walks_depth_removes_it_all(site):
    """Any user that could write the tree can nest directories past the walk's depth
    to fail a delete: the tree goes whole, its links not followed, nothing left."""
    bottom = site / 'old/wp-content/uploads' / '/'.join(['d'] * (2 * site_files.MAX_WALK_DEPTH + 7))
    bottom.mkdir(parents=True)
    (bottom / 'file').write_text('x')
    os.symlink(site.parent / 'outside', bottom / 'link')
    os.mkfifo(bottom.parent / 'fifo')
    site_files.remove_tree(str(site))
    assert sorted(os.listdir(site.parent)) == ['outside']
    assert (site.parent / 'outside/uploads/secret').read_text() == 'secret'


def test_what_an_earlier_remove_left_nested_too_deep_goes_with_the_next(site):
    """Never moved over a name the stopped one left (an empty directory would be
    replaced, and its removal then fail)."""
    left = site.parent / '.site.deeper'
    (left / 'n' / '/'.join(['d'] * (site_files.MAX_WALK_DEPTH + 3))).mkdir(parents=True)
    for name in ('1', '2'):
        (left / name).mkdir()
    (left / '3').write_text('a name the next one cannot take')
    site_files.remove_tree(str(site))
    assert sorted(os.listdir(site.parent)) == ['outside']


def test_a_chain_that_keeps_growing_ends_the_removal_with_an_error(site, monkeypatch):
    """A process making directories as fast as they are removed cannot keep root (and
    the lock its command holds) busy forever: one pass allowed stands for it here."""
    monkeypatch.setattr(site_files, 'MAX_PASSES', 1)
    (site / '/'.join(['d'] * (3 * site_files.MAX_WALK_DEPTH + 9))).mkdir(parents=True)
    with pytest.raises(MTError, match='grows as fast as it is removed'):
        site_files.remove_tree(str(site))
    monkeypatch.setattr(site_files, 'MAX_PASSES', 64)
    site_files.remove_tree(str(site))  # the same call again finishes
    assert sorted(os.listdir(site.parent)) == ['outside']


def test_a_process_of_the_site_writing_in_its_tree_meanwhile_fails_no_removal(site):
    """Each directory is root's alone before it is listed: what a running process of
    the site (its working directory in the tree) makes there after that fails."""
    uploads = site / 'old/wp-content/uploads'
    for path in (uploads, uploads / 'a.jpg'):
        os.chown(path, 12345, 12345)
    writer = subprocess.Popen(
        ['setpriv', '--reuid', '12345', '--regid', '12345', '--clear-groups', 'sh', '-c',
         'while :; do mkdir d$$$(date +%N) 2>/dev/null; done'], cwd=uploads)
    try:
        while len(os.listdir(uploads)) < 50:
            time.sleep(0.01)
        site_files.remove_tree(str(site))
    finally:
        writer.kill()
        writer.wait()
    assert sorted(os.listdir(site.parent)) == ['outside']


def test_hand_over_leaves_a_file_system_mounted_in_the_tree_as_it_is(tmp_path, bind_mount):
    """An operator's mount in a site's uploads (media several sites read) is not given
    to the site's user; the rest of the tree is."""
    old, new = (12345, 12345), (23456, 23456)
    content, media = tmp_path / 'wp-content', tmp_path / 'media library'
    (content / 'uploads' / 'the media').mkdir(parents=True)
    media.mkdir()
    (media / 'shared.jpg').write_text('every site shows it')
    (content / 'uploads' / 'own.jpg').write_text('its own')
    os.chmod(tmp_path, 0o755)
    os.chmod(content, 0o755)
    for path in (content / 'uploads', content / 'uploads' / 'own.jpg'):
        os.chown(path, *old)
    bind_mount(media, content / 'uploads' / 'the media')
    assert fs.mounted_in(str(content)) == [str(content / 'uploads' / 'the media')]
    kept = site_files.hand_over(str(content), 'uploads', old, new, new + (0o750,))
    assert kept == [(str(content / 'uploads' / 'the media'),
                     'a file system is mounted there: left as it is')]
    assert os.stat(content / 'uploads' / 'own.jpg')[4:6] == new
    assert os.stat(media / 'shared.jpg')[4:6] == (0, 0) and os.stat(media)[4:6] == (0, 0)
