"""Moving every site to another version of a shared plugin or theme (plugin|theme update,
rollback), as switching.py moves them to another core release: staging it, the sites
that use it, proving the version on one of them, the one-rename switch and its undo,
and settling (each user's chance to upgrade, page caches, HTTP checks, pruning)."""
import os
import time

from wo.multitenancy import (fs, health, layout, nginx, phpfpm, releases, shared_items,
                             shared_root, wordpress, wp_config)
from wo.multitenancy.errors import InvalidInput, MTError
from wo.multitenancy.fleet import for_each_site, live_sites

REVALIDATE_SECONDS = 6  # OPcache's revalidate_freq (5 s in WordOps' php.ini), and one more
PROBE_TRIES = 4  # tried again past OPcache's revalidate_freq
PROBE_PAUSE = 2


def previous_key(kind, slug):
    """The multitenancy_config key of the version that served before the last switch."""
    return 'previous:{0}/{1}'.format(kind, slug)


def rollback_target(ctx, kind, slug, current, to=None):
    """The version a rollback goes to: `to`, else the one that served before, else the
    newest older one kept. Raises InvalidInput naming the kept versions otherwise."""
    versions = shared_items.kept(ctx.settings, kind, slug)
    target = to or ctx.db.get_config(previous_key(kind, slug))
    if not to and (target == current or target not in versions):
        older = [v for v in versions
                 if shared_items.version_key(v) < shared_items.version_key(current)]
        target = older[-1] if older else None
    if target not in versions:
        raise InvalidInput('{0} {1}: {2}'.format(
            kind[:-1], slug, 'no version {0} is kept'.format(to) if to else
            'no version older than {0} is kept'.format(current)),
            'versions kept: {0}'.format(', '.join(versions) or 'none'))
    return target


def users(ctx, kind, slug, active):
    """The live sites that have `slug` active (a plugin) or as their theme or its parent,
    each with 'known': False for a site whose WordPress cannot say (it counts as one, and
    is probed, but is no canary). `active`: a dict filled with active_items() when empty,
    so that a command over several slugs looks once (a switch changes no activation)."""
    if not active:
        active.update(active_items(ctx, kind))
    return [dict(s, known=active[s['domain']] is not None) for s in live_sites(ctx)
            if s['domain'] in active and (active[s['domain']] is None or slug in active[s['domain']])]


def active_items(ctx, kind):
    """{domain: the slugs of the plugins it has active, or of its theme and parent} of
    every live site; None for a site whose WordPress cannot say (reported)."""
    found = {}

    def look(site):
        found[site['domain']] = None
        active = wordpress.task(ctx.settings, site['domain'], site['php_version'], 'inspect')
        names = active.get(kind) if isinstance(active, dict) else None
        if not isinstance(names, list):  # the site's own code answers for it
            raise MTError('its WordPress named no {0}'.format(kind))
        names = [n for n in names if isinstance(n, str)]
        found[site['domain']] = [p.split('/')[0] for p in names] if kind == 'plugins' else names

    for domain, problem in for_each_site(ctx, live_sites(ctx), 'finding which sites use which '
                                         + kind, 'looked at', look).items():
        ctx.report('{0}: cannot tell which {1} it uses ({2})'.format(domain, kind, problem))
    return found


def repair_pins(ctx):
    """Put back on the shared set any site a killed run left pinned to a canary's set,
    and drop from OPcache what it compiled there (a version maybe never proven)."""
    for kind in shared_items.KINDS:
        shared = os.path.join(ctx.settings.shared_content, kind)
        for site in live_sites(ctx):
            link = _content_link(ctx.settings, site['domain'], kind)
            if os.path.islink(link) and os.readlink(link) != shared:
                ctx.report('{0}: back on the shared {1}, left pinned by an interrupted run'
                           .format(site['domain'], kind))
                fs.symlink(shared, link)
                forget(ctx, os.path.join(ctx.settings.shared_content, '.versions', kind))


def adopt(ctx, kind, slug):
    """shared_items.adopt: the version every site runs, `slug` made a link to it first.
    A request that compiled the folder's scripts between their drop and the exchange
    keeps them in OPcache under the folder's paths, where no drop can reach them any
    more (opcache_invalidate resolves a path through the link), until OPcache next looks
    at their files: that is waited for, so that no site runs them after a switch."""
    adopting = shared_items.in_use(ctx.settings, kind, slug) is None
    version = shared_items.adopt(ctx.settings, kind, slug, lambda folder: forget(ctx, folder))
    if adopting:
        time.sleep(REVALIDATE_SECONDS)
    return version


def forget(ctx, directory):
    """Drop what the PHP-FPMs of the live sites compiled from files under `directory`."""
    versions = [s['php_version'] for s in live_sites(ctx)]
    if versions:
        phpfpm.forget_scripts(ctx.settings, versions, directory)


def switch_every_site(ctx, kind, slug, version, using, force, changes):
    """Prove `version` of `slug` on a canary among `using` (unless force), then point
    every site at it in one rename; what PHP compiled of the version before is dropped
    from OPcache (shared_items.py says why). A version asking for a newer PHP than a
    site of `using` has, or a newer WordPress than the core, is refused first, force or
    not. Returns the canary's domain (None: none)."""
    settings = ctx.settings
    shared_items.require_runs_on(settings, kind, slug, version,
                                 [s['php_version'] for s in using],
                                 releases.version(settings, releases.current(settings))[0])
    previous = shared_items.in_use(settings, kind, slug)
    shared_root.install_managed_updates(settings)
    canary = None
    if using and not force:
        canary = prove_on_canary(ctx, kind, slug, version, using, changes)
    ctx.report('Switching every site to {0} {1}'.format(slug, version))
    changes.on_failure('switch {0} back to {1}'.format(slug, previous),
                       lambda: switch_back(ctx, kind, slug, previous, version))
    shared_items.switch(settings, kind, slug, version)
    if canary:
        unpin(ctx, kind, canary)
    forget(ctx, shared_items.version_path(settings, kind, slug, previous))
    ctx.db.set_config(previous_key(kind, slug), previous)
    return canary and canary['domain']


def switch_back(ctx, kind, slug, previous, leaving):
    """The undo of a switch: every site back on `previous`, `leaving` dropped from OPcache."""
    shared_items.switch(ctx.settings, kind, slug, previous)
    forget(ctx, shared_items.version_path(ctx.settings, kind, slug, leaving))


def prove_on_canary(ctx, kind, slug, version, using, changes):
    """Run one site that uses `slug` alone on `version`, give the version its chance to
    upgrade there, and probe the site over HTTP. Raises MTError when it fails; the undo
    puts it back on the shared set. Returns the canary, still pinned."""
    site = _canary(ctx, kind, using)
    domain = site['domain']
    ctx.report('Proving {0} {1} on the canary site {2}'.format(slug, version, domain))
    view = shared_items.canary_set(ctx.settings, kind, slug, version)
    changes.on_failure('put {0} back on the shared {1}'.format(domain, kind),
                       lambda: unpin(ctx, kind, site, forgetting=version, slug=slug))
    fs.symlink(view, _content_link(ctx.settings, domain, kind))
    forget(ctx, shared_items.version_path(ctx.settings, kind, slug,
                                          shared_items.in_use(ctx.settings, kind, slug)))
    try:
        give_chance_to_upgrade(ctx, kind, slug, site)
        problem = settled_problem(site)
    except MTError as e:
        problem = e.message
    if problem:
        raise MTError('the canary site {0} fails on {1} {2}: {3}'.format(domain, slug, version, problem),
                      'no other site saw it; {0} is back on the {1} it had (what the new '
                      'version\'s upgrade wrote to its database stays)'.format(domain, slug))
    return site


def _canary(ctx, kind, using):
    """The first site of `using` that can prove a version: one known to use it that
    answers cleanly now (a site already broken would refuse every version), and for a
    plugin one whose WP_PLUGIN_DIR goes through its own wp-content (made so if an earlier
    version of this plugin wrote it otherwise)."""
    for site in using:
        if not site['known'] or not health.answers_cleanly(ctx.report, site):
            continue
        if kind == 'themes' or wp_config.plugins_through_docroot(
                ctx.settings, site['domain'], site['php_version']):
            return site
    raise MTError('no site using it can be a canary: none answers cleanly now, or their '
                  'wp-config.php name the shared plugins folder in a way this version does '
                  'not rewrite', 'fix one of them, or pass --force to switch without a canary')


def _content_link(settings, domain, kind):
    return os.path.join(layout.htdocs(settings, domain), 'wp-content', kind)


def unpin(ctx, kind, site, forgetting=None, slug=None):
    """Put a canary back on the shared set; `forgetting`: the version of `slug` it leaves
    (not the one the set has now), dropped from OPcache."""
    fs.symlink(os.path.join(ctx.settings.shared_content, kind),
               _content_link(ctx.settings, site['domain'], kind))
    if forgetting:
        forget(ctx, shared_items.version_path(ctx.settings, kind, slug, forgetting))
    shared_items.remove_canary_set(ctx.settings, kind)


def give_chance_to_upgrade(ctx, kind, slug, site):
    """What WordPress' upgrader runs after it replaced a plugin or theme, on one site."""
    wordpress.task(ctx.settings, site['domain'], site['php_version'], 'item_upgraded',
                   kind=kind, slug=slug)


def settled_problem(site):
    """Why the site does not answer cleanly, tried again a few times (OPcache looks at
    a changed file only every revalidate_freq seconds), or None."""
    problem = None
    for attempt in range(PROBE_TRIES):
        if attempt:
            time.sleep(PROBE_PAUSE)
        problem = health.page_problem(site['domain'], bool(site['is_ssl']))
        if not problem:
            return None
    return problem


def settle(ctx, kind, slug, version, previous, using, canary):
    """After a switch: each site using `slug` given its chance to upgrade (the canary
    had it), page caches purged, those sites probed; old versions pruned. Returns the
    result, with the sites that failed as {domain: problem}."""
    settings = ctx.settings
    rest = [s for s in using if s['domain'] != canary]
    failed = for_each_site(ctx, rest, 'letting {0} {1} upgrade'.format(slug, version),
                           'upgraded on', lambda site: give_chance_to_upgrade(ctx, kind, slug, site))
    purged = nginx.purge_page_cache([s['domain'] for s in live_sites(ctx)], settings.page_caches)

    def check(site):
        problem = settled_problem(site)
        if problem:
            raise MTError(problem)

    failed.update(for_each_site(ctx, [s for s in using if s['domain'] not in failed],
                                'checking the sites using ' + slug, 'checked', check))
    pruned = shared_items.prune(settings, kind, slug, settings.keep_releases, {version, previous})
    return {'kind': kind[:-1], 'slug': slug, 'version': version, 'previous': previous,
            'changed': True, 'sites_using': [s['domain'] for s in using], 'failed': failed,
            'canary': canary, 'purged_cache_entries': purged, 'pruned': pruned}


def update_items(ctx, kind, wanted, source, force):
    """Update each (slug, version) of `wanted` (the lock held); their results."""
    repair_pins(ctx)
    active = {}  # which sites use which, looked up once for every slug
    return [_update_item(ctx, kind, slug, source, version, force, active)
            for slug, version in wanted]


def _update_item(ctx, kind, slug, source, version, force, active):
    """One plugin's (or theme's) update; a failure is its result's 'error', and says
    whether every site runs another version all the same (a failure after the switch,
    or an undo that failed)."""
    settings, current = ctx.settings, None
    try:
        current = adopt(ctx, kind, slug)
        if version == current:  # a pin reached: no download to tell
            return unchanged(slug, current)
        with ctx.changes() as changes:
            ctx.report('Staging {0} {1} from {2}'.format(kind[:-1], slug, source or 'wordpress.org'))
            staged, _ = shared_items.stage(settings, kind, slug, source, version, changes)
            if staged == current:
                return unchanged(slug, current)
            using = users(ctx, kind, slug, active)
            canary = switch_every_site(ctx, kind, slug, staged, using, force, changes)
        return settle(ctx, kind, slug, staged, current, using, canary)
    except (MTError, OSError) as e:  # an OSError too: the plugins done before are reported
        now = shared_items.in_use(settings, kind, slug)
        switched = now if current and now != current else None
        message, hint = (e.message, e.hint) if isinstance(e, MTError) else (str(e), '')
        return {'slug': slug, 'changed': bool(switched), 'switched': switched, 'failed': {},
                'error': '{0} -- {1}'.format(message, hint) if hint else message}


def unchanged(slug, version):
    """The result of a plugin (or theme) left on `version`, which it has already."""
    return {'slug': slug, 'version': version, 'changed': False, 'failed': {}}
