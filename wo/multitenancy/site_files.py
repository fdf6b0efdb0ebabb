"""The one place where root works in a tree a site's PHP can change while it runs.

A site runs as the web user and owns its uploads (before `convert`, its whole tree): it
can swap any directory of its own for a link, or a file for a FIFO, at any moment. So
nothing here follows a path through such a tree: every directory is opened one
component at a time with O_NOFOLLOW and then worked in through its descriptor (the
*at() calls), files are opened with O_NOFOLLOW and checked with fstat() before they are
read, and trees are walked with os.fwalk, which does not follow links either. A link,
or anything that is not a plain file or directory where one is expected, raises
MTError naming it. The anchor of every path (a site root) must itself be a directory
the site cannot change: root's, in a directory of root's.
"""
import os
import stat
from contextlib import contextmanager

from wo.multitenancy.errors import MTError

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
MAX_FILE = 64 << 20  # bytes read from a site's file into a root-owned one


@contextmanager
def opened_dir(anchor, relative=''):
    """A descriptor of directory `anchor`/`relative`, each component of `relative`
    opened without following a link. `anchor` must be a directory only root may change.
    Raises MTError when it is not, or when a component is a link or no directory."""
    fd = os.open(anchor, _DIR_FLAGS)
    try:
        st = os.fstat(fd)
        if st.st_uid != 0 or st.st_mode & 0o022:
            raise MTError('{0} is not a directory only root may change: root does not work '
                          'in a tree the site could rearrange'.format(anchor))
        for part in [p for p in relative.split('/') if p]:
            if part == '..':
                raise MTError('{0}/{1}: ".." is not followed'.format(anchor, relative))
            try:
                inner = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except OSError as e:
                raise MTError('{0}/{1} is not a directory that is not a link ({2})'.format(
                    anchor, relative, e.strerror))
            os.close(fd)
            fd = inner
        yield fd
    finally:
        os.close(fd)


def take_dir(path, owner_ids=(0, 0), mode=0o755):
    """Give directory `path` (not a link, in a directory of root's) to `owner_ids` with
    `mode`; returns its owner and mode before, for give_back. Once a site root is root's,
    the site can no longer replace its entries (htdocs, conf, wp-config.php)."""
    with opened_dir(os.path.dirname(path), os.path.basename(path)) as fd:
        before = os.fstat(fd)
        os.fchown(fd, *owner_ids)
        os.fchmod(fd, mode)
    return before.st_uid, before.st_gid, stat.S_IMODE(before.st_mode)


def take_tree(path, keep_links=False):
    """Make the tree at `path` (in a directory of root's) root's alone: directories 0755,
    files keep their mode less group and other write. Each directory becomes root's
    before its entries are listed, so the site cannot add one root does not see. A link
    raises MTError (`keep_links`: it is made root's, never followed), and so does a FIFO,
    a socket or a device."""
    with opened_dir(os.path.dirname(path), os.path.basename(path)) as fd:
        _take(fd, path, keep_links)


def _take(fd, where, keep_links):
    os.fchown(fd, 0, 0)
    os.fchmod(fd, 0o755)
    for name in os.listdir(fd):
        st = os.stat(name, dir_fd=fd, follow_symlinks=False)
        if stat.S_ISDIR(st.st_mode):
            inner = os.open(name, _DIR_FLAGS, dir_fd=fd)
            try:
                _take(inner, os.path.join(where, name), keep_links)
            finally:
                os.close(inner)
        elif stat.S_ISREG(st.st_mode) or (keep_links and stat.S_ISLNK(st.st_mode)):
            os.chown(name, 0, 0, dir_fd=fd, follow_symlinks=False)
            if stat.S_ISREG(st.st_mode):
                os.chmod(name, stat.S_IMODE(st.st_mode) & ~0o022, dir_fd=fd)
        else:
            raise MTError('{0}/{1} is a link or a special file: it is not taken'.format(where, name),
                          'remove it, then run the same command again')


def give_back(path, taken):
    """Undo of take_dir: `taken` is what it returned."""
    uid, gid, mode = taken
    with opened_dir(os.path.dirname(path), os.path.basename(path)) as fd:
        os.fchown(fd, uid, gid)
        os.fchmod(fd, mode)


def move(root, source, target):
    """Rename `root`/`source` to `root`/`target` (paths relative to the site root `root`),
    over an empty directory there if there is one. Their parents are opened without
    following links, so the entry moved is the one in the site's tree and it lands in
    ours. Raises MTError when the target exists and is not an empty directory."""
    (source_parent, name), (target_parent, target_name) = os.path.split(source), os.path.split(target)
    with opened_dir(root, source_parent) as source_fd, opened_dir(root, target_parent) as target_fd:
        try:
            os.rmdir(target_name, dir_fd=target_fd)  # an empty placeholder (uploads/ of a new tree)
        except (FileNotFoundError, NotADirectoryError):
            pass
        except OSError:
            pass  # not empty: refused below
        if _exists(target_name, target_fd):
            raise MTError('{0} and {1} both exist in {2}'.format(source, target, root),
                          'keep one: merge them by hand, then run the same command again')
        os.rename(name, target_name, src_dir_fd=source_fd, dst_dir_fd=target_fd)


def exists(root, relative):
    """Whether `root`/`relative` exists (a link counts; none is followed)."""
    parent, name = os.path.split(relative)
    try:
        with opened_dir(root, parent) as fd:
            return _exists(name, fd)
    except MTError:
        return False


def read_file(root, relative, limit=MAX_FILE):
    """The bytes of the plain file `root`/`relative` (no link followed, not a FIFO or a
    device, at most `limit` bytes); raises MTError otherwise."""
    parent, name = os.path.split(relative)
    where = os.path.join(root, relative)
    with opened_dir(root, parent) as dir_fd:
        try:
            fd = os.open(name, _FILE_FLAGS, dir_fd=dir_fd)
        except OSError as e:
            raise MTError('{0}: not a plain file that is not a link ({1})'.format(where, e.strerror))
    with os.fdopen(fd, 'rb') as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise MTError('{0} is not a plain file'.format(where))
        if st.st_size > limit:
            raise MTError('{0} is larger than {1} bytes'.format(where, limit))
        return f.read(limit + 1)[:limit]


def give_tree(path, owner_ids):
    """Give the tree at `path` (one root made, in a directory of root's), links included,
    to `owner_ids`. Deepest entries first: a directory becomes the owner's only once
    everything below it is done, so the new owner cannot swap a directory root is still
    to walk through for a link."""
    with opened_dir(path) as fd:
        for _, dirs, files, top_fd in os.fwalk('.', dir_fd=fd, topdown=False,
                                               follow_symlinks=False):
            for name in files + dirs:
                os.chown(name, *owner_ids, dir_fd=top_fd, follow_symlinks=False)
        os.fchown(fd, *owner_ids)


def _exists(name, dir_fd):
    try:
        os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        return True
    except FileNotFoundError:
        return False
