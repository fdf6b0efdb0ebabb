"""The one place where root works in a tree a site's PHP can change while it runs.

A site runs as the web user and owns its uploads (before `convert`, its whole tree): it
can swap any directory of its own for a link, or a file for a FIFO, at any moment. So
nothing here follows a path through such a tree: every directory is opened one
component at a time with O_NOFOLLOW and then worked in through its descriptor (the
*at() calls), files are opened with O_NOFOLLOW and checked with fstat() before they are
read, and trees are walked by walk(), which neither follows a link nor opens a FIFO
(os.fwalk, in Python 3.11, opens whatever is swapped in for a directory). A link,
or anything that is not a plain file or directory where one is expected, raises
MTError naming it. The anchor of every path (a site root) must itself be a directory
the site cannot change: root's, in a directory of root's.
"""
import os
import stat
from contextlib import contextmanager

from wo.multitenancy import fs
from wo.multitenancy.errors import MTError

# O_DIRECTORY: a FIFO swapped in for a directory is refused, never opened (and waited on).
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
MAX_FILE = 64 << 20  # bytes read from a site's file into a root-owned one
MAX_DEPTH = 16  # directories below a tree root takes (conf/nginx is two)
MAX_WALK_DEPTH = 256  # directories below a tree root walks (uploads/2026/12 is three)
MAX_PASSES = 64  # walks of what remove_tree found nested too deep (64 * 256 levels)


@contextmanager
def opened_dir(anchor, relative=''):
    """A descriptor of directory `anchor`/`relative`, each component of `relative`
    opened without following a link. `anchor` must be a directory only root may change.
    Raises MTError when it is not, or when a component is a link or no directory."""
    fd = os.open(anchor, _DIR_FLAGS)
    try:
        if not _only_root_may_change(os.fstat(fd)):
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


def roots_alone(path):
    """Whether `path` is a directory (not a link) only root may change: root's, and
    writable by no group or other."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return False
    return stat.S_ISDIR(st.st_mode) and _only_root_may_change(st)


def _only_root_may_change(st):
    return st.st_uid == 0 and not st.st_mode & 0o022


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
    """Make the tree at `path` (in a directory of root's) root's alone. Each directory
    becomes root's (0755) before its entries are listed, so the site cannot add one root
    does not see; each file is replaced by root's copy (0644, a new inode: neither a
    setuid bit nor a descriptor the site kept open for writing reaches the file that
    stays). A link raises MTError (`keep_links`: it is made root's, never followed), and
    so does a hard link (without fs.protected_hardlinks it could be one to /etc/shadow,
    which root would copy 0644), a FIFO, a socket, a device, or a tree deeper than
    MAX_DEPTH."""
    with opened_dir(os.path.dirname(path), os.path.basename(path)) as fd:
        _take(fd, path, keep_links, MAX_DEPTH)


def _take(fd, where, keep_links, depth):
    if depth < 0:
        raise MTError('{0} is nested deeper than {1} directories: it is not taken'.format(
            where, MAX_DEPTH), 'flatten it, then run the same command again')
    os.fchown(fd, 0, 0)
    os.fchmod(fd, 0o755)
    for name in os.listdir(fd):
        st = os.stat(name, dir_fd=fd, follow_symlinks=False)
        if stat.S_ISDIR(st.st_mode):
            inner = os.open(name, _DIR_FLAGS, dir_fd=fd)
            try:
                _take(inner, os.path.join(where, name), keep_links, depth - 1)
            finally:
                os.close(inner)
        elif stat.S_ISREG(st.st_mode) and st.st_nlink == 1:
            _replace_with_copy(fd, name, where)
        elif keep_links and stat.S_ISLNK(st.st_mode):
            os.chown(name, 0, 0, dir_fd=fd, follow_symlinks=False)
        else:
            raise MTError('{0}/{1} is a link, a hard link or a special file: it is not taken'
                          .format(where, name),
                          'remove it, then run the same command again')


def _replace_with_copy(dir_fd, name, where):
    """Replace plain file `name` in root's directory `dir_fd` by root's copy of it."""
    content = _read_at(dir_fd, name, os.path.join(where, name), MAX_FILE)
    copy = '.mt-take-' + os.urandom(6).hex()
    fd = os.open(copy, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644, dir_fd=dir_fd)
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(content)
            os.fchmod(f.fileno(), 0o644)
        os.rename(copy, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        _unlink_at(dir_fd, copy)
        raise


def remove_tree(path):
    """Remove the tree at `path` (in a directory of root's), deepest entries first,
    through directory descriptors (walk), each directory made root's alone before it is
    listed: a process with its working directory in it (a site's, still running) makes
    nothing new there. A directory nested deeper than walk goes (any user that could
    write the tree may have made one, to fail a delete) is emptied into a directory of
    root's alone next to the tree, which is removed the same way after, in at most
    MAX_PASSES passes (a chain grown as fast as it is removed raises MTError), and by
    the next call if this one stops."""
    parent, name = os.path.split(path)
    with opened_dir(parent) as parent_fd:
        deeper = _Deeper(parent_fd, '.' + name + '.deeper')
        try:
            _remove_at(parent_fd, name, path, deeper)
            if deeper.fd is not None or _exists(deeper.name, parent_fd):
                deeper.open()
                for _ in range(MAX_PASSES):
                    if not os.listdir(deeper.fd):
                        break
                    _empty(deeper.fd, os.path.join(parent, deeper.name), deeper)
                else:
                    raise MTError('{0} grows as fast as it is removed: a process still '
                                  'makes directories in it'.format(path),
                                  'end it, then run the same command again')
                os.rmdir(deeper.name, dir_fd=parent_fd)
        finally:
            deeper.close()


def _remove_at(parent_fd, name, path, deeper):
    try:
        st = os.stat(name, dir_fd=parent_fd, follow_symlinks=False)
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(st.st_mode):
        os.unlink(name, dir_fd=parent_fd)
        return
    top = os.open(name, _DIR_FLAGS, dir_fd=parent_fd)
    try:
        _empty(top, path, deeper)
    finally:
        os.close(top)
    os.rmdir(name, dir_fd=parent_fd)


def _empty(top, path, deeper):
    """Remove what is in the directory open at `top` (whose path is `path`), but what
    is nested too deep, which goes into `deeper`."""
    _shut(top, path)
    for dir_fd, _, dirs, others in walk(top, path, too_deep=deeper.take_all, enter=_shut):
        for entry in others:
            _unlink_at(dir_fd, entry)
        for entry in dirs:
            try:
                os.rmdir(entry, dir_fd=dir_fd)
            except NotADirectoryError:  # swapped for a link or a FIFO since
                _unlink_at(dir_fd, entry)


def _shut(dir_fd, where):
    os.fchown(dir_fd, 0, 0)
    os.fchmod(dir_fd, 0o700)
    return True


class _Deeper:
    """Directory `name` (root's alone) in the directory open at `parent_fd` (root's),
    made when it is first needed: what remove_tree finds nested too deep goes in it."""

    def __init__(self, parent_fd, name):
        self.parent_fd, self.name, self.fd, self.taken = parent_fd, name, None, 0

    def take_all(self, dir_fd, where):
        """Empty the directory open at `dir_fd`: its directories are moved in here, the
        rest removed."""
        for entry in os.listdir(dir_fd):
            try:
                st = os.stat(entry, dir_fd=dir_fd, follow_symlinks=False)
            except FileNotFoundError:
                continue
            if stat.S_ISDIR(st.st_mode):
                self._take(dir_fd, entry)
            else:
                _unlink_at(dir_fd, entry)

    def _take(self, dir_fd, entry):
        self.open()
        while True:
            self.taken += 1
            try:
                return fs.rename_new(dir_fd, entry, self.fd, str(self.taken))
            except FileExistsError:  # a name an earlier call that stopped left: the next
                continue
            except FileNotFoundError:
                return None

    def open(self):
        if self.fd is None:
            try:
                os.mkdir(self.name, 0o700, dir_fd=self.parent_fd)
            except FileExistsError:  # an earlier call stopped: its leftovers go too
                pass
            self.fd = os.open(self.name, _DIR_FLAGS, dir_fd=self.parent_fd)

    def close(self):
        if self.fd is not None:
            os.close(self.fd)


def walk(fd, where, depth=MAX_WALK_DEPTH, too_deep=None, enter=None):
    """Each directory of the tree open at `fd` (whose path is `where`), deepest first, as
    (its descriptor, its path, the names of its directories, the names of everything
    else in it). Entries are judged
    by lstat and directories opened with O_NOFOLLOW|O_DIRECTORY: a link is never
    followed and a FIFO never opened; a directory swapped for one meanwhile is not
    entered, nor one for which enter(its descriptor, its path) is false. A directory
    deeper than `depth` is not walked: too_deep(its descriptor, its path) is called, or,
    without it, MTError raised."""
    if depth < 0:
        if too_deep is None:
            raise MTError('{0} is nested deeper than {1} directories'.format(
                where, MAX_WALK_DEPTH))
        too_deep(fd, where)
        return
    dirs, others = [], []
    for name in os.listdir(fd):
        try:
            st = os.stat(name, dir_fd=fd, follow_symlinks=False)
        except FileNotFoundError:  # gone meanwhile
            continue
        (dirs if stat.S_ISDIR(st.st_mode) else others).append(name)
    for name in dirs:
        try:
            inner = os.open(name, _DIR_FLAGS, dir_fd=fd)
        except OSError:  # gone, or swapped for a link or a FIFO since: not entered
            continue
        try:
            path = os.path.join(where, name)
            if enter is None or enter(inner, path):
                yield from walk(inner, path, depth - 1, too_deep, enter)
        finally:
            os.close(inner)
    yield fd, where, dirs, others


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
        except OSError:
            pass  # missing, not a directory, or not empty: judged below
        if _exists(target_name, target_fd):
            raise MTError('{0} and {1} both exist in {2}'.format(source, target, root),
                          'keep one: merge them by hand, then run the same command again')
        os.rename(name, target_name, src_dir_fd=source_fd, dst_dir_fd=target_fd)


def make_private_dir(root, prefix):
    """A new directory of root's alone (0700) in `root`, named `prefix` and random
    characters; returns its name. mkdir never takes over what is there."""
    with opened_dir(root) as fd:
        name = prefix + os.urandom(6).hex()
        os.mkdir(name, 0o700, dir_fd=fd)
        return name


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
    with opened_dir(root, parent) as dir_fd:
        return _read_at(dir_fd, name, os.path.join(root, relative), limit)


def _read_at(dir_fd, name, where, limit):
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
        for dir_fd, _, dirs, others in walk(fd, path):
            for name in others + dirs:
                os.chown(name, *owner_ids, dir_fd=dir_fd, follow_symlinks=False)
        os.fchown(fd, *owner_ids)


def hand_over(anchor, name, old_ids, new_ids, top, linked_too=False):
    """Give what is not root's in the tree `name` in directory `anchor` (root's: a site's
    wp-content; the tree its uploads, which their owner can change meanwhile) to
    `new_ids`, and the tree's top directory to `top`: (uid, gid, mode). What `old_ids`
    own, and what another user put there (another site's user keeps no file in this
    site's tree to write later). Every file and directory is opened without following a
    link and given through its descriptor; a file with more than one name is left as it
    is (giving it would give its other names, maybe another site's file, too) unless
    `linked_too` and it is `old_ids`' (a site user's own files going back to the web
    user: it could only link files it owned). Links and sockets are left alone. A
    directory nested deeper than MAX_WALK_DEPTH (which any user that could write the
    tree may have made, to fail the hand-over) is made root's, 0700: nobody but root
    reaches what is in it. A directory another file system is mounted on (the
    operator's) is left as it is. Returns [(path, why)] of what was not handed over."""
    kept, path = [], os.path.join(anchor, name)

    def shut(dir_fd, where):
        _shut(dir_fd, where)
        kept.append((where, 'nested too deep: made root\'s, 0700'))

    def same_mount(dir_fd, where):
        if fs.mount_id(dir_fd) == top_mount:
            return True
        kept.append((where, 'a file system is mounted there: left as it is'))
        return False
    with opened_dir(anchor, name) as fd_top:
        top_mount = fs.mount_id(fd_top)
        for dir_fd, where, _, others in walk(fd_top, path, too_deep=shut, enter=same_mount):
            for entry in others:
                if _hand_over_file(dir_fd, entry, old_ids, new_ids, linked_too) is False:
                    kept.append((os.path.join(where, entry),
                                 'it has other names (a hard link): it keeps its owner'))
            st = os.fstat(dir_fd)
            if dir_fd != fd_top and st.st_uid != 0 and (st.st_uid, st.st_gid) != new_ids:
                os.fchown(dir_fd, *new_ids)
        os.fchown(fd_top, top[0], top[1])
        os.fchmod(fd_top, top[2])
    return kept


def _hand_over_file(dir_fd, name, old_ids, new_ids, linked_too):
    """Give file `name` to `new_ids`; False when it has other names (and not
    `linked_too` for one of `old_ids`), None when it is not a file to give (root's or
    `new_ids`' already, a link, a socket, gone)."""
    try:
        fd = os.open(name, _FILE_FLAGS, dir_fd=dir_fd)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if st.st_uid == 0 or (st.st_uid, st.st_gid) == new_ids:
            return None
        if st.st_nlink > 1 and not (linked_too and (st.st_uid, st.st_gid) == old_ids):
            return False
        os.fchown(fd, *new_ids)
        return True
    finally:
        os.close(fd)


def _unlink_at(dir_fd, name):
    try:
        os.unlink(name, dir_fd=dir_fd)
    except FileNotFoundError:
        pass


def _exists(name, dir_fd):
    try:
        os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        return True
    except FileNotFoundError:
        return False
