"""Backups of a site taken before `convert` touches it, under <shared_root>/backups/:

    <domain>-YYYYMMDD-HHMMSS/files.tar.zst   the whole site root, owners and modes kept
    <domain>-YYYYMMDD-HHMMSS/database.sql    the site's database (mysqldump)

A backup is written under a dot-name and renamed when complete, so a backup that
has its final name is whole. Backups are root's alone (0700): they hold credentials.
To restore by hand:  tar --zstd -xpf files.tar.zst -C /var/www
                     mariadb <db_name> < database.sql
"""
import os
from datetime import datetime

from wo.multitenancy import fs, mariadb

FILES = 'files.tar.zst'
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


def restore_database(backup_dir, db_name):
    mariadb.restore(db_name, os.path.join(backup_dir, DATABASE))


def remove_unfinished(settings, domain):
    """Remove what a killed backup of `domain` left (we hold the lock)."""
    for name in _names(settings):
        if name.startswith('.' + domain + '-') and name.endswith('.partial'):
            fs.remove(os.path.join(settings.backups_dir, name))


def _names(settings):
    return os.listdir(settings.backups_dir) if os.path.isdir(settings.backups_dir) else []
