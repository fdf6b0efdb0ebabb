"""Every site on the shared core at once: which of our sites are live, and running
one action on each of them a few at a time, with a progress line per site."""
import os
from concurrent.futures import ThreadPoolExecutor, as_completed

from wo.multitenancy import health, layout, maintenance
from wo.multitenancy.errors import MTError, PartlyFailed

SITE_WORKERS = 4  # sites worked on at once (PHP processes, HTTP probes)


def live_sites(ctx):
    """Our live sites whose files exist (one removed behind our back, or left part-made
    by a create that was killed, is left out)."""
    return [s for s in ctx.db.get_shared_sites()
            if s['state'] == 'live' and os.path.isdir(layout.htdocs(ctx.settings, s['domain']))]


def for_each_site(ctx, sites, phase, label, action):
    """In `phase` (what the command is doing, for the journal), run action(site) for
    every site, a few at a time, with a progress line `label` <domain>: outcome each.
    Returns {domain: problem} of the sites where it raised MTError; anything else
    it raises goes on, and sites not started yet are not started."""
    ctx.journal.during(phase)
    failed = {}
    pool = ThreadPoolExecutor(max_workers=SITE_WORKERS)
    try:
        futures = {pool.submit(action, site): site['domain'] for site in sites}
        for done, future in enumerate(as_completed(futures), 1):
            try:
                future.result()
                outcome = 'ok'
            except MTError as e:
                failed[futures[future]] = outcome = e.message
            ctx.journal.show('[{0}/{1}] {2} {3}: {4}'.format(
                done, len(sites), label, futures[future], outcome))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return failed


def require_every_site(result, failed, what='not on the new release'):
    """`result`, unless some sites could not be finished (`failed`: {domain: problem}):
    then PartlyFailed (exit 1) naming them and carrying `result`."""
    if failed:
        raise PartlyFailed('{0} site(s) {1}: {2}'.format(len(failed), what, '; '.join(
            '{0}: {1}'.format(d, p) for d, p in sorted(failed.items()))),
            'fix the cause and run the same command again: it finishes them', result)
    return result


def health_of_every_site(ctx):
    """Each of our sites' answer to an HTTP probe, with the disk its own files use, a
    few sites at a time, in the registry's order; a site that is not live (nginx does
    not route it: its name reaches the default site) is not healthy, and says its
    state."""
    sites, found = ctx.db.get_shared_sites(), {}

    def check(site):
        found[site['domain']] = health = dict(
            probe(site), domain=site['domain'], state=site['state'],
            maintenance=maintenance.is_on(ctx.settings, site['domain']),
            own_disk_bytes=layout.own_disk_usage(ctx.settings, site['domain']))
        if not health['ok']:  # its progress line says why
            raise MTError(health['problem'])
    failed = for_each_site(ctx, sites, 'checking every site', 'checked', check)
    return [found.get(s['domain']) or dict(
        domain=s['domain'], state=s['state'], ok=False, status=0, version=None,
        problem=failed[s['domain']], maintenance=False, own_disk_bytes=0) for s in sites]


def probe(site):
    """health.probe of our site (our row `site`); one that is not live is not routed,
    so not probed: nginx's default site would answer its name."""
    if site['state'] == 'live':
        return health.probe(site['domain'], bool(site['is_ssl']))
    return {'ok': False, 'status': 0, 'version': None,
            'problem': 'not live ({0}): wo multitenancy info shows why'.format(site['state'])}
