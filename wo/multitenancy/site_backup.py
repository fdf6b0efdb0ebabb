"""Backups of sites into the restic repository (restic.py), and restoring one.

A site's snapshot holds what is the site's own and nothing of the shared core:
    <site root>/wp-config.php, <site root>/htdocs/wp-content/uploads/
    <control_dir>/backups/<domain>/database.sql   a consistent dump (one transaction,
                                                  no lock that stops the site)
    <control_dir>/backups/<domain>/site.json      its registry record and the core,
                                                  baseline, plugins and theme it ran
Everything else under the site root is our layout, made again by `create`.

A restore brings the database and the uploads back, into the site as it is now: its
wp-config.php stays (its database account is the one that works now; the snapshot's
copy is there to read). The snapshot is restored into a directory of root's in the site
root, the site goes into maintenance meanwhile, the current database is dumped and the
current uploads kept aside, so that a failure puts both back.

A restore `--as` another domain makes a new site as `create` does (sites.provision,
sites.go_live) with the snapshot's PHP version, cache, isolation and table prefix, and
fills it from the snapshot instead of installing WordPress: its database, its uploads,
its addresses moved to the new domain. One undo takes all of it away on a failure.
"""
import json
import os
import re
import stat
import time

from wo.multitenancy import (baseline, fs, health, layout, login_links, maintenance, mariadb,
                             nginx, pools, releases, restic, site_files, sites, validate,
                             wordpress)
from wo.multitenancy.errors import InvalidInput, MTError

DUMP = 'database.sql'
RECORD = 'site.json'
SCRATCH = '.wo-mt-restore'
KEPT_UPLOADS = '.uploads-before-restore'
RESTORING = 'This site is being restored. Please come back in a few minutes.'
# Registry columns a snapshot does not keep: secrets and what belongs to the moment.
NOT_KEPT = ('login_nonce', 'last_verification', 'last_cron', 'id')
_TABLE_PREFIX = re.compile(r"^\$table_prefix = '([A-Za-z0-9_]+)';$", re.MULTILINE)  # as we write it


def stage_dir(settings, domain):
    return os.path.join(settings.control_dir, 'backups', domain)


def uploads(settings, domain):
    return os.path.join(layout.htdocs(settings, domain), 'wp-content', 'uploads')


def kept_uploads(settings, domain):
    """Where a restore keeps the site's uploads aside (in its root-owned wp-content)."""
    return os.path.join(os.path.dirname(uploads(settings, domain)), KEPT_UPLOADS)


def scratch_dir(settings, domain):
    return os.path.join(settings.site_root(domain), SCRATCH)


def back_up(ctx, site, database):
    """A snapshot of the site (our row; `database` its db_name ...); {'domain', 'status':
    'saved', 'snapshot', 'added_bytes', 'seconds'}."""
    settings, domain, began = ctx.settings, site['domain'], time.time()
    staged = stage_dir(settings, domain)
    fs.remove(staged)
    fs.make_dir(staged, mode=0o700)
    try:
        mariadb.dump(database['db_name'], os.path.join(staged, DUMP))
        fs.write_file(os.path.join(staged, RECORD), json.dumps(_record(settings, site),
                                                                 indent=1, sort_keys=True),
                      mode=0o600)
        summary = restic.backup(settings, domain, [
            os.path.join(settings.site_root(domain), 'wp-config.php'), uploads(settings, domain),
            staged])
    finally:
        fs.remove(staged)
    return {'domain': domain, 'status': 'saved', 'snapshot': summary['snapshot_id'],
            'added_bytes': summary.get('data_added', 0),
            'seconds': round(time.time() - began, 2)}


def _record(settings, site):
    current = baseline.read(settings) or {}
    return {'site': {k: v for k, v in site.items() if k not in NOT_KEPT},
            'release': site['shared_release'],
            'wp_version': releases.version(settings, site['shared_release'])[0]
            if site['shared_release'] and os.path.isdir(
                releases.path(settings, site['shared_release'])) else None,
            'baseline': {k: current.get(k) for k in ('version', 'theme', 'plugins')}}


def choose_snapshot(settings, domain, snapshot_id=None):
    """The snapshot of `domain` to restore: `snapshot_id` (short or long), or the newest.
    InvalidInput when there is none, or the id is not one of this site's."""
    found = restic.snapshots(settings, domain)
    if snapshot_id:
        found = [s for s in found if s['id'].startswith(snapshot_id.lower())]
        if len(found) != 1:
            raise InvalidInput('{0} is not a snapshot of {1}'.format(snapshot_id, domain),
                               'wo multitenancy backup --list {0} shows them'.format(domain))
    if not found:
        raise InvalidInput('there is no snapshot of ' + domain,
                           'wo multitenancy backup {0} makes one'.format(domain))
    return found[-1]


def restore(ctx, site, database, snapshot, changes):
    """Bring the site's (our row; `database` its db_name, db_user, db_grant_host)
    database and uploads back to `snapshot`, proven over HTTP, the site in maintenance
    meanwhile; the undo puts back what was there. finish_restore comes after.
    {'domain', 'snapshot', 'taken_at', 'ran', 'runs'}."""
    settings, domain = ctx.settings, site['domain']
    record = _record_in(settings, domain, snapshot)
    _clear_leftovers(settings, domain)
    _require_room(settings, restic.restore_size(settings, snapshot['id']))
    scratch = _unpack(ctx, domain, snapshot, changes)
    _close_for_visitors(ctx, domain, changes)
    _restore_database(ctx, domain, database, _dump_in(settings, scratch, domain), changes)
    _restore_uploads(settings, domain, scratch + uploads(settings, domain), changes)
    wordpress.upgrade_database(settings, domain, site['php_version'])
    nginx.purge_page_cache([domain], settings.page_caches)
    found = health.probe(domain, bool(site['is_ssl']))
    if not found['ok']:
        raise MTError('{0} does not serve well from snapshot {1}: {2}'.format(
            domain, snapshot['short_id'], found['problem']), 'it is back as it was')
    fs.remove(database_before(settings, domain))  # the last step: nothing can fail after it
    return dict(_restored(snapshot, record, site['shared_release'], found['version']),
                domain=domain)


def copy_of(settings, domain, snapshot, new_domain):
    """What a restore of `domain`'s `snapshot` as `new_domain` makes: (the sites.NewSite,
    with the snapshot's PHP version, cache and isolation, on plain HTTP; its table
    prefix; the snapshot's record)."""
    record = _record_in(settings, domain, snapshot)
    row = record['site']
    if row.get('cache_type') not in validate.CACHE_TYPES:
        raise MTError('snapshot {0} of {1} names no cache type this version knows: {2!r}'.format(
            snapshot['short_id'], domain, row.get('cache_type')))
    site = sites.NewSite(
        domain=validate.domain(new_domain), php_version=row.get('php_version'),
        cache=row['cache_type'], letsencrypt=False, hsts=False, dns=None,
        admin_email=settings.admin_email, admin_user='admin',
        isolation=validate.isolation(row.get('isolation') or 'shared'))
    config = restic.read_file(settings, snapshot['id'],
                              os.path.join(settings.site_root(domain), 'wp-config.php'))
    prefix = _TABLE_PREFIX.search(config)
    if not prefix:
        raise MTError('the wp-config.php in snapshot {0} of {1} names no table prefix'.format(
            snapshot['short_id'], domain))
    _require_room(settings, restic.restore_size(settings, snapshot['id']))
    return site, prefix.group(1), record


def fill_copy(ctx, site, db, domain, snapshot, changes):
    """Fill the new site `site` (sites.provision made it: database `db`) from `domain`'s
    `snapshot`: its database, loaded as the new site's own account (so nothing in it runs
    as another one), its uploads, its database upgraded to the core, its addresses moved
    to its own domain.
    finish_restore comes after."""
    settings = ctx.settings
    scratch = _unpack(ctx, site.domain, snapshot, changes)
    ctx.report('Loading its database')
    mariadb.load_as_site(ctx.ctl, db, _dump_in(settings, scratch, domain))
    # What the original's login links left to collect is the original's, not the copy's.
    for prefix in (login_links.EVENT_PREFIX, login_links.COUNT_PREFIX):
        mariadb.delete_options_starting(ctx.ctl, db['db_name'], prefix)
    _restore_uploads(settings, site.domain, scratch + uploads(settings, domain), changes)
    wordpress.upgrade_database(settings, site.domain, site.php_version)
    wordpress.task(settings, site.domain, site.php_version, 'set_url',
                   url='http://' + site.domain)
    nginx.purge_page_cache([site.domain], settings.page_caches)  # a deleted site's of that name


def copied(settings, site, domain, snapshot, record):
    """What restore --as says of the copy `site` once it is live."""
    current = releases.current(settings)
    return dict(_restored(snapshot, record, current, releases.version(settings, current)[0]),
                domain=site.domain, copy_of=domain, url='http://{0}/'.format(site.domain))


def _restored(snapshot, record, release, wp_version):
    return {'snapshot': snapshot['short_id'], 'taken_at': snapshot['time'],
            'ran': {'release': record.get('release'), 'wp_version': record.get('wp_version')},
            'runs': {'release': release, 'wp_version': wp_version}}


def _unpack(ctx, domain, snapshot, changes):
    """The snapshot's files, restored into the scratch of `domain` (root's alone); the
    undo removes it."""
    scratch = scratch_dir(ctx.settings, domain)
    changes.on_failure('remove ' + scratch, lambda: site_files.remove_tree(scratch))
    fs.create_dir(scratch, mode=0o700)
    ctx.report('Restoring snapshot {0} into {1}'.format(snapshot['short_id'], domain))
    restic.restore(ctx.settings, snapshot['id'], scratch)
    return scratch


def _dump_in(settings, scratch, domain):
    dump = os.path.join(scratch + stage_dir(settings, domain), DUMP)
    if not os.path.isfile(dump):
        raise MTError('the snapshot holds no database dump')
    return dump


def _clear_leftovers(settings, domain):
    """What a restore leaves (a killed one, or one done): uploads kept aside go back where
    the live ones are missing (it stopped between the two renames), else they go; the
    scratch goes."""
    live, kept = uploads(settings, domain), kept_uploads(settings, domain)
    if os.path.isdir(kept) and not os.path.lexists(live):
        fs.rename(kept, live)
    site_files.remove_tree(kept)
    site_files.remove_tree(scratch_dir(settings, domain))


def _require_room(settings, size):
    """The restored files need `size` bytes on the disk of the sites, written out in full
    (restic writes a sparse file whole), with min_free_space left."""
    free = fs.free_mb(settings.sites_root)
    if free - size / 1e6 < settings.min_free_space:
        raise InvalidInput('the restore needs {0:.0f} MB and {1} MB are free; min_free_space '
                           'is {2} MB'.format(size / 1e6, free, settings.min_free_space),
                           'free some space on the disk of ' + settings.sites_root)


def _record_in(settings, domain, snapshot):
    """The record (site.json) in `snapshot`, which must be one of `domain`'s."""
    try:
        record = json.loads(restic.read_file(settings, snapshot['id'],
                                             os.path.join(stage_dir(settings, domain), RECORD)))
    except (MTError, ValueError):
        raise MTError('the snapshot holds no readable record of ' + domain)
    if not (isinstance(record, dict) and isinstance(record.get('site'), dict)
            and record['site'].get('domain') == domain):
        raise MTError('the snapshot is not one of ' + domain)
    if uploads(settings, domain) not in snapshot.get('paths', ()):
        raise MTError('snapshot {0} of {1} holds no {2}: it was taken with another '
                      'sites_root'.format(snapshot['short_id'], domain, uploads(settings, domain)))
    return record


def _close_for_visitors(ctx, domain, changes):
    """Maintenance meanwhile (our probes still see the site), unless it is on already
    (a killed restore's is taken over)."""
    ours = maintenance.message_of(ctx.settings, domain)
    if ours not in (None, RESTORING):
        return
    changes.on_failure('reload nginx', nginx.reload)  # after the maintenance page is gone
    changes.on_failure('take {0} out of maintenance'.format(domain),
                       lambda: maintenance.turn_off(ctx.settings, domain))
    if maintenance.turn_on(ctx.settings, domain, RESTORING, changes):
        nginx.check_config('nginx refused the maintenance page of ' + domain)
        nginx.reload()


def finish_restore(settings, domain):
    """After a restore: the uploads the site had before and the scratch go, and the
    maintenance the restore turned on (its message) is turned off."""
    _clear_leftovers(settings, domain)
    if maintenance.message_of(settings, domain) == RESTORING:
        maintenance.turn_off(settings, domain)
        nginx.reload()


def database_before(settings, domain):
    """The dump of the site's database a restore takes before it replaces it, kept until
    the restore succeeds."""
    return os.path.join(settings.control_dir, 'restore-before', domain + '.sql')


def _restore_database(ctx, domain, database, dump, changes):
    """The site's database (`database`: db_name, db_user, db_grant_host) replaced by the
    snapshot's dump, its account locked and its sessions ended meanwhile: root loads
    the dump, and no statement of the site's may run beside it. The undo loads the dump
    taken before (database_before); one left by a restore that was killed, or could
    not put the database back, is what was there before it, and is used as it is."""
    name, user, host = database['db_name'], database['db_user'], database['db_grant_host']
    before = database_before(ctx.settings, domain)
    if not os.path.isfile(before):
        fs.make_dir(os.path.dirname(before), mode=0o700)
        mariadb.dump(name, before + '.partial')
        fs.rename(before + '.partial', before)
    changes.on_failure('unlock ' + user, lambda: mariadb.set_account_locked(ctx.ctl, user, host,
                                                                              False))
    mariadb.set_account_locked(ctx.ctl, user, host, True)
    mariadb.end_sessions(ctx.ctl, user, wait=5)
    changes.on_failure('put the database back from ' + before,
                       lambda: _put_back(ctx, name, before))
    mariadb.replace_database(ctx.ctl, name, dump)
    mariadb.set_account_locked(ctx.ctl, user, host, False)


def _put_back(ctx, name, before):
    mariadb.replace_database(ctx.ctl, name, before)
    fs.remove(before)  # only once it is back: else the next restore starts from it


def _restore_uploads(settings, domain, restored, changes):
    """The restored uploads (an empty directory when the snapshot had none), given to the
    site's PHP user, swapped in; the site's uploads are kept aside until success."""
    if os.path.lexists(restored) and not stat.S_ISDIR(os.lstat(restored).st_mode):
        raise MTError('the uploads in the snapshot of {0} are not a directory'.format(domain))
    fs.make_dir(restored, mode=0o700)  # root's for give_tree (the scratch is root's alone)
    uid, gid, mode = layout.own_dirs(settings, pools.php_user(settings, domain))
    site_files.give_tree(restored, (uid, gid))
    fs.make_dir_ids(restored, mode, (uid, gid))
    live, kept = uploads(settings, domain), kept_uploads(settings, domain)
    site_files.remove_tree(kept)
    fs.rename(live, kept)
    changes.on_failure('put the uploads of {0} back'.format(domain),
                       lambda: _swap_back(live, kept))
    fs.rename(restored, live)


def _swap_back(live, kept):
    site_files.remove_tree(live)
    fs.rename(kept, live)
