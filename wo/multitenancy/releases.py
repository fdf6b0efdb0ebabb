"""WordPress core releases under <shared_root>/releases and the `current` link.

A release is staged under a dot-name (`.staging-wp-...`), which marks it unfinished:
only a complete, checked release is renamed to `wp-YYYYMMDD-HHMMSS`. Release
directories belong to root and are never writable by the web user.
"""
import os
import re
import shutil
from datetime import datetime

from wo.multitenancy import fs, sources
from wo.multitenancy.errors import MTError

ROUTER = os.path.join(os.path.dirname(__file__), 'php', 'release-wp-config.php')
REQUIRED = ('wp-load.php', 'wp-settings.php', 'wp-blog-header.php', 'wp-login.php',
            'wp-admin/admin.php', 'wp-admin/includes/upgrade.php', 'wp-includes/version.php')
STAGING_PREFIX = '.staging-'
_NAME = re.compile(r'^wp-\d{8}-\d{6}(-\d+)?$')


def new_name(releases_dir, now=None):
    """A fresh release name from the clock; a suffix keeps two in one second apart."""
    return fs.unused_name(releases_dir, 'wp-' + (now or datetime.now()).strftime('%Y%m%d-%H%M%S'))


def names(settings):
    """Finished releases, oldest first."""
    if not os.path.isdir(settings.releases_dir):
        return []
    return sorted(n for n in os.listdir(settings.releases_dir) if _NAME.match(n))


def previous(settings, name):
    """The newest finished release older than `name`, or None."""
    older = [n for n in names(settings) if n < name]
    return older[-1] if older else None


def path(settings, name):
    return os.path.join(settings.releases_dir, name)


def current(settings):
    """The name of the release `current` points at, or None."""
    try:
        return os.path.basename(os.readlink(settings.current_link))
    except OSError:
        return None


def version(settings, name):
    """(wp_version, db_version) of release `name`."""
    return read_version(path(settings, name))


def read_version(release_dir):
    """(wp_version, db_version) from a release's wp-includes/version.php."""
    try:
        with open(os.path.join(release_dir, 'wp-includes', 'version.php'), encoding='utf-8') as f:
            text = f.read()
    except OSError as e:
        raise MTError('not a WordPress release: {0}'.format(e))
    version = re.search(r"\$wp_version\s*=\s*'([^']+)'", text)
    db_version = re.search(r'\$wp_db_version\s*=\s*(\d+)', text)
    if not (version and db_version):
        raise MTError('{0}: wp-includes/version.php names no version'.format(release_dir))
    return version.group(1), int(db_version.group(1))


def is_newer(version, than):
    """Whether WordPress version `version` is newer than `than` ('6.5.5' > '6.5');
    a pre-release counts as its release."""
    return _numbers(version) > _numbers(than)


def _numbers(version):
    found = re.match(r'(\d+)\.(\d+)(?:\.(\d+))?', version)
    if not found:
        raise MTError('{0!r} is not a WordPress version'.format(version))
    return tuple(int(n or 0) for n in found.groups())


def stage(settings, source, changes, version=None):
    """Stage a release from `source` and return its name; it is not switched to.

    Raises MTError when the download, the checksum or the archive is bad, or when
    the tree is not a complete WordPress release. On failure nothing is left behind.
    """
    remove_leftovers(settings)  # we hold the lock: any unfinished release is a dead run's
    name = new_name(settings.releases_dir)
    staging = os.path.join(settings.releases_dir, STAGING_PREFIX + name)
    changes.on_failure('remove staged release ' + name, lambda: fs.remove(staging))
    workdir = sources.scratch_dir(settings.releases_dir)
    try:
        local = sources.fetch(source, workdir, version)
        _unpack(local, staging)
    finally:
        fs.remove(workdir)
    _check_complete(staging)
    fs.write_file(os.path.join(staging, 'wp-config.php'), _router_text())
    fs.lock_down(staging)
    final = path(settings, name)
    changes.on_failure('remove release ' + name, lambda: fs.remove(final))
    fs.rename(staging, final)
    return name


def switch(settings, name):
    """Point `current` at release `name` in one atomic rename."""
    if not os.path.isdir(path(settings, name)):
        raise MTError('release {0} does not exist'.format(name))
    fs.symlink(os.path.join('releases', name), settings.current_link)


def prune(settings, keep, protected):
    """Remove the oldest releases beyond `keep`, never one in `protected`,
    and any staging leftovers of an interrupted run. Returns the removed names."""
    removed = []
    remove_leftovers(settings)
    existing = names(settings)
    for name in existing[:max(0, len(existing) - keep)]:
        if name not in protected:
            fs.remove(path(settings, name))
            removed.append(name)
    return removed


def core_entries(release_dir):
    """The names in a release's top level that a site links to: wp-admin/,
    wp-includes/ and the PHP entry points (not the config files)."""
    entries = ['wp-admin', 'wp-includes']
    for name in sorted(os.listdir(release_dir)):
        if name.endswith('.php') and name != 'index.php' and not name.startswith('wp-config'):
            entries.append(name)
    return entries


def remove_leftovers(settings):
    """Remove what an interrupted staging left: unfinished releases and downloads."""
    for name in os.listdir(settings.releases_dir):
        if name.startswith(STAGING_PREFIX) or name.startswith('.mt-download-'):
            fs.remove(os.path.join(settings.releases_dir, name))


def _unpack(local, staging):
    if os.path.isdir(local):
        shutil.copytree(sources.wordpress_root(local), staging, symlinks=False)
        return
    unpacked = staging + '.unpack'
    try:
        fs.extract_archive(local, unpacked)
        fs.rename(sources.wordpress_root(unpacked), staging)
    finally:
        fs.remove(unpacked)


def _check_complete(release_dir):
    missing = [p for p in REQUIRED if not os.path.isfile(os.path.join(release_dir, p))]
    if missing:
        raise MTError('incomplete WordPress release: {0} missing'.format(', '.join(missing)),
                      'the archive is damaged or is not WordPress; nothing was switched')
    read_version(release_dir)


def _router_text():
    with open(ROUTER, encoding='utf-8') as f:
        return f.read()
