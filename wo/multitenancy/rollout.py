"""Bringing sites to the baseline: one site (create, convert), every site behind it
(baseline), and the change of baseline.json that `baseline` makes first."""
from wo.multitenancy import baseline, wordpress
from wo.multitenancy.errors import MTError
from wo.multitenancy.fleet import for_each_site, live_sites


def apply_baseline(ctx, domain, php_version):
    """Bring one site to the baseline; raise MTError naming what could not be applied."""
    applied = wordpress.task(ctx.settings, domain, php_version, 'baseline')
    if applied['missing']:
        raise MTError('the baseline could not be applied to {0}: {1} missing'
                      .format(domain, ', '.join(applied['missing'])),
                      'see wo multitenancy baseline; the shared wp-content lacks them')
    return applied


def apply_to_all_sites(ctx):
    """Apply the baseline to every site behind it; returns {domain: problem} of failures."""
    target = baseline.read(ctx.settings)['version']

    def apply(site):
        applied = apply_baseline(ctx, site['domain'], site['php_version'])
        ctx.db.set_site_baseline(site['domain'], applied['version'])

    return for_each_site(ctx, [s for s in live_sites(ctx) if s['baseline_version'] != target],
                         'bringing every site to the baseline', 'baseline of', apply)


def add_to_shared_set(settings, plugins, theme, release_dir, changes):
    """Make `plugins` and `theme` (slugs, .zips or directories) present in the shared
    wp-content; the undo removes what was added."""
    for plugin in plugins:
        baseline.ensure(settings, 'plugins', plugin, release_dir, changes)
    if theme:
        baseline.ensure(settings, 'themes', theme, release_dir, changes)


def change(settings, add_plugins, remove_plugins, theme, pins, changes):
    """Write baseline.json with the change, when it changes anything (its version is
    bumped when the plugins or the theme change; `pins`: {kind: {slug: version or
    LATEST}}); the undo puts the previous one back."""
    present = baseline.read(settings)
    wanted = baseline.changed(present, add_plugins, remove_plugins, theme)
    for kind, versions in pins.items():
        wanted = baseline.pinned(wanted, kind, versions)
    if wanted != present:
        baseline.write(settings, wanted, changes)
