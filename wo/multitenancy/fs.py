"""The one place where wo multitenancy changes files, directories and links."""
import ctypes
import errno
import grp
import hashlib
import os
import pwd
import re
import shutil
import stat
import struct
import tarfile
import tempfile
import zipfile

from wo.multitenancy import runner
from wo.multitenancy.errors import CommandFailed, MTError

_MOUNTINFO_ESCAPE = re.compile(r'\\([0-7]{3})')  # mountinfo writes a space as \040

ROOT = ('root', 'root')


def ids(owner):
    """(uid, gid) of an owner given as (user, group) names."""
    user, group = owner
    return pwd.getpwnam(user).pw_uid, grp.getgrnam(group).gr_gid


def create_dir(path, mode=0o755, owner=ROOT):
    """Create `path` which must not exist yet (MTError otherwise)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    try:
        os.mkdir(path)
    except FileExistsError:
        raise MTError('{0} already exists: someone else made it meanwhile'.format(path))
    os.chmod(path, mode)
    os.chown(path, *ids(owner))


_ACL = 'system.posix_acl_access'
_NO_ID = 0xffffffff


def grant_read(path, user):
    """Let system user `user` read the file at `path` (root's) besides its owner and
    group, through a POSIX ACL (linux/posix_acl_xattr.h): while a site moves between
    two PHP users, both read its wp-config.php."""
    st = os.lstat(path)
    owner, group, other = (st.st_mode >> 6) & 7, (st.st_mode >> 3) & 7, st.st_mode & 7
    entries = ((0x01, owner, _NO_ID), (0x02, 4, pwd.getpwnam(user).pw_uid),
               (0x04, group, _NO_ID), (0x10, group | 4, _NO_ID), (0x20, other, _NO_ID))
    os.setxattr(path, _ACL, struct.pack('<I', 2) + b''.join(
        struct.pack('<HHI', *e) for e in entries), follow_symlinks=False)


def drop_grants(path):
    """Remove what grant_read added (its mode is as before it)."""
    try:
        os.removexattr(path, _ACL, follow_symlinks=False)
    except OSError as e:
        if e.errno != errno.ENODATA:
            raise


def make_dir(path, mode=0o755, owner=ROOT):
    """Create `path` (and parents) if missing; set mode and owner either way."""
    make_dir_ids(path, mode, ids(owner))


def make_dir_ids(path, mode, owner_ids):
    """make_dir with the owner as (uid, gid)."""
    os.makedirs(path, exist_ok=True)
    os.chmod(path, mode)
    os.chown(path, *owner_ids)


def write_file(path, content, mode=0o644, owner=ROOT, exclusive=False):
    """Write `content` to `path` atomically: readers see the old file or the new one.

    exclusive: `path` must not exist yet (MTError otherwise), so a file someone
    else made is never overwritten.
    """
    _write_bytes(path, content.encode('utf-8'), mode, ids(owner), exclusive)


def write_if_changed(path, content):
    """write_file(path, content) unless the file holds that text already."""
    try:
        with open(path, encoding='utf-8') as f:
            if f.read() == content:
                return
    except FileNotFoundError:
        pass
    write_file(path, content)


def write_bytes(path, content, mode=0o644, owner=ROOT):
    """Write bytes to `path` atomically, with `mode` and `owner`."""
    _write_bytes(path, content, mode, ids(owner))


def keep_file(path):
    """What restore_file needs to put `path` back as it is now (None: it does not exist).
    A link, or anything but a plain file, raises MTError: it is not ours to rewrite."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as e:
        raise MTError('{0} is not a plain file ({1}): it is not ours to rewrite'.format(
            path, e.strerror))
    with os.fdopen(fd, 'rb') as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise MTError('{0} is not a plain file: it is not ours to rewrite'.format(path))
        return f.read(), st.st_mode & 0o7777, (st.st_uid, st.st_gid)


def restore_file(path, kept):
    """Put back a file kept by keep_file (remove it if it did not exist)."""
    if kept is None:
        remove(path)
    else:
        content, mode, ids = kept
        _write_bytes(path, content, mode, ids)


def _write_bytes(path, content, mode, ids, exclusive=False):
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix='.mt-')
    try:
        with os.fdopen(fd, 'wb') as handle:
            handle.write(content)
        os.chmod(tmp, mode)
        os.chown(tmp, *ids)
        if exclusive:
            _link_new(tmp, path)
        else:
            os.replace(tmp, path)
    finally:
        _unlink_quietly(tmp)


def symlink(target, link):
    """Make `link` point at `target`, replacing an existing link in one rename(2).

    `ln -sfn` unlinks first, leaving a moment with no link at all; a new link made
    beside the old one and renamed over it never does.
    """
    tmp = '{0}.mt-new-{1}'.format(link, os.getpid())
    _unlink_quietly(tmp)
    os.symlink(target, tmp)
    try:
        os.replace(tmp, link)
    except BaseException:
        _unlink_quietly(tmp)
        raise


def hard_link(existing, path):
    """Make `path` another name of file `existing`, replacing what is there in one rename."""
    tmp = '{0}.mt-new-{1}'.format(path, os.getpid())
    _unlink_quietly(tmp)
    os.link(existing, tmp)
    os.replace(tmp, path)


def replace_with_dir(path):
    """Make `path` a directory (root's, 0755), removing a file or link found there."""
    if os.path.islink(path) or os.path.isfile(path):
        os.unlink(path)
    make_dir(path)


def exchange(first, second):
    """Swap two directories in one renameat2(RENAME_EXCHANGE): a reader sees one or
    the other under each name, never nothing."""
    try:
        _renameat2(_AT_FDCWD, first, _AT_FDCWD, second, _RENAME_EXCHANGE)
    except OSError as e:
        raise MTError('cannot exchange {0} and {1}: {2}'.format(first, second, e.strerror))


def rename_new(src_dir_fd, name, dst_dir_fd, new_name):
    """Rename `name` in the directory open at `src_dir_fd` to `new_name` in the one
    open at `dst_dir_fd`, never over what is there (FileExistsError):
    renameat2(RENAME_NOREPLACE)."""
    _renameat2(src_dir_fd, name, dst_dir_fd, new_name, _RENAME_NOREPLACE)


_AT_FDCWD, _RENAME_NOREPLACE, _RENAME_EXCHANGE = -100, 1, 2


def _renameat2(src_dir_fd, source, dst_dir_fd, destination, flags):
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.renameat2(src_dir_fd, os.fsencode(source), dst_dir_fd, os.fsencode(destination),
                      flags) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code), source)


def remove(path):
    """Remove a file, link, FIFO, socket or directory tree if it exists (links are not
    followed)."""
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.unlink(path)


def rename(source, destination):
    os.rename(source, destination)


_PLAIN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def copy_plain_tree(source, destination, depth=100):
    """Copy a tree of plain files and directories; MTError at a link or anything else
    (a link in code every site runs could name a file a site writes, or root's secrets),
    at what cannot be read, or below `depth` levels. Every entry is opened through its
    directory's descriptor without following a link: a file or folder swapped for a
    link meanwhile, however deep in the tree, fails. `source` itself may be a link: an
    operator's folder is taken where it points."""
    source = os.path.realpath(source)
    try:
        fd = os.open(source, _PLAIN_FLAGS | os.O_DIRECTORY)
    except OSError as e:
        raise MTError('{0} cannot be read as a folder that is not a link: {1}'.format(
            source, e.strerror))
    try:
        _copy_plain_dir(fd, source, destination, depth)
    except OSError as e:
        raise MTError('cannot copy {0}: {1}'.format(e.filename or source, e.strerror))
    finally:
        os.close(fd)


def _copy_plain_dir(fd, where, destination, depth):
    if depth < 0:
        raise MTError('{0} is nested too deep to be a plugin or theme'.format(where))
    os.makedirs(destination, exist_ok=True)
    for name in sorted(os.listdir(fd)):
        path = os.path.join(where, name)
        judged = stat.S_IFMT(os.stat(name, dir_fd=fd, follow_symlinks=False).st_mode)
        if judged not in (stat.S_IFDIR, stat.S_IFREG):
            raise _not_plain(path)
        try:
            inner = os.open(name, _PLAIN_FLAGS, dir_fd=fd)
        except OSError as e:
            raise _not_plain(path) if e.errno == errno.ELOOP else MTError(
                '{0} cannot be read: {1}'.format(path, e.strerror))
        try:
            if stat.S_IFMT(os.fstat(inner).st_mode) != judged:
                raise MTError('{0} changed while it was copied: refused'.format(path))
            if judged == stat.S_IFDIR:
                _copy_plain_dir(inner, path, os.path.join(destination, name), depth - 1)
            else:
                with os.fdopen(os.dup(inner), 'rb') as opened, \
                        open(os.path.join(destination, name), 'xb') as out:
                    shutil.copyfileobj(opened, out)
        finally:
            os.close(inner)


def _not_plain(path):
    return MTError('{0} is not a plain file or folder (a link?): refused'.format(path),
                   'a plugin or theme must hold plain files only: copy it in with its links '
                   'resolved (cp -rL), then run again')


def copy_tree(source, destination):
    """Copy a directory tree, keeping links as links."""
    shutil.copytree(source, destination, symlinks=True)


def lock_down(path, owner=ROOT, stamp=None):
    """Give a tree to `owner` with directories 0755 and files 0644, not following links;
    `stamp`: its files' and directories' mtime becomes that (epoch seconds)."""
    uid, gid = ids(owner)
    for top, dirs, files in os.walk(path, followlinks=False):
        os.lchown(top, uid, gid)
        os.chmod(top, 0o755)
        for name in files + [d for d in dirs if os.path.islink(os.path.join(top, d))]:
            item = os.path.join(top, name)
            os.lchown(item, uid, gid)
            if not os.path.islink(item):
                os.chmod(item, 0o644)
                _stamp(item, stamp)
        _stamp(top, stamp)


def _stamp(path, stamp):
    if stamp is not None:
        os.utime(path, (stamp, stamp))


def archive_tree(parent, name, archive):
    """Write `parent`/`name` with owners, modes and links into a zstd-compressed tar,
    readable by root alone (it holds credentials). A live site changes while it is read
    (caches, logs, a file it removes or renames): tar says so with exit 1, or warns, and
    still writes the archive; that is accepted, any other failure is not."""
    argv = ['tar', '--zstd', '--create', '--warning=no-file-changed', '--warning=no-file-removed',
            '--ignore-failed-read', '--file', archive,
            '--directory', parent, name]
    done = runner.run(argv, timeout=6 * 3600, check=False, umask=0o077)
    if done.returncode not in (0, 1):
        raise CommandFailed(argv, done.returncode, done.stdout, done.stderr)


def unused_name(directory, base):
    """`base`, or `base`-2, -3 ... : the first name not taken in `directory`."""
    name, n = base, 1
    while os.path.exists(os.path.join(directory, name)):
        n += 1
        name = '{0}-{1}'.format(base, n)
    return name


def sha256(path):
    """The hex SHA-256 of a file's contents."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            digest.update(chunk)
    return digest.hexdigest()


def mount_id(fd):
    """The id of the mount the file open at `fd` lies on (bind mounts of one file system
    have ids of their own, where st_dev is the same)."""
    with open('/proc/self/fdinfo/{0}'.format(fd)) as f:
        return int(next(line for line in f if line.startswith('mnt_id:')).split()[1])


def mounted_in(path):
    """The mount points at or below directory `path` (/proc/self/mountinfo, which names
    them by their real paths), one of root's."""
    top = os.path.realpath(path)
    with open('/proc/self/mountinfo') as f:
        points = [_MOUNTINFO_ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), line.split()[4])
                  for line in f]
    return sorted(p for p in points if p == top or p.startswith(top.rstrip('/') + '/'))


def free_mb(path):
    """Free space in MB on the filesystem holding `path` (or its nearest existing parent)."""
    while not os.path.exists(path):
        path = os.path.dirname(path)
    stat = os.statvfs(path)
    return stat.f_bavail * stat.f_frsize // (1024 * 1024)


def disk_usage(path):
    """Bytes used by a tree, counting each inode once and not following links."""
    seen, total = set(), 0
    for top, dirs, files in os.walk(path, followlinks=False):
        for name in [top] + [os.path.join(top, n) for n in files + dirs]:
            try:
                st = os.lstat(name)
            except FileNotFoundError:  # a cache file removed while we walk
                continue
            if (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                total += st.st_blocks * 512
    return total


def extract_archive(archive, destination):
    """Unpack a .tar.gz/.tgz/.tar or .zip into `destination` (which must not exist).

    Refuses members that would land outside `destination` (absolute paths, ..,
    links); a truncated or corrupt archive raises MTError.
    """
    os.makedirs(destination)
    try:
        if zipfile.is_zipfile(archive):
            _extract_zip(archive, destination)
        else:
            _extract_tar(archive, destination)
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as e:
        raise MTError('cannot unpack {0}: {1}'.format(archive, e),
                      'the archive is damaged or incomplete: download it again')


def _extract_tar(archive, destination):
    with tarfile.open(archive) as tar:
        members = tar.getmembers()
        for member in members:
            _check_member(member.name, destination)
            if not (member.isfile() or member.isdir()):
                raise MTError('{0}: {1} is not a plain file or directory'
                              .format(archive, member.name))
        tar.extractall(destination, members=members)


def _extract_zip(archive, destination):
    with zipfile.ZipFile(archive) as zipped:
        bad = zipped.testzip()
        if bad:
            raise MTError('{0}: {1} is corrupt'.format(archive, bad))
        for name in zipped.namelist():
            _check_member(name, destination)
        zipped.extractall(destination)


def _check_member(name, destination):
    target = os.path.realpath(os.path.join(destination, name))
    if not (target + os.sep).startswith(os.path.realpath(destination) + os.sep) \
            and target != os.path.realpath(destination):
        raise MTError('archive member {0!r} would be written outside the release'.format(name))


def _link_new(tmp, path):
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise MTError('{0} already exists: someone else made it meanwhile'.format(path))


def _unlink_quietly(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
