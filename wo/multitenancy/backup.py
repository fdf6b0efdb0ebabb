"""Backups of a site taken before `convert` touches it, under <shared_root>/backups/:

    <domain>-YYYYMMDD-HHMMSS/files.tar.zst   the whole site root, owners and modes kept
    <domain>-YYYYMMDD-HHMMSS/database.sql    the site's database (mysqldump)

A backup is written under a dot-name and renamed when complete, so a backup that
has its final name is whole. Backups are root's alone (0700): they hold credentials.
To restore by hand:  tar --zstd -xpf files.tar.zst -C /var/www
                     mariadb <db_name> < database.sql
`backup --prune` keeps them as it keeps snapshots (prune: keep_daily, keep_weekly,
keep_monthly), the newest always.
"""
import os
import re
from datetime import datetime

from wo.multitenancy import fs, mariadb

FILES = 'files.tar.zst'
_STAMP = re.compile(r'(\d{8}-\d{6})(-\d+)?\Z')  # what follows '<domain>-'
DATABASE = 'database.sql'


def take(settings, domain, db_name, changes):
    """Back up the site root of `domain` and database `db_name`; returns the backup
    directory. A complete backup is kept even when the command fails later."""
    remove_unfinished(settings, domain)
    name = fs.unused_name(settings.backups_dir,  # a second backup in one second: -2
                          '{0}-{1}'.format(domain, datetime.now().strftime('%Y%m%d-%H%M%S')))
    final = os.path.join(settings.backups_dir, name)
    partial = os.path.join(settings.backups_dir, '.' + name + '.partial')
    fs.make_dir(settings.backups_dir)
    changes.on_failure('remove the unfinished backup ' + name, lambda: fs.remove(partial))
    fs.create_dir(partial, mode=0o700)
    fs.archive_tree(settings.sites_root, domain, os.path.join(partial, FILES))
    mariadb.dump(db_name, os.path.join(partial, DATABASE))
    fs.rename(partial, final)
    return final


def latest(settings, domain):
    """The newest complete backup directory of `domain`, or None."""
    prefix = domain + '-'
    found = sorted(n for n in _names(settings) if n.startswith(prefix)
                   and n[len(prefix):].replace('-', '').isdigit())
    return os.path.join(settings.backups_dir, found[-1]) if found else None


def prune(settings, domain, keep):
    """Remove the complete backups of `domain` the retention `keep` ({'daily': n,
    'weekly': n, 'monthly': n}) does not keep; their names."""
    prefix, stamps = domain + '-', {}
    for name in _names(settings):
        found = _STAMP.match(name[len(prefix):]) if name.startswith(prefix) else None
        if found:
            stamps[name] = datetime.strptime(found.group(1), '%Y%m%d-%H%M%S')
    kept = retained(stamps, keep)
    gone = sorted(n for n in stamps if n not in kept)
    for name in gone:
        fs.remove(os.path.join(settings.backups_dir, name))
    return gone


def retained(stamps, keep):
    """The names of `stamps` ({name: datetime}) kept by `keep`, as restic's forget keeps
    snapshots: the newest of each of the last n days, weeks, months that have any."""
    buckets = {'daily': lambda t: t.date(), 'weekly': lambda t: t.isocalendar()[:2],
               'monthly': lambda t: (t.year, t.month)}
    newest_first = sorted(stamps, key=lambda n: (stamps[n], n), reverse=True)
    kept = set(newest_first[:1])
    for period, count in keep.items():
        seen = []
        for name in newest_first:
            bucket = buckets[period](stamps[name])
            if bucket not in seen:
                if len(seen) == count:
                    break
                seen.append(bucket)
                kept.add(name)
    return kept


def restore_database(backup_dir, db_name):
    mariadb.restore(db_name, os.path.join(backup_dir, DATABASE))


def remove_unfinished(settings, domain):
    """Remove what a killed backup of `domain` left (we hold the lock)."""
    for name in _names(settings):
        if name.startswith('.' + domain + '-') and name.endswith('.partial'):
            fs.remove(os.path.join(settings.backups_dir, name))


def _names(settings):
    return os.listdir(settings.backups_dir) if os.path.isdir(settings.backups_dir) else []
