import os

import pytest

from sample_release import make_release_tree
from wo.multitenancy import docroot_swap, fs, layout, releases
from wo.multitenancy.errors import MTError


@pytest.fixture
def standalone_site(sandbox):
    """A sandbox shared core and a standalone site a.test with an upload and a drop-in."""
    make_release_tree(releases.path(sandbox, 'wp-20260101-000000'))
    releases.switch(sandbox, 'wp-20260101-000000')
    htdocs = layout.htdocs(sandbox, 'a.test')
    make_release_tree(htdocs)
    os.makedirs(os.path.join(htdocs, 'wp-content', 'uploads', '2026'))
    for name, text in (('wp-content/uploads/2026/photo.jpg', 'photo'), ('robots.txt', 'robots'),
                       ('wp-content/object-cache.php', '<?php // drop-in')):
        with open(os.path.join(htdocs, name), 'w') as f:
            f.write(text)
    return sandbox


def read(path):
    with open(path) as f:
        return f.read()


RELEASE = 'wp-20260101-000000'


def test_own_files_are_what_is_neither_wordpress_nor_shared(standalone_site):
    htdocs = layout.htdocs(standalone_site, 'a.test')
    assert docroot_swap.own_files(htdocs, releases.path(standalone_site, RELEASE)) == \
        ['robots.txt', 'wp-content/uploads']


def test_a_site_moves_to_the_shared_layout_with_its_own_files_and_drop_ins(standalone_site):
    settings, htdocs = standalone_site, layout.htdocs(standalone_site, 'a.test')
    release_dir = releases.path(settings, RELEASE)
    docroot_swap.build_shared(settings, 'a.test', ['object-cache.php'])
    assert not docroot_swap.is_shared(settings, htdocs)
    docroot_swap.swap(settings, 'a.test')
    assert docroot_swap.is_shared(settings, htdocs)
    moved = []
    docroot_swap.move_own_files(settings, 'a.test', release_dir, moved)
    docroot_swap.move_own_files(settings, 'a.test', release_dir, moved)  # done: nothing happens
    assert moved == ['robots.txt', 'wp-content/uploads']
    assert read(os.path.join(htdocs, 'wp-content', 'uploads', '2026', 'photo.jpg')) == 'photo'
    assert read(os.path.join(htdocs, 'robots.txt')) == 'robots'
    assert read(os.path.join(htdocs, 'wp-content', 'object-cache.php')) == '<?php // drop-in'
    docroot_swap.remove_old(settings, 'a.test')
    assert not os.path.exists(docroot_swap.swap_dir(settings, 'a.test'))


def test_the_undo_puts_own_files_and_the_old_tree_back(standalone_site):
    settings, htdocs = standalone_site, layout.htdocs(standalone_site, 'a.test')
    docroot_swap.build_shared(settings, 'a.test', [])
    docroot_swap.swap(settings, 'a.test')
    moved = []
    docroot_swap.move_own_files(settings, 'a.test', releases.path(settings, RELEASE), moved)
    docroot_swap.move_back(settings, 'a.test', moved)
    docroot_swap.swap(settings, 'a.test')
    assert not docroot_swap.is_shared(settings, htdocs)
    assert read(os.path.join(htdocs, 'wp-content', 'uploads', '2026', 'photo.jpg')) == 'photo'
    assert read(os.path.join(htdocs, 'robots.txt')) == 'robots'
    docroot_swap.remove_spare(settings, 'a.test', shared=False)  # the build's undo: not this
    assert docroot_swap.is_shared(settings, docroot_swap.swap_dir(settings, 'a.test'))
    docroot_swap.remove_spare(settings, 'a.test', shared=True)
    assert not os.path.exists(docroot_swap.swap_dir(settings, 'a.test'))


def test_a_tree_left_beside_the_site_is_rebuilt_unless_it_holds_uploads(standalone_site):
    settings = standalone_site
    docroot_swap.build_shared(settings, 'a.test', [])
    docroot_swap.discard_unswapped(settings, 'a.test')
    assert not os.path.exists(docroot_swap.swap_dir(settings, 'a.test'))
    docroot_swap.build_shared(settings, 'a.test', [])
    fs.write_file(os.path.join(docroot_swap.uploads(docroot_swap.swap_dir(settings, 'a.test')), 'x'), 'x')
    with pytest.raises(MTError, match='holds uploads'):
        docroot_swap.discard_unswapped(settings, 'a.test')


def test_swap_back_only_undoes_a_swap_that_happened(standalone_site):
    settings, htdocs = standalone_site, layout.htdocs(standalone_site, 'a.test')
    docroot_swap.build_shared(settings, 'a.test', [])
    docroot_swap.swap_back(settings, 'a.test', to_shared=True)  # the swap never ran
    assert not docroot_swap.is_shared(settings, htdocs)
    docroot_swap.swap(settings, 'a.test')
    docroot_swap.swap_back(settings, 'a.test', to_shared=True)
    assert not docroot_swap.is_shared(settings, htdocs)
