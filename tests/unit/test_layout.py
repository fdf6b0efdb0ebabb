import os

import pytest

from sample_release import make_release_tree
from wo.multitenancy import layout, releases
from wo.multitenancy.undo import Changes

@pytest.fixture
def core(sandbox):
    make_release_tree(releases.path(sandbox, 'wp-20260101-000000'))
    releases.switch(sandbox, 'wp-20260101-000000')
    return sandbox


def test_a_site_is_links_to_the_shared_core_plus_its_own_content(core):
    with Changes() as changes:
        layout.build(core, 'a.test', changes)
    docroot = layout.htdocs(core, 'a.test')
    assert os.readlink(os.path.join(docroot, 'wp')) == core.current_link
    assert os.readlink(os.path.join(docroot, 'wp-includes')) == 'wp/wp-includes'
    stub = os.stat(os.path.join(docroot, layout.ENTRY_STUB))
    for entry in ('index.php', 'wp-login.php', 'wp-admin/admin.php'):
        assert os.path.samestat(os.stat(os.path.join(docroot, entry)), stub), entry
    assert not os.path.islink(os.path.join(docroot, 'wp-admin'))
    content = os.path.join(docroot, 'wp-content')
    assert os.readlink(os.path.join(content, 'plugins')) == core.shared_content + '/plugins'
    for own in ('uploads', 'cache'):
        assert not os.path.islink(os.path.join(content, own))
    assert 'readlink(' in open(os.path.join(docroot, 'index.php')).read()


def test_a_failed_create_removes_the_tree(core):
    with pytest.raises(RuntimeError):
        with Changes() as changes:
            layout.build(core, 'b.test', changes)
            raise RuntimeError()
    assert not os.path.exists(core.site_root('b.test'))


def test_own_disk_usage_leaves_uploads_out(core):
    with Changes() as changes:
        layout.build(core, 'a.test', changes)
    small = layout.own_disk_usage(core, 'a.test')
    with open(os.path.join(layout.htdocs(core, 'a.test'), 'wp-content', 'uploads', 'big'), 'wb') as f:
        f.write(b'x' * 2000000)
    assert layout.own_disk_usage(core, 'a.test') == small < 100 * 1024
