"""Every site on the shared core at once: which of our sites are live, and running
one action on each of them a few at a time, with a progress line per site."""
import os
from concurrent.futures import ThreadPoolExecutor, as_completed

from wo.multitenancy import health, layout
from wo.multitenancy.errors import MTError

SITE_WORKERS = 4  # sites worked on at once (PHP processes, HTTP probes)


def live_sites(ctx):
    """Our sites whose files exist (one removed behind our back is left out)."""
    return [s for s in ctx.db.get_shared_sites()
            if os.path.isdir(layout.htdocs(ctx.settings, s['domain']))]


def for_each_site(ctx, sites, label, action):
    """Run action(site) for every site, a few at a time, with a progress line each.
    Returns {domain: problem} of the sites where it raised MTError; anything else
    it raises goes on."""
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


def health_of_every_site(ctx):
    """Each of our sites' answer to an HTTP probe, with the disk its own files use."""
    found = []
    for site in ctx.db.get_shared_sites():
        ctx.report('Checking {0}'.format(site['domain']))
        probe = health.probe(site['domain'], bool(site['is_ssl']))
        found.append(dict(probe, domain=site['domain'],
                          own_disk_bytes=layout.own_disk_usage(ctx.settings, site['domain'])))
    return found
