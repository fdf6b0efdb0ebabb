"""The commands of wo multitenancy, each a short list of named steps.

Every command validates all its input before it changes anything, holds the
multitenancy lock while it changes the server, and registers an undo before each
step, so a failure leaves the server as it was (see wo.multitenancy.undo).
"""
import os
import secrets
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass

from wo.cli.plugins.multitenancy_db import MTDatabase
from wo.multitenancy import (backup, baseline, docroot_swap, fs, health, layout, lock, mariadb,
                             nginx, phpfpm, releases, sources, ssl, validate, wordpress,
                             wp_config)
from wo.multitenancy.errors import InvalidInput, MTError
from wo.multitenancy.undo import Changes

SITE_WORKERS = 4  # sites worked on at once (PHP processes, HTTP probes)
PROBE_PAUSE = 2  # seconds before a site's failed probe after a switch is tried again
PHP_SETTLE_SECONDS = 130  # PHP's realpath_cache_ttl (120 s) and OPcache's revalidate_freq
DOWNGRADE_NOTE = ('WordPress cannot downgrade a database: the tables keep what the newer '
                  'release added, and each database now names the older core\'s version, '
                  'so it runs without asking for a database update.')


@dataclass
class Context:
    """What every command needs: the `self` WordOps' helpers expect (a
    wordops.Caller), the settings, our state, and where progress lines go."""
    ctl: object
    settings: object
    db: MTDatabase
    report: object  # report(text): one progress line


# -- init -----------------------------------------------------------------------------
def init_shared(ctx, source=None, force=False):
    """Create the shared root, stage a release, seed the baseline, switch to it."""
    settings = ctx.settings
    sources.check_source(source)
    with lock.exclusive(settings.lock_file):
        current = initialized_release(settings)
        if current and not force:
            return {'changed': False, 'release': current,
                    'message': 'already initialized on {0}; --force stages a fresh release'
                    .format(current)}
        require_free_space(settings, settings.shared_root)
        with Changes() as changes:
            ctx.report('Creating the shared directories')
            create_shared_dirs(settings, changes)
            ctx.report('Staging WordPress from {0}'.format(source or 'wordpress.org'))
            name = releases.stage(settings, source, changes)
            ctx.report('Seeding the baseline plugins and theme')
            seed_baseline(settings, releases.path(settings, name), changes)
            baseline.install_enforcer(settings)
            switch_every_site(ctx, name, True, changes)
        return dict(settle(ctx, name, current), changed=True)


def create_shared_dirs(settings, changes):
    if not os.path.isdir(settings.shared_root):
        changes.on_failure('remove ' + settings.shared_root,
                           lambda: fs.remove(settings.shared_root))
    for path in (settings.releases_dir, settings.backups_dir,
                 os.path.dirname(settings.baseline_file)):
        fs.make_dir(path)
    for name in layout.SHARED_DIRS:
        fs.make_dir(os.path.join(settings.shared_content, name))


def seed_baseline(settings, release_dir, changes):
    """Make the baseline theme and plugins present in the shared wp-content and
    write baseline.json when there is none (an existing one is kept)."""
    existing = baseline.read(settings)
    wanted = existing or baseline.initial(settings)
    baseline.ensure(settings, 'themes', wanted['theme'], release_dir, changes)
    for plugin in wanted['plugins']:
        baseline.ensure(settings, 'plugins', plugin, release_dir, changes)
    if existing is None:
        baseline.write(settings, wanted, changes)


def prune(ctx, protected):
    removed = releases.prune(ctx.settings, ctx.settings.keep_releases, protected)
    ctx.db.forget_releases(removed)
    return removed


def require_free_space(settings, path):
    free = fs.free_mb(path)
    if free < settings.min_free_space:
        raise InvalidInput('only {0} MB free on the disk holding {1}; min_free_space is {2} MB'
                           .format(free, path, settings.min_free_space),
                           'free some space, or lower min_free_space in '
                           '/etc/wo/plugins.d/multitenancy.conf')


def initialized_release(settings):
    """The current release, or None when `current` is missing or points nowhere."""
    name = releases.current(settings)
    return name if name and os.path.isdir(releases.path(settings, name)) else None


def require_initialized(settings):
    name = initialized_release(settings)
    if not name:
        raise InvalidInput('the shared core is not set up yet', 'run: wo multitenancy init')
    return name


# -- update, rollback: moving every site to another release -----------------------------
def update(ctx, source=None, version=None, force=False):
    """Stage a release, prove it on a canary site, switch every site to it, upgrade
    every database. Nothing to do (already on that version): says so, changes nothing."""
    settings = ctx.settings
    sources.check_source(source)
    sources.check_version(version)
    with lock.exclusive(settings.lock_file):
        current = require_initialized(settings)
        finish_interrupted(ctx, current)
        if source is None and not force and \
                (version or sources.latest_version()) == releases.version(settings, current)[0]:
            return nothing_to_do(settings, current)
        require_free_space(settings, settings.shared_root)
        started = time.monotonic()
        with Changes() as changes:
            ctx.report('Staging WordPress from {0}'.format(source or 'wordpress.org'))
            name = releases.stage(settings, source, changes, version)
            if not force and releases.version(settings, name)[0] == \
                    releases.version(settings, current)[0]:
                fs.remove(releases.path(settings, name))
                return nothing_to_do(settings, current)
            staged = time.monotonic()
            switch_every_site(ctx, name, force, changes)
        switched = time.monotonic()
        result = dict(settle(ctx, name, current), changed=True, previous=current)
        result['seconds'].update(stage=staged - started, canary_and_switch=switched - staged)
        return result


def rollback(ctx, to=None, force=False):
    """Switch every site back to the previous release (or `to`), as update switches."""
    settings = ctx.settings
    with lock.exclusive(settings.lock_file):
        current = require_initialized(settings)
        finish_interrupted(ctx, current)
        target = to or rollback_target(ctx, current)
        if target not in releases.names(settings):
            raise InvalidInput('no release {0} to roll back to'.format(to) if to else
                               'there is no release older than {0}'.format(current),
                               'releases kept: {0}'.format(', '.join(releases.names(settings))))
        if target == current:
            return nothing_to_do(settings, current)
        with Changes() as changes:
            switch_every_site(ctx, target, force, changes)
        return dict(settle(ctx, target, current), changed=True, previous=current,
                    note=DOWNGRADE_NOTE)


def rollback_target(ctx, current):
    """The release that served before `current` was switched to, or the newest older one."""
    previous = ctx.db.get_config('previous_release')
    if previous and previous != current and previous in releases.names(ctx.settings):
        return previous
    return releases.previous(ctx.settings, current)


def nothing_to_do(settings, current):
    return {'changed': False, 'release': current,
            'wp_version': releases.version(settings, current)[0]}


def switch_every_site(ctx, name, force, changes):
    """Prove release `name` on a canary site (unless force), then point `current` at it
    in one rename and drop what PHP compiled from the release it replaces."""
    settings = ctx.settings
    previous = releases.current(settings)
    sites = live_sites(ctx)
    if sites and not force:
        prove_on_canary(ctx, sites[0], name, changes)
    ctx.report('Switching every site to {0}'.format(name))
    changes.on_failure('switch back to {0}'.format(previous), lambda: _switch_back(ctx, previous))
    releases.switch(settings, name)
    for site in sites:
        layout.link_core(settings, site['domain'])
    if previous and sites:
        phpfpm.forget_scripts(settings, [s['php_version'] for s in sites],
                              releases.path(settings, previous))
    ctx.db.record_release(name, *releases.version(settings, name))
    ctx.db.mark_current_release(name)
    if previous:
        ctx.db.set_config('previous_release', previous)


def _switch_back(ctx, previous):
    if previous is None:
        fs.remove(ctx.settings.current_link)
        return
    releases.switch(ctx.settings, previous)
    ctx.db.mark_current_release(previous)
    for site in live_sites(ctx):
        layout.link_core(ctx.settings, site['domain'])


def prove_on_canary(ctx, site, name, changes):
    """Run one site alone on release `name`, its database upgraded, and probe it over
    HTTP. On failure it goes back to the current release (the undo)."""
    settings, domain = ctx.settings, site['domain']
    wp_version = releases.version(settings, name)[0]
    ctx.report('Proving WordPress {0} on the canary site {1}'.format(wp_version, domain))
    changes.on_failure('put {0} back on the current release'.format(domain),
                       lambda: back_on_current(ctx, site, name))
    leaving = releases.path(settings, releases.current(settings))
    layout.link_core(settings, domain, name)
    phpfpm.forget_scripts(settings, [site['php_version']], leaving)
    try:
        wordpress.upgrade_database(settings, domain, site['php_version'])
        problem = release_problem(ctx, site, wp_version, leaving)
    except MTError as e:
        problem = e.message
    if problem:
        raise MTError('the canary site {0} fails on {1}: {2}'.format(domain, name, problem),
                      'no other site was switched; {0} is back on the current release'
                      .format(domain))
    ctx.db.set_site_release(domain, name)


def back_on_current(ctx, site, pinned=None):
    """Return a site to `current` (from release `pinned`, if it was pinned to one), its
    database with it."""
    settings, domain = ctx.settings, site['domain']
    layout.link_core(settings, domain)
    if pinned and pinned != releases.current(settings) and \
            os.path.isdir(releases.path(settings, pinned)):
        phpfpm.forget_scripts(settings, [site['php_version']], releases.path(settings, pinned))
    wordpress.upgrade_database(settings, domain, site['php_version'])
    ctx.db.set_site_release(domain, releases.current(settings))


def finish_interrupted(ctx, current):
    """Bring back to `current` what an interrupted update or rollback left behind: a
    canary still on another release, databases not yet brought to the current core."""
    ctx.db.record_release(current, *releases.version(ctx.settings, current))
    ctx.db.mark_current_release(current)
    behind = [s for s in live_sites(ctx) if s['shared_release'] != current
              or layout.pinned_release(ctx.settings, s['domain'])]
    for site in behind:
        ctx.report('Finishing {0}, left behind by an interrupted run'.format(site['domain']))
        back_on_current(ctx, site, layout.pinned_release(ctx.settings, site['domain']))


def settle(ctx, name, previous):
    """After a switch: every database brought to release `name`, page caches purged,
    every site checked over HTTP, old releases pruned."""
    settings = ctx.settings
    sites = live_sites(ctx)
    wp_version = releases.version(settings, name)[0]
    started = time.monotonic()
    failed = for_each_site(ctx, [s for s in sites if s['shared_release'] != name],
                           'database of', lambda site: align_database(ctx, site, name))
    aligned = time.monotonic()
    purged = nginx.purge_page_cache([s['domain'] for s in sites])
    leaving = releases.path(settings, previous) if previous else None
    failed.update(for_each_site(ctx, [s for s in sites if s['domain'] not in failed],
                                'checked', lambda site: require_release(ctx, site, wp_version,
                                                                        leaving)))
    pruned = prune(ctx, protected={name, previous})
    return {'release': name, 'wp_version': wp_version, 'sites': len(sites), 'failed': failed,
            'purged_cache_entries': purged, 'pruned': pruned,
            'seconds': {'databases': aligned - started, 'purge_check_prune': time.monotonic() - aligned}}


def align_database(ctx, site, name):
    """Upgrade (or, after a rollback, realign) a site's database to the core it runs."""
    wordpress.upgrade_database(ctx.settings, site['domain'], site['php_version'])
    ctx.db.set_site_release(site['domain'], name)


def release_problem(ctx, site, wp_version, leaving):
    """Why the site does not run `wp_version` cleanly after its link moved away from
    release dir `leaving`, or None once it does.

    Entry points resolve the core per request (php/site-entry.php), so the first probe
    normally passes. A failed one drops `leaving` from OPcache and is repeated for up to
    PHP_SETTLE_SECONDS: what PHP caches by path (OPcache, the realpath cache with its
    120 s) is the one way a worker could still run the release a link left.
    """
    deadline = time.monotonic() + PHP_SETTLE_SECONDS
    problem = health.release_problem(site['domain'], bool(site['is_ssl']), wp_version)
    while problem and time.monotonic() < deadline:
        if leaving:
            phpfpm.forget_scripts(ctx.settings, [site['php_version']], leaving)
        time.sleep(PROBE_PAUSE)
        problem = health.release_problem(site['domain'], bool(site['is_ssl']), wp_version)
    return problem


def require_release(ctx, site, wp_version, leaving):
    problem = release_problem(ctx, site, wp_version, leaving)
    if problem:
        raise MTError(problem)


def for_each_site(ctx, sites, label, action):
    """Run action(site) for every site, a few at a time, with a progress line each.
    Returns {domain: problem} of the sites where it raised MTError."""
    failed = {}
    with ThreadPoolExecutor(max_workers=SITE_WORKERS) as pool:
        futures = {pool.submit(action, site): site['domain'] for site in sites}
        for done, future in enumerate(as_completed(futures), 1):
            try:
                future.result()
                outcome = 'ok'
            except MTError as e:
                failed[futures[future]] = outcome = e.message
            ctx.report('[{0}/{1}] {2} {3}: {4}'.format(done, len(sites), label, futures[future], outcome))
    return failed


def live_sites(ctx):
    """Our sites whose files exist (one removed behind our back is left out)."""
    return [s for s in ctx.db.get_shared_sites()
            if os.path.isdir(layout.htdocs(ctx.settings, s['domain']))]


# -- create ---------------------------------------------------------------------------
@dataclass
class NewSite:
    domain: str
    php_version: str
    cache: str
    letsencrypt: bool
    hsts: bool
    dns: str
    admin_email: str
    admin_user: str


def check_new_site(ctx, site):
    """Refuse a site that cannot be created, before anything changes."""
    settings = ctx.settings
    validate.domain(site.domain)
    validate.email(site.admin_email)
    validate.admin_user(site.admin_user)
    if site.hsts and not site.letsencrypt:
        raise InvalidInput('--hsts needs --le: HSTS is only sent over HTTPS')
    if site.dns:
        validate.dns_provider(site.dns)
    if site.letsencrypt and settings.sites_root != '/var/www':
        raise InvalidInput("Let's Encrypt needs sites_root = /var/www: WordOps' SSL helpers"
                           " write to /var/www/<domain>", 'create the site without --le')
    require_initialized(settings)
    if ctx.db.get_site(site.domain) or ctx.db.wordops_site(site.domain):
        raise InvalidInput('{0} already exists'.format(site.domain),
                           'see wo site info {0}; delete it first or pick another name'
                           .format(site.domain))
    for path in (settings.site_root(site.domain), nginx.available(settings, site.domain)):
        if os.path.lexists(path):
            raise InvalidInput('{0} already exists on disk but WordOps does not know the site'
                               .format(path), 'remove it, or convert that site instead')
    phpfpm.require(settings, site.php_version, site.cache)
    require_free_space(settings, settings.sites_root)
    nginx.check_config('nginx is already failing `nginx -t` before this site was added')
    mariadb.ping(ctx.ctl, settings)


def create_site(ctx, site):
    """Create a site on the shared core; returns what the user needs to log in."""
    settings = ctx.settings
    password = secrets.token_urlsafe(18)
    scheme = 'https' if site.letsencrypt else 'http'
    with lock.exclusive(settings.lock_file), Changes() as changes:
        check_new_site(ctx, site)
        ctx.report('Creating the database')
        db = mariadb.create_site_database(ctx.ctl, site.domain, changes)
        ctx.report('Linking the site to the shared core')
        layout.build(settings, site.domain, changes)
        wp_config.write(settings, site.domain, wp_config.defaults(settings, site.domain, db),
                        wp_config.php_literal('wp_'), layout.htdocs(settings, site.domain))
        ctx.report('Configuring nginx')
        vhost = nginx.render_vhost(ctx.ctl.app, settings, site.domain, site.php_version, site.cache)
        nginx.install_vhost(settings, site.domain, vhost, changes)
        ctx.report('Installing WordPress')
        wordpress.install(settings, site.domain, site.php_version, 'http://' + site.domain,
                          site.domain, site.admin_user, site.admin_email, password)
        ctx.report('Applying the baseline')
        applied = apply_baseline(ctx, site.domain, site.php_version)
        if site.letsencrypt:
            ctx.report("Setting up Let's Encrypt")
            ssl.secure(ctx.ctl, settings, site.domain, site.dns, site.hsts, changes)
            wordpress.task(settings, site.domain, site.php_version, 'set_url',
                           url='https://' + site.domain)
        ctx.report('Recording the site')
        record_site(ctx, site, db, applied['version'], changes)
        if settings.enable_health_check:
            ctx.report('Checking the site over HTTP')
            require_healthy(site.domain, site.letsencrypt)
    return {'domain': site.domain, 'url': '{0}://{1}/'.format(scheme, site.domain),
            'admin_url': '{0}://{1}/wp-admin/'.format(scheme, site.domain),
            'admin_user': site.admin_user, 'admin_password': password,
            'php': site.php_version, 'cache': site.cache}


def apply_baseline(ctx, domain, php_version):
    """Bring one site to the baseline; raise MTError naming what could not be applied."""
    applied = wordpress.task(ctx.settings, domain, php_version, 'baseline')
    if applied['missing']:
        raise MTError('the baseline could not be applied to {0}: {1} missing'
                      .format(domain, ', '.join(applied['missing'])),
                      'see wo multitenancy baseline; the shared wp-content lacks them')
    return applied


def record_site(ctx, site, db, baseline_version, changes):
    settings = ctx.settings
    ctx.db.add_site(
        our_row(settings, site.domain, site.cache, site.php_version, baseline_version,
                int(site.letsencrypt)),
        {'sitename': site.domain, 'site_type': 'wp', 'cache_type': site.cache,
         'site_path': settings.site_root(site.domain), 'is_enabled': 1,
         'is_ssl': int(site.letsencrypt), 'storage_fs': 'ext4', 'storage_db': 'mysql',
         'db_name': db['db_name'], 'db_user': db['db_user'], 'db_password': db['db_password'],
         'db_host': db['db_host'], 'is_hhvm': 0, 'php_version': site.php_version})
    # Registered once the rows exist: a duplicate insert fails and must not remove
    # rows that were there before.
    changes.on_failure('forget ' + site.domain, lambda: ctx.db.remove_site(site.domain))


def our_row(settings, domain, cache, php_version, baseline_version, is_ssl):
    """A site's row in our table, on the current release."""
    return {'domain': domain, 'site_type': 'wp', 'cache_type': cache,
            'site_path': settings.site_root(domain), 'php_version': php_version,
            'shared_release': releases.current(settings), 'baseline_version': baseline_version,
            'is_enabled': 1, 'is_ssl': is_ssl}


def require_healthy(domain, https):
    result = health.probe(domain, https)
    if not result['ok']:
        raise MTError('{0} does not answer well: {1}'.format(domain, result['problem']),
                      'nothing was kept; see /var/log/nginx/{0}.error.log'.format(domain))


# -- delete, remove -------------------------------------------------------------------
def shared_site(ctx, domain, hint):
    """Our row of `domain`; refuses a domain that is not a site on the shared core."""
    site = ctx.db.get_site(domain)
    if not site:
        raise InvalidInput('{0} is not a site on the shared core'.format(domain), hint)
    return site


def delete_site(ctx, domain):
    """Remove a site: vhost, certificate, database and user, files, rows. Each step skips
    what is already gone, so a delete that stopped part-way finishes when run again."""
    settings = ctx.settings
    validate.domain(domain)
    with lock.exclusive(settings.lock_file):
        site = shared_site(ctx, domain, 'see wo multitenancy list; other sites: wo site delete')
        wordops_row = ctx.db.wordops_site(domain)
        ctx.report('Removing the vhost of ' + domain)
        nginx.remove_vhost(settings, domain)
        if site['is_ssl']:
            ssl.remove(ctx.ctl, settings, domain)
        if wordops_row and wordops_row['db_name']:
            ctx.report('Dropping the database ' + wordops_row['db_name'])
            mariadb.drop_site_database(ctx.ctl, wordops_row['db_name'], wordops_row['db_user'])
        ctx.report('Removing ' + settings.site_root(domain))
        fs.remove(settings.site_root(domain))
        nginx.purge_page_cache([domain])
        ctx.db.remove_site(domain)
    return {'domain': domain, 'database': wordops_row['db_name'] if wordops_row else None}


def removal_plan(ctx):
    """What `remove` would remove: every site on the shared core and the shared root,
    with the backups `convert` took in it."""
    backups = ctx.settings.backups_dir
    return {'sites': [s['domain'] for s in ctx.db.get_shared_sites()],
            'shared_root': ctx.settings.shared_root,
            'backups': sorted(n for n in (os.listdir(backups) if os.path.isdir(backups) else [])
                              if not n.startswith('.'))}


def remove_everything(ctx):
    """Delete every site on the shared core, then the shared root and our records."""
    plan = removal_plan(ctx)
    for domain in plan['sites']:
        delete_site(ctx, domain)
    with lock.exclusive(ctx.settings.lock_file):
        ctx.report('Removing ' + ctx.settings.shared_root)
        fs.remove(ctx.settings.shared_root)
        ctx.db.forget_everything()
    return plan


# -- list, status ---------------------------------------------------------------------
def list_sites(ctx):
    return [{'domain': s['domain'], 'php': s['php_version'], 'cache': s['cache_type'],
             'ssl': bool(s['is_ssl']), 'release': s['shared_release'],
             'baseline_version': s['baseline_version']} for s in ctx.db.get_shared_sites()]


def status(ctx):
    """The shared core, its releases and disk use, and each site's health."""
    settings = ctx.settings
    current = require_initialized(settings)
    kept = [{'release': name, 'wp_version': releases.version(settings, name)[0],
             'current': name == current,
             'disk_bytes': fs.disk_usage(releases.path(settings, name))}
            for name in releases.names(settings)]
    sites = []
    for site in ctx.db.get_shared_sites():
        ctx.report('Checking {0}'.format(site['domain']))
        probe = health.probe(site['domain'], bool(site['is_ssl']))
        sites.append(dict(probe, domain=site['domain'],
                          own_disk_bytes=layout.own_disk_usage(settings, site['domain'])))
    return {'release': current, 'wp_version': releases.version(settings, current)[0],
            'releases': kept,
            'shared_disk_bytes': fs.disk_usage(settings.shared_root),
            'baseline_version': (baseline.read(settings) or {}).get('version'),
            'sites': sites, 'healthy': all(s['ok'] for s in sites)}


# -- baseline -------------------------------------------------------------------------
def show_baseline(ctx):
    require_initialized(ctx.settings)
    return baseline.read(ctx.settings)


def change_baseline(ctx, add_plugins=(), remove_plugins=(), theme=None):
    """Change what every site must have and bring every site to it.

    Re-running the same command finishes sites a previous run could not reach.
    Returns the baseline and the sites that could not be brought to it.
    """
    settings = ctx.settings
    slugs = [baseline.slug_of(p) for p in add_plugins]
    removed = [baseline.slug_of(p) for p in remove_plugins]
    theme_slug = baseline.slug_of(theme) if theme else None
    with lock.exclusive(settings.lock_file):
        current = require_initialized(settings)
        with Changes() as changes:
            for plugin in add_plugins:
                baseline.ensure(settings, 'plugins', plugin, releases.path(settings, current), changes)
            if theme:
                baseline.ensure(settings, 'themes', theme, releases.path(settings, current), changes)
            present = baseline.read(settings)
            wanted = baseline.changed(present, slugs, removed, theme_slug)
            if wanted != present:
                baseline.write(settings, wanted, changes)
        return baseline.read(settings), apply_to_all_sites(ctx)


def apply_to_all_sites(ctx):
    """Apply the baseline to every site behind it; returns {domain: problem} of failures."""
    target = baseline.read(ctx.settings)['version']

    def apply(site):
        applied = apply_baseline(ctx, site['domain'], site['php_version'])
        ctx.db.set_site_baseline(site['domain'], applied['version'])

    return for_each_site(ctx, [s for s in live_sites(ctx) if s['baseline_version'] != target],
                         'baseline of', apply)


# -- convert, revert: a standalone WordOps site onto the shared core and back --------------
def convert_sites(ctx, domains, every=False, force=False, dry_run=False):
    """Convert standalone WordOps sites (or, `every`, all of them) to the shared core,
    one after another. A site that fails is put back as it was and the others go on.
    Returns one result per site, each with a status: converted, unchanged, planned,
    refused or failed."""
    settings = ctx.settings
    with lock.exclusive(settings.lock_file):
        require_initialized(settings)
        if every:
            domains = convertible_domains(ctx)
        results = []
        for number, domain in enumerate(domains, 1):
            ctx.report('[{0}/{1}] {2} {3}'.format(number, len(domains),
                                                  'Planning' if dry_run else 'Converting', domain))
            try:
                results.append(convert_site(ctx, domain, force, dry_run))
            except MTError as e:
                results.append({'domain': domain, 'error': e.message, 'hint': e.hint,
                                'status': 'refused' if isinstance(e, InvalidInput) else 'failed'})
            except OSError as e:  # a file the site has that cannot move (a mount point ...)
                results.append({'domain': domain, 'error': str(e), 'status': 'failed',
                                'hint': 'it is back as it was; see the message'})
        return results


def convertible_domains(ctx):
    """WordOps' single WordPress sites that are not on the shared core."""
    ours = {s['domain'] for s in ctx.db.get_shared_sites()}
    return [r['sitename'] for r in ctx.db.wordops_sites()
            if r['site_type'] == 'wp' and r['sitename'] not in ours]


PLAN_PRIVATE = ('constants', 'table_prefix', 'missing', 'config', 'https')


def convert_site(ctx, domain, force=False, dry_run=False):
    """Convert one standalone site; the lock is held by the caller."""
    settings = ctx.settings
    validate.domain(domain)
    row = ctx.db.wordops_site(domain)
    if row is None:
        raise InvalidInput('{0} is not a WordOps site'.format(domain), 'see wo site list')
    swapped = docroot_swap.is_shared(layout.htdocs(settings, domain))
    if ctx.db.get_site(domain):
        if swapped and os.path.isdir(docroot_swap.swap_dir(settings, domain)) and not dry_run:
            docroot_swap.remove_old(settings, domain)  # stopped after it was recorded
        return {'domain': domain, 'status': 'unchanged', 'note': 'already on the shared core'}
    if swapped:  # a stopped run got past the swap
        if dry_run:
            return {'domain': domain, 'status': 'planned', 'note': 'finish a stopped conversion'}
        return finish_stopped_conversion(ctx, domain, row)
    plan = conversion_plan(ctx, domain, row, force)
    if dry_run:  # what it will do, without the secrets of wp-config.php
        return dict({k: v for k, v in plan.items() if k not in PLAN_PRIVATE},
                    status='planned', settings_kept=sorted(plan['constants']))
    return convert_standalone(ctx, plan)


def conversion_plan(ctx, domain, row, force):
    """Everything a conversion of `domain` will do, checked; refuses (InvalidInput)
    a site that cannot be converted, before anything changes."""
    settings = ctx.settings
    docroot = layout.htdocs(settings, domain)
    if row['site_type'] != 'wp':
        raise InvalidInput('{0} is a "{1}" site: only single WordPress sites share the core'
                           .format(domain, row['site_type']))
    if not os.path.isfile(os.path.join(docroot, 'wp-includes', 'version.php')):
        raise InvalidInput('{0} has no WordPress core in {1}'.format(domain, docroot))
    config = site_config_file(settings, domain)
    if not nginx.serves(settings, domain, docroot):
        raise InvalidInput('the vhost of {0} does not serve {1}'.format(domain, docroot),
                           'a site with its own vhost layout cannot be converted')
    php = row['php_version']
    phpfpm.require(settings, php, row['cache_type'])
    defined = wp_config.read(settings, config, domain, php)
    wp_config.check_convertible(settings, domain, defined['constants'])
    site = wordpress.task(settings, domain, php, 'inspect', core=docroot)
    current = releases.current(settings)
    release_version = releases.version(settings, current)
    check_core_not_newer(domain, site, release_version)
    if site['multisite']:
        raise InvalidInput('{0} is a multisite network'.format(domain))
    check_no_must_use_plugins(domain, docroot)
    missing = missing_from_shared(settings, domain, site)
    if missing and not force:
        raise InvalidInput('{0} uses what the shared set lacks: {1}'.format(
            domain, ', '.join(_named(kind, path) for kind, path in missing)),
            '--force adds them to the shared set (for every site to use)')
    https = bool(row['is_ssl'])
    before = health.probe(domain, https)
    if not before['ok']:
        raise InvalidInput('{0} does not serve well now: {1}'.format(domain, before['problem']),
                           'fix it first: a conversion must be able to tell it still serves')
    require_room_for_backup(settings, domain)
    return {'domain': domain, 'php_version': php, 'db_name': row['db_name'], 'config': config,
            'https': https, 'constants': defined['constants'],
            'table_prefix': defined['table_prefix'], 'wp_version': site['wp_version'],
            'release': current, 'release_wp_version': release_version[0],
            'add_to_shared': [_named(kind, path) for kind, path in missing], 'missing': missing,
            'dropins': site['dropins'], 'backup_to': settings.backups_dir,
            'own_files': docroot_swap.own_files(docroot, releases.path(settings, current))}


def site_config_file(settings, domain):
    """The wp-config.php a standalone site uses: htdocs/ first, as wp-load.php looks."""
    for candidate in (os.path.join(layout.htdocs(settings, domain), 'wp-config.php'),
                      wp_config.path(settings, domain)):
        if os.path.islink(candidate):
            raise InvalidInput('{0} is a link: convert works on plain files'.format(candidate))
        if os.path.isfile(candidate):
            return candidate
    raise InvalidInput('{0} has no wp-config.php'.format(domain))


def check_core_not_newer(domain, site, release_version):
    wp_version, db_version = release_version
    if releases.is_newer(site['wp_version'], wp_version) or site['db_version'] > db_version:
        raise InvalidInput('{0} runs WordPress {1}, newer than the shared core\'s {2}'.format(
            domain, site['wp_version'], wp_version),
            'update the shared core first: wo multitenancy update')


def check_no_must_use_plugins(domain, docroot):
    folder = os.path.join(docroot, 'wp-content', 'mu-plugins')
    found = sorted(n for n in os.listdir(folder) if n.endswith('.php')) \
        if os.path.isdir(folder) else []
    if found:
        raise InvalidInput('{0} has must-use plugins: {1}'.format(domain, ', '.join(found)),
                           'in the shared set they would run on every site; make them regular '
                           'plugins or remove them, then convert')


def missing_from_shared(settings, domain, site):
    """[(kind, path in the site)] of what a standalone site uses (`site`: what inspect
    found) that the shared wp-content lacks: active plugins, its themes, its language
    files. One that the site lists but lacks itself, or a link, is refused."""
    content = os.path.join(layout.htdocs(settings, domain), 'wp-content')
    used = [('plugins', p.split('/')[0]) for p in site['plugins']] + \
           [('themes', t) for t in site['themes'] if t] + \
           [('languages', f) for f in _files_under(os.path.join(content, 'languages'))]
    missing = []
    for kind, name in used:
        if os.path.exists(os.path.join(settings.shared_content, kind, name)):
            continue
        source = os.path.join(content, kind, name)
        if not os.path.exists(source) or _holds_links(source):
            raise InvalidInput('{0} uses {1} {2}, but {3} is missing or holds links'.format(
                domain, kind[:-1] if kind != 'languages' else 'language file', name, source),
                'deactivate it or replace the links by files, then convert')
        if kind != 'languages':
            baseline.slug_of(source)  # a name the shared set can take
        missing.append((kind, source))
    return missing


def _holds_links(path):
    """Whether `path` is a link or a folder with links in it: copied into the shared set
    by root, a link could take another site's file or writable code along."""
    if os.path.islink(path):
        return True
    return any(os.path.islink(os.path.join(top, n))
               for top, dirs, files in os.walk(path) for n in dirs + files)


def _files_under(folder):
    """Paths of the files under `folder`, relative to it."""
    found = []
    for top, _, files in os.walk(folder):
        found += [os.path.relpath(os.path.join(top, f), folder) for f in files]
    return sorted(found)


def _named(kind, path):
    return '{0} {1}'.format('language file' if kind == 'languages' else kind[:-1],
                            path.split('/wp-content/{0}/'.format(kind), 1)[1])


def require_room_for_backup(settings, domain):
    needed = fs.disk_usage(settings.site_root(domain)) // (1024 * 1024) + settings.min_free_space
    free = fs.free_mb(settings.backups_dir)
    if free < needed:
        raise InvalidInput('the backup of {0} needs about {1} MB; {2} MB are free'.format(
            domain, needed, free), 'free some space on the disk holding ' + settings.backups_dir)


def add_to_shared(settings, missing, release_dir, changes):
    """Copy what a converted site uses into the shared set (convert --force)."""
    for kind, source in missing:
        if kind == 'languages':
            relative = source.split('/wp-content/languages/', 1)[1]
            target = os.path.join(settings.shared_content, 'languages', relative)
            changes.on_failure('remove ' + target, lambda target=target: fs.remove(target))
            fs.make_dir(os.path.dirname(target))
            fs.copy_file(source, target)
        else:
            baseline.ensure(settings, kind, source, release_dir, changes)


def convert_standalone(ctx, plan):
    """Back the site up, build its shared-core document root beside it, write its
    configuration, swap, then finish; any failure puts the site back as it was."""
    settings, domain = ctx.settings, plan['domain']
    docroot = layout.htdocs(settings, domain)
    with Changes() as changes:
        ctx.report('Backing up {0} (files and database)'.format(domain))
        saved = backup.take(settings, domain, plan['db_name'], changes)
        add_to_shared(settings, plan['missing'], releases.path(settings, plan['release']), changes)
        baseline.install_enforcer(settings)
        wordpress.task(settings, domain, plan['php_version'], 'keep_own_theme', core=docroot)
        docroot_swap.discard_unswapped(settings, domain)
        changes.on_failure('remove the tree built beside ' + docroot,
                           lambda: docroot_swap.remove_spare(settings, domain, shared=True))
        docroot_swap.build_shared(settings, domain, plan['dropins'])
        write_shared_config(ctx, plan, changes)
        ctx.report('Switching {0} to the shared core'.format(domain))
        changes.on_failure('switch {0} back to its own core'.format(domain),
                           lambda: swap_back(ctx, domain, plan['php_version'], to_shared=True))
        docroot_swap.swap(settings, domain)
        applied = finish_conversion(ctx, domain, saved, plan['https'], changes)
    record_conversion(ctx, domain, applied)
    return {'domain': domain, 'status': 'converted', 'backup': saved,
            'wp_version': {'before': plan['wp_version'], 'after': plan['release_wp_version']},
            'added_to_shared': plan['add_to_shared'], 'own_files': plan['own_files'],
            'own_disk_bytes': layout.own_disk_usage(settings, domain)}


def write_shared_config(ctx, plan, changes):
    """The site's own constants (database, salts, its settings), then our defaults for
    what it does not set, in our configuration for the shared core; the site root
    becomes root's, as a created site's is."""
    settings, domain = ctx.settings, plan['domain']
    keep_config(settings, domain, changes)
    fs.make_dir(settings.site_root(domain))
    constants = dict(plan['constants'])
    for name, value in wp_config.defaults(settings, domain).items():
        constants.setdefault(name, value)
    wp_config.write(settings, domain, constants, plan['table_prefix'],
                    layout.htdocs(settings, domain))


def keep_config(settings, domain, changes):
    """Register the undo that puts the site's wp-config.php and its site root's owner
    back as they are now."""
    config, root = wp_config.path(settings, domain), settings.site_root(domain)
    kept, st = fs.keep_file(config), os.stat(root)

    def put_back():
        fs.restore_file(config, kept)
        os.chown(root, st.st_uid, st.st_gid)
    changes.on_failure('put back the wp-config.php of ' + domain, put_back)


def finish_conversion(ctx, domain, saved, https, changes):
    """After the swap: the site's own files moved over, the database brought to the
    shared core, the baseline plugins activated (the site keeps its theme), the site
    checked over HTTP. Each step is idempotent. Returns the baseline version applied."""
    settings = ctx.settings
    row = ctx.db.wordops_site(domain)
    release_dir = releases.path(settings, releases.current(settings))
    forget_old_scripts(ctx, domain, row['php_version'])
    moved = []
    changes.on_failure('move the own files of {0} back'.format(domain),
                       lambda: docroot_swap.move_back(settings, domain, moved))
    docroot_swap.move_own_files(settings, domain, release_dir, moved)
    if saved:
        changes.on_failure('restore the database of {0} from {1}'.format(domain, saved),
                           lambda: backup.restore_database(saved, row['db_name']))
    ctx.report('Bringing the database of {0} to the shared core'.format(domain))
    wordpress.upgrade_database(settings, domain, row['php_version'])
    applied = apply_baseline(ctx, domain, row['php_version'])
    nginx.purge_page_cache([domain])
    after = health.probe(domain, https)
    if not after['ok']:
        raise MTError('{0} does not serve well on the shared core: {1}'.format(
            domain, after['problem']), 'it is back on its own core; its backup: {0}'.format(saved))
    return applied['version']


def forget_old_scripts(ctx, domain, php_version):
    """After a site's document root was swapped and its wp-config.php rewritten, drop what
    OPcache compiled from the files that were there: it keys scripts by path and checks
    them only every revalidate_freq seconds, so it would run the old index.php, or the
    old wp-config.php (which sends WordPress to the release's own wp-content), a while."""
    phpfpm.forget_scripts(ctx.settings, [php_version], ctx.settings.site_root(domain))


def swap_back(ctx, domain, php_version, to_shared):
    docroot_swap.swap_back(ctx.settings, domain, to_shared)
    forget_old_scripts(ctx, domain, php_version)


def finish_stopped_conversion(ctx, domain, row):
    """Finish a conversion stopped after the swap; if that fails, the site goes back to
    its own core (still beside it) and its database to the backup."""
    settings = ctx.settings
    ctx.report('Finishing the stopped conversion of ' + domain)
    saved = backup.latest(settings, domain)
    with Changes() as changes:
        changes.on_failure('switch {0} back to its own core'.format(domain),
                           lambda: swap_back(ctx, domain, row['php_version'], to_shared=True))
        applied = finish_conversion(ctx, domain, saved, bool(row['is_ssl']), changes)
    record_conversion(ctx, domain, applied)
    return {'domain': domain, 'status': 'converted', 'backup': saved, 'resumed': True,
            'own_disk_bytes': layout.own_disk_usage(settings, domain)}


def record_conversion(ctx, domain, baseline_version):
    """Record a converted site (WordOps' row stays as it is), then drop its old tree,
    which is in the backup. A stop in between is finished by the next convert."""
    settings, row = ctx.settings, ctx.db.wordops_site(domain)
    ctx.db.adopt_site(our_row(settings, domain, row['cache_type'], row['php_version'],
                              baseline_version, row['is_ssl']))
    docroot_swap.remove_old(settings, domain)


def revert_site(ctx, domain):
    """Give a site on the shared core its own copy of the current release again."""
    settings = ctx.settings
    validate.domain(domain)
    with lock.exclusive(settings.lock_file):
        site = shared_site(ctx, domain, 'see wo multitenancy list')
        current = require_initialized(settings)
        release_dir = releases.path(settings, current)
        with Changes() as changes:
            if docroot_swap.is_shared(layout.htdocs(settings, domain)):
                dropins = wordpress.task(settings, domain, site['php_version'], 'inspect')['dropins']
                require_free_space(settings, settings.sites_root)
                docroot_swap.discard_unswapped(settings, domain)
                changes.on_failure('remove the tree built beside ' + domain,
                                   lambda: docroot_swap.remove_spare(settings, domain, shared=False))
                ctx.report('Copying the core, plugins and themes for ' + domain)
                docroot_swap.build_standalone(settings, domain, release_dir, dropins)
                changes.on_failure('switch {0} back to the shared core'.format(domain),
                                   lambda: swap_back(ctx, domain, site['php_version'], to_shared=False))
                ctx.report('Switching {0} to its own core'.format(domain))
                docroot_swap.swap(settings, domain)
            else:
                ctx.report('Finishing the stopped revert of ' + domain)
                changes.on_failure('switch {0} back to the shared core'.format(domain),
                                   lambda: swap_back(ctx, domain, site['php_version'], to_shared=False))
            finish_revert(ctx, site, release_dir, changes)
        ctx.db.release_site(domain)
        docroot_swap.remove_old(settings, domain)
    return {'domain': domain, 'status': 'reverted', 'wp_version': releases.version(settings, current)[0]}


def finish_revert(ctx, site, release_dir, changes):
    """After the swap: own files moved over, a standalone wp-config.php, the site root
    the web user's again (as WordOps has it), checked over HTTP."""
    settings, domain = ctx.settings, site['domain']
    moved = []
    changes.on_failure('move the own files of {0} back'.format(domain),
                       lambda: docroot_swap.move_back(settings, domain, moved))
    docroot_swap.move_own_files(settings, domain, release_dir, moved)
    defined = wp_config.read(settings, wp_config.path(settings, domain), domain,
                             site['php_version'])
    keep_config(settings, domain, changes)
    wp_config.write(settings, domain, wp_config.without_layout(defined['constants']),
                    defined['table_prefix'], layout.htdocs(settings, domain), shared=False)
    fs.make_dir(settings.site_root(domain), owner=(settings.web_user, settings.web_user))
    forget_old_scripts(ctx, domain, site['php_version'])
    nginx.purge_page_cache([domain])
    after = health.probe(domain, bool(site['is_ssl']))
    if not after['ok']:
        raise MTError('{0} does not serve well on its own core: {1}'.format(domain, after['problem']),
                      'it is back on the shared core')
