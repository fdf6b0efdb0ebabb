"""Reverting one site: a site on the shared core gets its own copy of the current
release again (built beside it, swapped in, its own files moved back, a standalone
wp-config.php), or a stopped revert is finished; then our record of it goes."""
from wo.multitenancy import (docroot_swap, health, layout, login_links, maintenance, nginx,
                             wordpress, wp_config)
from wo.multitenancy.conversion import forget_old_scripts, keep_config, swap_back
from wo.multitenancy.errors import MTError
from wo.multitenancy.shared_root import require_free_space


def swap_to_own_core(ctx, site, release_dir, changes):
    """Build a standalone document root beside the site (a copy of `release_dir` with
    copies of the shared plugins and themes) and swap it in; a site a stopped revert
    already swapped is left as it is. The undo swaps back to the shared core."""
    settings, domain = ctx.settings, site['domain']
    if not docroot_swap.is_shared(settings, layout.htdocs(settings, domain)):
        ctx.report('Finishing the stopped revert of ' + domain)
        _undo_swap(ctx, site, changes)
        return
    dropins = wordpress.task(settings, domain, site['php_version'], 'inspect')['dropins']
    require_free_space(settings, settings.sites_root)
    docroot_swap.discard_unswapped(settings, domain)
    changes.on_failure('remove the tree built beside ' + domain,
                       lambda: docroot_swap.remove_spare(settings, domain, shared=False))
    ctx.report('Copying the core, plugins and themes for ' + domain)
    docroot_swap.build_standalone(settings, domain, release_dir, dropins)
    _undo_swap(ctx, site, changes)
    ctx.report('Switching {0} to its own core'.format(domain))
    docroot_swap.swap(settings, domain)


def _undo_swap(ctx, site, changes):
    changes.on_failure('switch {0} back to the shared core'.format(site['domain']),
                       lambda: swap_back(ctx, site['domain'], site['php_version'],
                                         to_shared=False))


def finish_revert(ctx, site, release_dir, changes):
    """After the swap: own files moved over, a standalone wp-config.php, checked over
    HTTP. Raises MTError when the site does not serve well (the undo puts it back on the
    shared core)."""
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
    forget_old_scripts(ctx, domain, site['php_version'])
    nginx.purge_page_cache([domain], settings.page_caches)
    after = health.probe(domain, bool(site['is_ssl']))
    if not after['ok']:
        raise MTError('{0} does not serve well on its own core: {1}'.format(domain, after['problem']),
                      'it is back on the shared core')


def forget_site(ctx, domain):
    """Our record of a reverted site goes (WordOps keeps its row), then the shared-core
    tree that was swapped out. The site root stays root's (its htdocs is the web
    user's, as WordOps has it): were it the site's, it could put a conf/ of its own in
    place of root's, and nginx includes conf/nginx/*.conf as root. Its login key goes
    too: the shared MU-plugin that took its links no longer runs there; and its
    maintenance page (`maintenance` is for sites on the shared core)."""
    ctx.db.release_site(domain)
    login_links.forget_key(ctx.settings, domain)
    if maintenance.turn_off(ctx.settings, domain):
        nginx.reload()
    docroot_swap.remove_old(ctx.settings, domain)
