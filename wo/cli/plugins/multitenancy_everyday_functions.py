"""The everyday commands of wo multitenancy on the sites there are -- list, status,
info, login, audit, verify, baseline, maintenance, cron, backup and restore -- each a
short list of named steps, as in multitenancy_functions (which has the commands that
make, move and remove sites and releases, and `run`, through which the controller calls
every command).
"""
import json

from wo.multitenancy import (audit, backup, baseline, cron, fs, item_switching, lock, login_links,
                             mail, maintenance, nginx, releases, restic, rollout, shared_items,
                             shared_root, site_backup, sites, texts, validate, verification,
                             wordpress)
from wo.multitenancy.errors import (EXIT_FAILED, EXIT_UNHEALTHY, Busy, InvalidInput, MTError,
                                   PartlyFailed)
from wo.multitenancy.fleet import (for_each_site, health_of_every_site, live_sites,
                                   require_every_site)
from wo.multitenancy.switching import Stopwatch


# -- list, status, info, verify ---------------------------------------------------------
def list_sites(ctx):
    return [{'domain': s['domain'], 'php': s['php_version'], 'cache': s['cache_type'],
             'ssl': bool(s['is_ssl']), 'release': s['shared_release'], 'state': s['state'],
             'baseline_version': s['baseline_version']} for s in ctx.db.get_shared_sites()]


def status(ctx):
    """The shared core, its releases and disk use, and each site's health; a site that
    is not healthy raises PartlyFailed (exit 3) carrying the report."""
    settings = ctx.settings
    current = shared_root.require_initialized(settings)
    kept = shared_root.kept_releases(settings, current)
    found = health_of_every_site(ctx)
    report = {'release': current, 'wp_version': releases.version(settings, current)[0],
              'releases': kept,
              'shared_disk_bytes': fs.disk_usage(settings.shared_root),
              'baseline_version': (baseline.read(settings) or {}).get('version'),
              'sites': found, 'healthy': all(s['ok'] for s in found)}
    if not report['healthy']:
        raise PartlyFailed('', result=report, exit_code=EXIT_UNHEALTHY)
    return report


def site_info(ctx, domain):
    return sites.record_of(ctx, validate.domain(domain))


def login(ctx, domain, user=None, redirect=None, ttl=login_links.DEFAULT_TTL):
    """A link that logs its bearer into `domain`'s dashboard once, as `user` (default:
    its first administrator), within `ttl` seconds (login_links)."""
    settings = ctx.settings
    validate.domain(domain)
    login_links.require_ttl(ttl)
    login_links.require_path(redirect)
    site = sites.shared_site(ctx, domain, 'see wo multitenancy list')
    sites.require_live(site)
    found = wordpress.task(settings, domain, site['php_version'], 'login_user',
                           user=user or '')['login']  # the site's word: checked as text
    if not (isinstance(found, str) and login_links.LOGIN.match(found)):
        raise InvalidInput('{0} has {1}'.format(domain, 'no user ' + repr(user) if user else
                                                'no administrator'),
                           'name one of its users with --user LOGIN')
    login_links.install_plugin(settings)
    key = login_links.install_key(settings, site)
    claims = login_links.claims(domain, found, ttl, redirect)
    link = login_links.url(domain, bool(site['is_ssl']), login_links.token(key, claims))
    return {'domain': domain, 'user': found, 'url': link, 'ttl': ttl,
            'expires_at': audit.stamp_of(claims['exp'])[:19] + ' UTC',
            'link_id': claims['jti'][:8],
            'audit': 'link {0} for {1}, {2} s'.format(claims['jti'][:8], found, ttl)}


def audit_events(ctx, site=None, since=None, until=None, failed=False):
    """The audit trail's events asked for, oldest first (audit.listing), the sites'
    login-link events collected first."""
    if site:
        validate.domain(site)
    login_links.collect_events(ctx)
    return {'events': audit.listing(ctx.db, site, since, until, failed)}


def audit_summary(ctx, day=None):
    """The summary of `day` (default yesterday): mailed to alert_email when it has news
    and alert_email is set; events older than audit_keep_days pruned."""
    login_links.collect_events(ctx)
    report = audit.summary(ctx.db, audit.day_of(day), ctx.settings.audit_keep_days)
    if report['news'] and ctx.settings.alert_email:
        mail.send(ctx.settings.alert_email, texts.summary_subject(report),
                  texts.summary_text(report))
        report['mailed_to'] = ctx.settings.alert_email
    return report


def verify_sites(ctx, domains, every=False):
    """Verify sites on the shared core (or, `every`, all of them), holding the lock: a
    delete or an update meanwhile is refused (exit 4). Returns {'sites': one report per
    site (verification.verify), each kept as its last verification, 'failed': how many
    failed}; when any did, raises PartlyFailed (exit 3) carrying it. Neither domains nor
    `every`, or both: InvalidInput."""
    validate.domains_or_all(domains, every, 'verify', 'wo multitenancy verify example.com')
    found = ctx.db.get_shared_sites() if every else [
        sites.shared_site(ctx, validate.domain(d), 'see wo multitenancy list') for d in domains]
    with lock.exclusive(ctx.settings.lock_file):
        reports = verified(ctx, found)
    outcome = {'sites': reports, 'failed': sum(not r['ok'] for r in reports)}
    if outcome['failed']:
        raise PartlyFailed('', result=outcome, exit_code=EXIT_UNHEALTHY)
    return outcome


def verified(ctx, found):
    """Every check of each site of `found` (our rows), a few at a time (the lock held),
    each kept as its last verification: the reports, in `found`'s order. A site's
    WP-Cron run by the system cron is waited for; one that could not be verified (its
    job went on too long) has a failed check 'verification' saying why."""
    reports = {}

    def verify_one(site):
        with lock.site_job(ctx.settings, site['domain'], wait=lock.JOB_WAIT):
            reports[site['domain']] = verification.verify(ctx, site, sites.database_of(ctx, site))
        ctx.db.record_verification(site['domain'], reports[site['domain']])
        verification.require_passed(reports[site['domain']])  # its progress line names them
    for domain, problem in for_each_site(ctx, found, 'verifying', 'verified',
                                         verify_one).items():
        reports.setdefault(domain, verification.not_verified(domain, problem))
    return [reports[s['domain']] for s in found]


def verify_after_change(ctx, result):
    """After a command that changed what every site runs (when `result`, its result,
    says it changed): every live site verified, as `verify --all` does (the lock held);
    `result`, with 'unverified': {domain: the checks that failed} and the seconds it took
    (its 'seconds' 'verify')."""
    if result['changed']:
        clock = Stopwatch()
        reports = verified(ctx, live_sites(ctx))
        result['unverified'] = {r['domain']: [c['check'] for c in r['checks'] if not c['ok']]
                                for r in reports if not r['ok']}
        result.setdefault('seconds', {})['verify'] = clock.lap()
    return result


def require_verified(result):
    """`result`, unless a site failed verification after the change: then PartlyFailed
    (exit 3) naming each, carrying it. The change stays: the site needs a look."""
    if result.get('unverified'):
        raise PartlyFailed('{0} site(s) failed verification after the change: {1}'.format(
            len(result['unverified']), '; '.join('{0}: {1}'.format(d, ', '.join(c)) for d, c in
                                                 sorted(result['unverified'].items()))),
            'wo multitenancy verify <domain> shows what each check found and what to do',
            result, exit_code=EXIT_UNHEALTHY)
    return result


# -- baseline ------------------------------------------------------------------------------
def show_baseline(ctx):
    shared_root.require_initialized(ctx.settings)
    return _with_pins_to_reach(ctx.settings, baseline.read(ctx.settings))


def _with_pins_to_reach(settings, current):
    """The baseline `current`, with the pins the next update moves a plugin or theme to
    (up or down): 'pins_to_reach', [{kind, slug, pinned, in_use}]."""
    reach = []
    for kind in shared_items.KINDS:
        shared = shared_items.slugs(settings, kind)
        for slug, version in sorted(baseline.pins(current, kind).items()):
            if slug not in shared:  # its pin waits until it is shared again
                continue
            in_use = _version_in_use(settings, kind, slug)
            if in_use != version:
                reach.append({'kind': kind[:-1], 'slug': slug, 'pinned': version,
                              'in_use': in_use})
    return dict(current, pins_to_reach=reach)


def change_baseline(ctx, add_plugins=(), remove_plugins=(), theme=None, pins=None):
    """Change what every site must have and bring every site to it; `pins` ({kind:
    [SLUG=VERSION or SLUG=latest]}) pin shared plugins and themes for `update` (in the
    shared set; nothing switches now). With no change asked for, the baseline as it is
    (show_baseline).

    Re-running the same command finishes sites a previous run could not reach.
    Returns the baseline with failed_sites; sites that could not be brought to it
    raise PartlyFailed (exit 1) naming them, carrying that result.
    """
    pins = {kind: dict(baseline.parse_pin(p) for p in given)
            for kind, given in (pins or {}).items() if given}
    if not (add_plugins or remove_plugins or theme or pins):
        return show_baseline(ctx)
    settings = ctx.settings
    slugs = [baseline.slug_of(p) for p in add_plugins]
    removed = [baseline.slug_of(p) for p in remove_plugins]
    theme_slug = baseline.slug_of(theme) if theme else None
    with lock.exclusive(settings.lock_file):
        current = shared_root.require_initialized(settings)
        with ctx.changes() as changes:
            rollout.add_to_shared_set(settings, add_plugins, theme,
                                      releases.path(settings, current), changes)
            for kind, wanted in pins.items():
                for slug, version in wanted.items():
                    if version != baseline.LATEST:  # a pin of one gone may be taken away
                        shared_items.require_shared(settings, kind, slug)
            rollout.change(settings, slugs, removed, theme_slug, pins, changes)
        failed = rollout.apply_to_all_sites(ctx)
    return require_every_site(dict(_with_pins_to_reach(settings, baseline.read(settings)),
                                   failed_sites=failed), failed,
                              'could not be brought to the baseline')


def set_maintenance(ctx, mode, domains, every=False, message=None):
    """Turn maintenance (maintenance.py) `mode` on or off for sites on the shared core
    (or, `every`, all of them), all checked before any changes; nginx is tested and
    reloaded once. Each site's status: on, off or unchanged."""
    validate.domains_or_all(domains, every, 'maintenance ' + mode,
                            'wo multitenancy maintenance {0} example.com'.format(mode))
    if mode == 'off' and message is not None:
        raise InvalidInput('--message is for maintenance on')
    maintenance.require_message(message)
    settings = ctx.settings
    with lock.exclusive(settings.lock_file):
        shared_root.require_initialized(settings)
        chosen = [s['domain'] for s in ctx.db.get_shared_sites()] if every else [
            sites.shared_site(ctx, validate.domain(d), 'see wo multitenancy list')['domain']
            for d in domains]
        for domain in chosen if mode == 'on' else ():
            nginx.require_roots_conf_dir(settings, domain)
        with ctx.changes() as changes:
            changed = [d for d in chosen if (
                maintenance.turn_on(settings, d, message, changes) if mode == 'on'
                else maintenance.turn_off(settings, d))]
            if changed:
                nginx.check_config('nginx refused the maintenance page of ' + ', '.join(changed))
                nginx.reload()
    return {'sites': [{'domain': d, 'status': mode if d in changed else 'unchanged',
                       'maintenance': mode == 'on'} for d in chosen]}


# -- the system cron ---------------------------------------------------------------------
def cron_jobs(ctx):
    """Whether the system cron runs (its heartbeat is fresh), and each site's next
    WP-Cron event, its second of the minute and its last run by the system cron."""
    shared_root.require_initialized(ctx.settings)
    return {'system_cron': cron.heartbeat(ctx.settings), 'sites': [dict(
        domain=s['domain'], state=s['state'], splay_second=cron.splay(s['domain']),
        next_event=cron.next_event(ctx.ctl, s), last_run=json.loads(s['last_cron'] or 'null'))
        for s in ctx.db.get_shared_sites()]}


def run_cron(ctx):
    """What the system cron runs every minute (cron.run_due): {'sites': the runs of the
    live sites that had due events}. Quiet when nothing is set up, or when the last run
    still runs ('skipped'). A site whose run failed raises PartlyFailed (exit 1)."""
    if not shared_root.initialized_release(ctx.settings):
        return {'sites': {}}
    live = [s for s in ctx.db.get_shared_sites() if s['state'] == 'live']
    try:
        reports = cron.run_due(ctx, live)
    except Busy as e:
        return {'sites': {}, 'skipped': e.message}
    outcome = {'sites': reports}
    if not all(r['ok'] for r in reports.values()):
        raise PartlyFailed('', result=outcome, exit_code=EXIT_FAILED)
    return outcome


# -- backups -------------------------------------------------------------------------------
def back_up_sites(ctx, domains, every=False, prune=False):
    """A snapshot of each site (or, `every`, of every live one of ours) in the restic
    repository, one after another; then with `prune` the retention (keep_daily,
    keep_weekly, keep_monthly) applied to its snapshots and to the backups `convert`
    took of it, and the data no snapshot needs freed. {'sites': one result each (status
    saved or failed), 'repository_bytes'}; a site that failed does not stop the others,
    and raises PartlyFailed (exit 1) at the end."""
    settings = ctx.settings
    validate.domains_or_all(domains, every, 'backup', 'wo multitenancy backup example.com')
    named = [] if every else [sites.shared_site(ctx, validate.domain(d), 'see wo multitenancy '
                                                'list') for d in domains]
    for site in named:
        sites.require_live(site)
    with lock.exclusive(settings.lock_file):
        chosen = [s for s in ctx.db.get_shared_sites() if s['state'] == 'live' and (
            every or s['domain'] in [n['domain'] for n in named])]
        restic.ensure_repository(settings)
        results = []
        for number, site in enumerate(chosen, 1):
            ctx.report('[{0}/{1}] Backing up {2}'.format(number, len(chosen), site['domain']))
            results.append(_back_up(ctx, site, prune))
        if prune:
            ctx.report('Freeing what no snapshot needs')
            restic.prune(settings)
        outcome = {'sites': results, 'repository_bytes': restic.stats(settings).get('total_size')}
    if any(r['status'] == 'failed' for r in results):
        raise PartlyFailed('', result=outcome, exit_code=EXIT_FAILED)
    return outcome


def _back_up(ctx, site, prune):
    domain = site['domain']
    try:
        result = site_backup.back_up(ctx, site, known_database(ctx, site))
        if prune:
            result.update(forgotten=restic.forget(ctx.settings, domain, retention(ctx.settings)),
                          convert_backups_removed=backup.prune(ctx.settings, domain,
                                                               retention(ctx.settings)))
        return result
    except (MTError, OSError) as e:
        return {'domain': domain, 'status': 'failed',
                'error': getattr(e, 'message', None) or str(e)}


def known_database(ctx, site):
    """sites.database_of, or InvalidInput for a site whose database nobody knows."""
    database = sites.database_of(ctx, site)
    if not database:
        raise InvalidInput('the database of {0} is not known'.format(site['domain']),
                           'wo multitenancy info {0}'.format(site['domain']))
    return database


def retention(settings):
    return {'daily': settings.keep_daily, 'weekly': settings.keep_weekly,
            'monthly': settings.keep_monthly}


def snapshots_of(ctx, domain):
    site = sites.shared_site(ctx, validate.domain(domain), 'see wo multitenancy list')
    return {'domain': site['domain'], 'snapshots': restic.snapshots(ctx.settings, domain)}


def restore_site(ctx, domain, snapshot_id=None, as_domain=None):
    """Bring a live site's database and uploads back to a snapshot (the newest unless
    `snapshot_id`), proven over HTTP; a failure leaves it as it was. `as_domain`: into a
    new site of that name instead (the site itself need not exist any more)."""
    settings = ctx.settings
    validate.domain(domain)
    if as_domain is not None:
        return _restore_as(ctx, domain, snapshot_id, validate.domain(as_domain))
    with lock.exclusive(settings.lock_file):
        site = sites.shared_site(ctx, domain, 'see wo multitenancy list')
        sites.require_live(site)
        snapshot = site_backup.choose_snapshot(settings, domain, snapshot_id)
        with lock.site_job(settings, domain, wait=lock.JOB_WAIT), ctx.changes() as changes:
            result = site_backup.restore(ctx, site, known_database(ctx, site), snapshot,
                                         changes)
        site_backup.finish_restore(settings, domain)
    return result


def _restore_as(ctx, domain, snapshot_id, as_domain):
    """A new site `as_domain` made as create makes one, from a snapshot of `domain`."""
    settings = ctx.settings
    with lock.exclusive(settings.lock_file):
        snapshot = site_backup.choose_snapshot(settings, domain, snapshot_id)
        site, table_prefix, record = site_backup.copy_of(settings, domain, snapshot, as_domain)
        with ctx.changes() as changes:
            sites.check_new_site(ctx, site)
            db = sites.provision(ctx, site, changes, table_prefix)
            site_backup.fill_copy(ctx, site, db, domain, snapshot, changes)
            sites.go_live(ctx, site, db, changes, record['site'].get('baseline_version') or 0,
                          probe=True)
        site_backup.finish_restore(settings, as_domain)
        return site_backup.copied(settings, site, domain, snapshot, record)


def list_items(ctx, kind):
    """The shared plugins (or themes) kept as folders: the version every site runs, the
    versions kept, the version the baseline pins it to, and the sites that use each."""
    settings = ctx.settings
    shared_root.require_initialized(settings)
    active = item_switching.active_items(ctx, kind)
    pins = baseline.pins(baseline.read(settings), kind)
    items = []
    for slug in shared_items.slugs(settings, kind):
        items.append({'slug': slug, 'kept': shared_items.kept(settings, kind, slug),
                      'pinned': pins.get(slug),
                      'version': _version_in_use(settings, kind, slug),
                      'sites': sorted(d for d, names in active.items() if names and slug in names)})
    return {'kind': kind[:-1], 'items': items,
            'unknown': sorted(d for d, names in active.items() if names is None)}


def _version_in_use(settings, kind, slug):
    """The version every site runs, or None when a folder not adopted yet declares none."""
    try:
        return shared_items.version_in_use(settings, kind, slug)
    except MTError:
        return None
