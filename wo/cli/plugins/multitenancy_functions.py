"""The commands of wo multitenancy, each a short list of named steps.

Every command validates all its input before it changes anything, holds the
multitenancy lock while it changes the server, and registers an undo before each
step, so a failure leaves the server as it was (see wo.multitenancy.undo). The steps
live in wo.multitenancy, one module per family (docs/architecture.md lists them).

Each command returns its result, or raises an MTError (its exit code, a hint, and
for a command that did part of its work, the result): `run` is how the controller
calls one, and it turns an interruption or an unexpected OSError into an MTError too.
"""
import secrets

from cement.core.exc import CaughtSignal

from wo.cli.plugins.multitenancy_db import MTDatabase
from wo.cli.plugins.multitenancy_everyday_functions import require_verified, verify_after_change
from wo.multitenancy import (audit, baseline, conversion, fs, isolating, item_switching, lock,
                             login_links, nginx, releases, reversion, rollout,
                             shared_items, shared_root, site_backup, sites, ssl, sources,
                             switching, validate)
from wo.multitenancy import settings as mt_settings
from wo.multitenancy.context import Context, Journal
from wo.multitenancy.conversion_checks import convertible_domains
from wo.multitenancy.errors import EXIT_FAILED, EXIT_REFUSED, InvalidInput, MTError, PartlyFailed
from wo.multitenancy.fleet import require_every_site
from wo.multitenancy.logs import attach_syslog
from wo.multitenancy.sites import removal_plan, require_removable
from wo.multitenancy.wordops import Caller


def run(command, app, show, name=None, argv=(), domains=()):
    """Run command(context) for the Cement app `app`, its progress lines shown through
    show(text); return its result. A command `name` that changes something (given
    `argv`, naming `domains`) is in the audit trail: started before it acts, closed
    before it returns or raises.

    Raises MTError: the command's own, Interrupted (exit 128 + the signal) when Ctrl-C
    or SIGTERM (Cement's CaughtSignal) stopped it -- after its undo ran -- and an
    MTError naming an OSError no step expected (a full disk, a permission); both say
    what the command left and how to finish.
    """
    journal, ctx, started = Journal(show), None, None
    try:
        try:
            ctx = make_context(app, journal)
            started = audit.begin(ctx, name, argv, domains)
            result = command(ctx)
        except CaughtSignal as e:
            raise journal.interrupted(e.signum, e) from None
        except OSError as e:
            raise journal.unexpected(e) from e
    except MTError as e:
        audit.close(ctx, started, e.exit_code, e.result, e.message)
        raise
    except BaseException as e:  # a bug, or WordOps' Log.error exiting: not a killed command
        audit.close(ctx, started, e.code if isinstance(e, SystemExit) and isinstance(
            e.code, int) else EXIT_FAILED, None, '{0}: {1}'.format(type(e).__name__, e))
        raise
    audit.close(ctx, started, 0, result)
    return result


def make_context(app, journal):
    """The Context of a command: settings from the app's configuration, our tables
    (made when missing), syslog attached."""
    settings = mt_settings.from_app(app)
    database = MTDatabase(settings.wo_database)
    database.initialize_tables()
    attach_syslog(settings)
    return Context(ctl=Caller(app), settings=settings, db=database, journal=journal)


# -- init, update, rollback: the shared core and the release every site runs ----------------
def init_shared(ctx, source=None, force=False):
    """Create the shared root, stage a release, seed the baseline, switch to it."""
    settings = ctx.settings
    sources.check_source(source)
    with lock.exclusive(settings.lock_file):
        current = shared_root.initialized_release(settings)
        if current and not force:
            return {'changed': False, 'release': current,
                    'message': 'already initialized on {0}; --force stages a fresh release'
                    .format(current)}
        shared_root.require_free_space(settings, settings.shared_root)
        with ctx.changes() as changes:
            ctx.report('Creating the shared directories')
            shared_root.create_dirs(settings, changes)
            ctx.report('Staging WordPress from {0}'.format(source or 'wordpress.org'))
            name = releases.stage(settings, source, changes)
            ctx.report('Seeding the baseline plugins and theme')
            notes = shared_root.seed_baseline(settings, releases.path(settings, name), changes)
            baseline.install_enforcer(settings)
            login_links.install_plugin(settings)
            switching.switch_every_site(ctx, name, True, changes)
        result = dict(switching.settle(ctx, name, current), changed=True, notes=notes)
    return require_every_site(result, result['failed'])


def update(ctx, source=None, version=None, force=False, core_only=False, plugins_only=False):
    """Update the core: stage a release, prove it on a canary site, switch every site to
    it, upgrade every database. Then, unless --source or --version named a release,
    every shared plugin and theme the baseline pins to another version than the one in
    use, or wordpress.org has a newer version of, each as `plugin update` does.
    `plugins_only`: those alone. Nothing to do: says so, changes nothing."""
    settings = ctx.settings
    if plugins_only and (core_only or source or version):
        raise InvalidInput('--{0} names the core, which --plugins-only leaves alone'.format(
            'core-only' if core_only else 'source' if source else 'version'),
            'see wo multitenancy update --help')
    if source and version:
        raise InvalidInput('--source and --version both name the release: give one',
                           '--source takes that release whatever --version says')
    sources.check_source(source)
    sources.check_version(version)
    items_too = not core_only and source is None and version is None
    with lock.exclusive(settings.lock_file):
        current = shared_root.require_initialized(settings)
        result = {'changed': False}
        if not plugins_only:
            result = _update_core(ctx, current, source, version, force)
            require_every_site(result, result.get('failed', {}))
        done = _update_every_shared_item(ctx, result) if items_too else []
        verify_after_change(ctx, result)
    return require_verified(_items_finished(result, done))


def _update_every_shared_item(ctx, result):
    """update's plugins and themes part (the lock held): each kind's results put in
    `result` (its 'changed' too); all of them."""
    done = []
    for kind in shared_items.KINDS:
        ctx.report('Asking wordpress.org which shared {0} have a newer version'.format(kind))
        try:
            newer, result['not_updated_' + kind] = shared_items.due_updates(
                ctx.settings, kind, baseline.pins(baseline.read(ctx.settings), kind))
        except MTError as e:  # what was done before it: the core, the plugins
            e.result = dict(result, changed=result['changed'] or any(r['changed'] for r in done))
            raise
        # --force is the core's: not passed on
        result[kind] = item_switching.update_items(ctx, kind, newer, None, False)
        done += result[kind]
    result['changed'] = result['changed'] or any(r['changed'] for r in done)
    return done


def _update_core(ctx, current, source, version, force):
    """update's core part (the lock held): the result, its 'failed' the sites that could
    not be brought to the release after the switch."""
    settings = ctx.settings
    switching.finish_interrupted(ctx, current)
    if source is None and not force and \
            (version or sources.latest_version()) == releases.version(settings, current)[0]:
        return switching.nothing_to_do(settings, current)
    shared_root.require_free_space(settings, settings.shared_root)
    clock = switching.Stopwatch()
    with ctx.changes() as changes:
        ctx.report('Staging WordPress from {0}'.format(source or 'wordpress.org'))
        name = releases.stage(settings, source, changes, version)
        if not force and switching.same_version(settings, name, current):
            fs.remove(releases.path(settings, name))
            return switching.nothing_to_do(settings, current)
        staged = clock.lap()
        switching.switch_every_site(ctx, name, force, changes)
    switched = clock.lap()
    result = dict(switching.settle(ctx, name, current), changed=True, previous=current)
    result['seconds'].update(stage=staged, canary_and_switch=switched)
    return result


def rollback(ctx, to=None, force=False):
    """Switch every site back to the previous release (or `to`), as update switches."""
    settings = ctx.settings
    with lock.exclusive(settings.lock_file):
        current = shared_root.require_initialized(settings)
        switching.finish_interrupted(ctx, current)
        target = switching.rollback_target(ctx, current, to)
        if target == current:
            return switching.nothing_to_do(settings, current)
        with ctx.changes() as changes:
            switching.switch_every_site(ctx, target, force, changes)
        result = dict(switching.settle(ctx, target, current), changed=True, previous=current,
                      note=switching.DOWNGRADE_NOTE)
        verify_after_change(ctx, require_every_site(result, result['failed']))
    return require_verified(result)


# -- plugin|theme update, rollback: the versions of the shared set every site runs ---------
def item_update(ctx, kind, slugs, every=False, source=None, version=None, force=False):
    """For each shared plugin (or theme) named: stage the new version (`version`, else
    the one the baseline pins it to, else the latest), prove it on a canary site that
    uses it, switch every site to it at once, let each site using it
    upgrade, probe them, prune. One already on that version: nothing to do. One that
    fails is undone, named, and the others go on."""
    slugs = _shared_items_named(ctx, kind, slugs, every)
    if source is not None and len(slugs) != 1:
        raise InvalidInput('--source gives one {0}: name exactly one'.format(kind[:-1]))
    shared_items.check_source(source)
    sources.check_version(version)
    with lock.exclusive(ctx.settings.lock_file):
        shared_root.require_initialized(ctx.settings)
        wanted = [(slug, baseline.version_allowed(ctx.settings, kind, slug, version))
                  for slug in slugs]
        done = item_switching.update_items(ctx, kind, wanted, source, force)
        result = verify_after_change(ctx, {'items': done,
                                           'changed': any(r['changed'] for r in done)})
    return require_verified(_items_finished(result, done))


def _items_finished(result, done):
    """`result`, or PartlyFailed carrying it when a plugin (or theme) of `done` failed,
    or a site did not answer cleanly after a switch."""
    failed = [r for r in done if r.get('error')]
    if failed:
        raise PartlyFailed('; '.join('{0}: {1}'.format(r['slug'], r['error']) for r in failed),
                           'run the same command again for them', result)
    return require_every_site(result, {d: p for r in done for d, p in r['failed'].items()},
                              'not answering cleanly after the switch')


def item_rollback(ctx, kind, slugs, to=None, force=False):
    """Switch every site back to the version of one shared plugin (or theme) that served
    before (or `to`), proven on a canary site first unless force."""
    if len(slugs) != 1:
        raise InvalidInput('rollback takes one {0}'.format(kind[:-1]),
                           'wo multitenancy {0} rollback SLUG [--to VERSION]'.format(kind[:-1]))
    slug = _shared_items_named(ctx, kind, slugs, False)[0]
    with lock.exclusive(ctx.settings.lock_file):
        shared_root.require_initialized(ctx.settings)
        item_switching.repair_pins(ctx)
        current = item_switching.adopt(ctx, kind, slug)
        target = item_switching.rollback_target(ctx, kind, slug, current, to)
        if target == current:
            return item_switching.unchanged(slug, current)
        baseline.version_allowed(ctx.settings, kind, slug, target)
        with ctx.changes() as changes:
            using = item_switching.users(ctx, kind, slug, {})
            canary = item_switching.switch_every_site(ctx, kind, slug, target, using, force, changes)
        result = item_switching.settle(ctx, kind, slug, target, current, using, canary)
        verify_after_change(ctx, require_every_site(result, result['failed'],
                                                    'not answering cleanly after the switch'))
    return require_verified(result)


def _shared_items_named(ctx, kind, slugs, every):
    """The slugs a plugin|theme command acts on; InvalidInput for none, both a list and
    --all, or one not in the shared set."""
    if bool(slugs) == bool(every):
        raise InvalidInput('name the {0}s (their slugs), or --all'.format(kind[:-1]),
                           'see wo multitenancy {0} list'.format(kind[:-1]))
    slugs = shared_items.slugs(ctx.settings, kind) if every else slugs
    for slug in slugs:
        shared_items.require_shared(ctx.settings, kind, slug)
    return slugs


# -- create, delete, remove: one site, or all of it ----------------------------------------
def create_site(ctx, domains, flags=(), **options):
    """Create a site on the shared core from create's arguments (see sites.new_site);
    returns what the user needs to log in."""
    site = sites.new_site(ctx.settings, domains, flags, **options)
    password = secrets.token_urlsafe(18)
    with lock.exclusive(ctx.settings.lock_file), ctx.changes() as changes:
        sites.check_new_site(ctx, site)
        db = sites.provision(ctx, site, changes)
        ctx.report('Installing WordPress')
        sites.install_wordpress(ctx, site, password)
        ctx.report('Applying the baseline')
        applied = rollout.apply_baseline(ctx, site.domain, site.php_version)
        sites.go_live(ctx, site, db, changes, applied['version'],
                      probe=ctx.settings.enable_health_check)
    return sites.login_details(site, password)


def delete_site(ctx, domain):
    """Remove a site: vhost, certificate, PHP-FPM pool, database and user, files, system
    user, rows. Each step skips what is already gone, so a delete that stopped part-way
    finishes when run again. A job of the site that runs (the system cron's) is waited
    for; one still running after lock.JOB_WAIT refuses the delete (Busy)."""
    settings = ctx.settings
    validate.domain(domain)
    with lock.exclusive(settings.lock_file):
        site = sites.shared_site(ctx, domain, 'see wo multitenancy list; other sites: wo site delete')
        sites.require_nothing_mounted(settings, domain, 'delete')
        # A WP-Cron run of the system cron is let finish (a minute or two at most).
        with lock.site_job(settings, domain, wait=lock.JOB_WAIT):
            ctx.db.set_state(domain, 'deleting')
            login_links.collect_events(ctx, [ctx.db.get_site(domain)])  # before its database
            database = sites.database_of(ctx, site)
            ctx.report('Removing the vhost of ' + domain)
            nginx.remove_vhost(settings, domain)
            if site['is_ssl']:
                ssl.remove(ctx.ctl, settings, domain)
            sites.stop_pool(ctx, site)
            sites.drop_database(ctx, database, (site['move'] or {}).get('accounts', ()))
            sites.remove_files(ctx, domain)
            sites.remove_user(ctx, domain)
            ctx.db.remove_site(domain)
            fs.remove(lock.site_job_file(settings, domain))
            fs.remove(site_backup.database_before(settings, domain))  # a failed restore's
    return {'domain': domain, 'database': database['db_name'] if database else None}


def remove_everything(ctx, force=False):
    """Delete every site on the shared core, then the shared root and our records.
    Refuses (InvalidInput) while sites exist, unless `force`."""
    plan = removal_plan(ctx)
    require_removable(plan, force)
    for domain in plan['sites']:
        delete_site(ctx, domain)
    with lock.exclusive(ctx.settings.lock_file):
        ctx.report('Removing ' + ctx.settings.shared_root)
        fs.remove(ctx.settings.shared_root)
        ctx.db.forget_everything()
    return plan


# -- convert, revert: a standalone WordOps site onto the shared core and back --------------
def convert_sites(ctx, domains, every=False, force=False, dry_run=False, isolation=None):
    """Convert standalone WordOps sites (or, `every`, all of them) to the shared core,
    one after another. A site that fails is put back as it was and the others go on.
    Returns {'sites': one result per site, each with a status: converted, unchanged,
    planned, refused or failed; 'failed': how many failed or were refused}. When any
    did, raises PartlyFailed carrying it: exit 2 when every one was a refusal, 1
    otherwise. Neither domains nor `every`, or both: InvalidInput. `isolation`: the
    model converted sites end in (default: the isolation setting); a sovereign one is
    isolated once converted (isolating.attempt), and a site converted but not isolated
    has failed."""
    validate.domains_or_all(domains, every, 'convert',
                            'wo multitenancy convert example.com blog.example.com')
    settings = ctx.settings
    model = validate.isolation(isolation or settings.isolation)
    with lock.exclusive(settings.lock_file):
        shared_root.require_initialized(settings)
        if every:
            domains = convertible_domains(ctx)
        return one_after_another(ctx, domains, 'Planning' if dry_run else 'Converting',
                                 lambda domain: isolating.refusal_before_convert(
                                     ctx, domain, model) or isolated(
                                     ctx, model, conversion.attempt(ctx, domain, force, dry_run)))


def isolated(ctx, model, converted):
    """A conversion's result `converted`, its site then moved to `model` if it is not
    there yet (a sovereign convert)."""
    if converted['status'] not in ('converted', 'unchanged') or model == 'shared':
        return converted
    moved = isolating.attempt(ctx, converted['domain'], model)
    if moved['status'] in ('refused', 'failed'):
        return dict(converted, status='failed', error='converted, not isolated: ' +
                    moved['error'], hint=moved['hint'])
    return dict(converted, isolation=model)


def one_after_another(ctx, domains, verb, attempt):
    """attempt(domain) for each of `domains`, with a progress line each; {'sites': their
    results, 'failed': how many failed or were refused}. When any did, raises
    PartlyFailed carrying it: exit 2 when every one was a refusal, 1 otherwise."""
    results = []
    for number, domain in enumerate(domains, 1):
        ctx.report('[{0}/{1}] {2} {3}'.format(number, len(domains), verb, domain))
        results.append(attempt(domain))
    failed = [r for r in results if r['status'] in ('failed', 'refused')]
    outcome = {'sites': results, 'failed': len(failed)}
    if failed:
        raise PartlyFailed('', result=outcome, exit_code=EXIT_REFUSED if all(
            r['status'] == 'refused' for r in failed) else EXIT_FAILED)
    return outcome


def isolate_sites(ctx, domains, every=False, model='sovereign', force=False):
    """Move live sites (or, `every`, all of ours not in `model`) to isolation model
    `model`, one after another, each verified there; one that fails is put back (or,
    failing once its old secrets are revoked, left recorded for the same command to
    finish) and the others go on. Each result's status: isolated, unchanged, refused or failed (see
    one_after_another). `force`: see isolating.require_movable."""
    validate.domains_or_all(domains, every, 'isolate', 'wo multitenancy isolate example.com')
    validate.isolation(model)
    with lock.exclusive(ctx.settings.lock_file):
        shared_root.require_initialized(ctx.settings)
        if every:
            domains = [s['domain'] for s in ctx.db.get_shared_sites()
                       if (s['isolation'] != model or s['move']) and s['state'] == 'live']
        return one_after_another(
            ctx, domains, 'Isolating' if model == 'sovereign' else 'Sharing',
            lambda domain: isolating.attempt(ctx, domain, model, force))


def revert_site(ctx, domain):
    """Give a site on the shared core its own copy of the current release again; a
    sovereign site is moved to the shared model first (a standalone site's PHP is
    www-data's), and stays there if the revert then fails: the same command finishes."""
    settings = ctx.settings
    validate.domain(domain)
    with lock.exclusive(settings.lock_file):
        site = sites.shared_site(ctx, domain, 'see wo multitenancy list')
        sites.require_nothing_mounted(settings, domain, 'revert')
        if site['isolation'] == 'sovereign' or site['move']:  # a stopped move finished too
            isolating.isolate_site(ctx, domain, 'shared')
            site = ctx.db.get_site(domain)
        current = shared_root.require_initialized(settings)
        release_dir = releases.path(settings, current)
        with ctx.changes() as changes:
            reversion.swap_to_own_core(ctx, site, release_dir, changes)
            reversion.finish_revert(ctx, site, release_dir, changes)
        reversion.forget_site(ctx, domain)
    return {'domain': domain, 'status': 'reverted', 'wp_version': releases.version(settings, current)[0]}
