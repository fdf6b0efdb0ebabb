"""Moving every site to another release (update, rollback, init --force): proving a
release on a canary site, the one-rename switch of `current` and its undo, finishing
what an interrupted run left, and settling afterwards (databases, page caches, HTTP
checks, pruning)."""
import time
from concurrent.futures import ThreadPoolExecutor

from wo.multitenancy import (fs, health, layout, nginx, phpfpm, pools, releases, shared_root,
                             wordpress)
from wo.multitenancy.errors import InvalidInput, MTError
from wo.multitenancy.fleet import for_each_site, live_sites

PROBE_PAUSE = 2  # seconds before a site's failed probe after a switch is tried again
PHP_SETTLE_SECONDS = 130  # PHP's realpath_cache_ttl (120 s) and OPcache's revalidate_freq
DOWNGRADE_NOTE = ('WordPress cannot downgrade a database: the tables keep what the newer '
                  'release added, and each database now names the older core\'s version, '
                  'so it runs without asking for a database update.')


def nothing_to_do(settings, current):
    """The result of an update or rollback that found every site on its target."""
    return {'changed': False, 'release': current,
            'wp_version': releases.version(settings, current)[0]}


def same_version(settings, name, other):
    """Whether releases `name` and `other` hold the same WordPress version."""
    return releases.version(settings, name)[0] == releases.version(settings, other)[0]


def rollback_target(ctx, current, to=None):
    """The release a rollback goes to: `to` (a release name, or a WordPress version: the
    newest kept release of it, `current` when that is one), else the one that served
    before `current` was switched to, else the newest older one. Raises InvalidInput
    (naming the kept releases) when there is none, or `to` is not kept."""
    kept = releases.names(ctx.settings)
    target = _release_of(ctx.settings, to, current, kept) if to else _previous_release(ctx, current)
    if target not in kept:
        raise InvalidInput('no release {0} to roll back to'.format(to) if to else
                           'there is no release older than {0}'.format(current),
                           'releases kept: {0}'.format(', '.join(
                               '{0} ({1})'.format(n, releases.version(ctx.settings, n)[0])
                               for n in kept)))
    return target


def _release_of(settings, to, current, kept):
    """Release `to` by name, or the release of WordPress version `to` (a fleet rolls
    back to one version; each server names its releases itself)."""
    if to in kept:
        return to
    of_version = [n for n in kept if releases.version(settings, n)[0] == to]
    return current if current in of_version else (of_version or [None])[-1]


def _previous_release(ctx, current):
    previous = ctx.db.get_config('previous_release')
    if previous and previous != current and previous in releases.names(ctx.settings):
        return previous
    return releases.previous(ctx.settings, current)


def switch_every_site(ctx, name, force, changes):
    """Prove release `name` on a canary site (unless force), then point `current` at it
    in one rename. Sites made by an older version of this plugin get our nginx include,
    sovereign ones their pool as this version writes it, and the shared set our
    managed-updates MU-plugin, first.

    What PHP compiled from the release left stays in OPcache until settle(): a rollback
    finds it compiled."""
    settings = ctx.settings
    previous = releases.current(settings)
    sites = live_sites(ctx)
    sockets = {s['domain']: pools.fpm_socket(settings, s['domain']) for s in sites}
    for domain in nginx.ensure_site_includes(settings, sockets)[1]:
        ctx.report('{0}: its conf/nginx is not root\'s alone, so it gets no include of ours; '
                   'wo multitenancy convert {0} settles it'.format(domain))
    for domain in pools.refresh_pools(settings, sites, changes):
        ctx.report('{0}: its pool is written anew, as this version writes it'.format(domain))
    shared_root.install_managed_updates(settings)
    if previous and sites:
        versions = [s['php_version'] for s in sites]
        changes.on_failure('drop {0} from OPcache'.format(name), lambda: phpfpm.forget_scripts(
            settings, versions, releases.path(settings, name)))
        phpfpm.warm_scripts(settings, versions, releases.path(settings, previous),
                            releases.path(settings, name))
    if sites and not force:
        prove_on_canary(ctx, *canary(ctx, sites), name, changes)
    ctx.report('Switching every site to {0}'.format(name))
    changes.on_failure('switch back to {0}'.format(previous), lambda: switch_back(ctx, previous))
    releases.switch(settings, name)
    for site in sites:
        layout.link_core(settings, site['domain'])
    ctx.db.record_release(name, *releases.version(settings, name))
    ctx.db.mark_current_release(name)
    if previous:
        ctx.db.set_config('previous_release', previous)


def switch_back(ctx, previous):
    """The undo of a switch: `current` back to `previous` (None: no link at all)."""
    if previous is None:
        fs.remove(ctx.settings.current_link)
        return
    releases.switch(ctx.settings, previous)
    ctx.db.mark_current_release(previous)
    for site in live_sites(ctx):
        layout.link_core(ctx.settings, site['domain'])


def canary(ctx, sites):
    """(The canary among the live `sites`, whether it answers cleanly now): the first
    that does (health.answers_cleanly); when none does (a release that broke every
    site, which a rollback or an update is to mend), the first."""
    for site in sites:
        if health.answers_cleanly(ctx.report, site):
            return site, True
    ctx.report('No site answers cleanly now: {0} is the canary all the same'.format(
        sites[0]['domain']))
    return sites[0], False


def prove_on_canary(ctx, site, clean, name, changes):
    """Run one site alone on release `name`, its database upgraded, and probe it over
    HTTP: whole to </html> when it was so (`clean`) before. Raises MTError when it
    fails; the undo puts it back on the current release."""
    settings, domain = ctx.settings, site['domain']
    wp_version = releases.version(settings, name)[0]
    ctx.report('Proving WordPress {0} on the canary site {1}'.format(wp_version, domain))
    changes.on_failure('put {0} back on the current release'.format(domain),
                       lambda: back_on_current(ctx, site))
    leaving = releases.path(settings, releases.current(settings))
    layout.link_core(settings, domain, name)
    try:
        wordpress.upgrade_database(settings, domain, site['php_version'])
        problem = release_problem(ctx, site, wp_version, leaving, whole=clean)
    except MTError as e:
        problem = e.message
    if problem:
        raise MTError('the canary site {0} fails on {1}: {2}'.format(domain, name, problem),
                      'no other site was switched; {0} is back on the current release'
                      .format(domain))
    ctx.db.set_site_release(domain, name)


def back_on_current(ctx, site):
    """Return a site to `current`, its database with it."""
    settings, domain = ctx.settings, site['domain']
    layout.link_core(settings, domain)
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
        back_on_current(ctx, site)


def settle(ctx, name, previous):
    """After a switch: every database brought to release `name`, page caches purged,
    every site checked over HTTP; old releases pruned meanwhile (deleting a release is
    disk work, the rest mostly waits for PHP). Returns the result, with the sites that
    failed as {domain: problem}."""
    settings = ctx.settings
    sites = live_sites(ctx)
    wp_version = releases.version(settings, name)[0]
    seconds, clock = {}, Stopwatch()
    forget_other_releases(ctx, sites, {name, previous})
    with ThreadPoolExecutor(max_workers=1) as background:
        pruning = background.submit(timed, prune, ctx, {name, previous})
        failed = for_each_site(ctx, [s for s in sites if s['shared_release'] != name],
                               'bringing the databases to ' + name, 'database of',
                               lambda site: align_database(ctx, site, name))
        seconds['databases'] = clock.lap()
        purged = nginx.purge_page_cache([s['domain'] for s in sites], settings.page_caches)
        seconds['purge'] = clock.lap()
        leaving = releases.path(settings, previous) if previous else None
        failed.update(for_each_site(ctx, [s for s in sites if s['domain'] not in failed],
                                    'checking every site over HTTP', 'checked',
                                    lambda site: require_release(ctx, site, wp_version, leaving)))
        seconds['check'] = clock.lap()
        pruned, seconds['prune'] = pruning.result()
    return {'release': name, 'wp_version': wp_version, 'sites': len(sites), 'failed': failed,
            'purged_cache_entries': purged, 'pruned': pruned, 'seconds': seconds}


def forget_other_releases(ctx, sites, kept):
    """Drop from OPcache every release but those in `kept` (the one the sites run now, and
    the one a rollback would go to). Nothing runs them (sites enter the core by its real
    path, php/site-entry.php), but OPcache only reclaims what is dropped: a cache full of
    releases no one runs stops caching at all (seen: hit rate 78 %, every request
    compiling), while dropped scripts count as wasted and make OPcache restart."""
    versions = [s['php_version'] for s in sites]
    for name in releases.names(ctx.settings):
        if name not in kept and versions:
            phpfpm.forget_scripts(ctx.settings, versions, releases.path(ctx.settings, name))


def timed(action, *args):
    """(action(*args), the seconds it took)."""
    clock = Stopwatch()
    return action(*args), clock.lap()


class Stopwatch:
    """The seconds of each phase of a command, for its result's `seconds`."""

    def __init__(self):
        self._last = time.monotonic()

    def lap(self):
        """Seconds since the last lap, or since the start."""
        now = time.monotonic()
        seconds, self._last = now - self._last, now
        return seconds


def align_database(ctx, site, name):
    """Upgrade (or, after a rollback, realign) a site's database to the core it runs."""
    wordpress.upgrade_database(ctx.settings, site['domain'], site['php_version'])
    ctx.db.set_site_release(site['domain'], name)


def release_problem(ctx, site, wp_version, leaving, whole=False):
    """Why the site does not run `wp_version` cleanly after its link moved away from
    release dir `leaving`, or None once it does (`whole`: its front page to </html>).

    Entry points resolve the core per request (php/site-entry.php), so the first probe
    normally passes. A failed one drops `leaving` from OPcache and is repeated for up to
    PHP_SETTLE_SECONDS: what PHP caches by path (OPcache, the realpath cache with its
    120 s) is the one way a worker could still run the release a link left.
    """
    deadline = time.monotonic() + PHP_SETTLE_SECONDS
    problem = health.release_problem(site['domain'], bool(site['is_ssl']), wp_version, whole)
    while problem and time.monotonic() < deadline:
        if leaving:
            phpfpm.forget_scripts(ctx.settings, [site['php_version']], leaving)
        time.sleep(PROBE_PAUSE)
        problem = health.release_problem(site['domain'], bool(site['is_ssl']), wp_version,
                                         whole)
    return problem


def require_release(ctx, site, wp_version, leaving):
    """Raises MTError naming why the site does not run `wp_version` cleanly."""
    problem = release_problem(ctx, site, wp_version, leaving)
    if problem:
        raise MTError(problem)


def prune(ctx, protected):
    """Remove releases beyond keep_releases (never one in `protected`), and forget them."""
    removed = releases.prune(ctx.settings, ctx.settings.keep_releases, protected)
    ctx.db.forget_releases(removed)
    return removed
