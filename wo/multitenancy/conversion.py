"""Converting one standalone WordOps site onto the shared core: its backup, the
shared-core document root built beside it, its wp-config.php, the swap, what is
finished after the swap (own files, database, baseline, HTTP check), its record, and
finishing a conversion a stopped run left. Whether a site can be converted, and the
plan, are conversion_checks'. Also the steps `revert` shares: keeping a site's
wp-config.php for the undo, swapping back, dropping the old tree's scripts."""
import os

from wo.multitenancy import (backup, baseline, docroot_swap, fs, health, layout, nginx,
                             phpfpm, pools, releases, site_files, validate, verification,
                             wordpress, wp_config)
from wo.multitenancy.conversion_checks import conversion_plan
from wo.multitenancy.errors import InvalidInput, MTError
from wo.multitenancy.rollout import apply_baseline
from wo.multitenancy.sites import our_row, wordops_database

PLAN_PRIVATE = ('constants', 'table_prefix', 'missing', 'config', 'https')


def attempt(ctx, domain, force=False, dry_run=False):
    """Convert (or plan) one site; its result, with status converted, unchanged,
    planned, refused (InvalidInput) or failed (any other MTError, or an OSError such
    as a file that cannot move): a failure is put back and reported, not raised."""
    try:
        return convert_site(ctx, domain, force, dry_run)
    except MTError as e:
        return {'domain': domain, 'error': e.message, 'hint': e.hint,
                'status': 'refused' if isinstance(e, InvalidInput) else 'failed'}
    except OSError as e:  # a file the site has that cannot move (a mount point ...)
        return {'domain': domain, 'error': str(e), 'status': 'failed',
                'hint': 'it is back as it was; see the message'}


def convert_site(ctx, domain, force=False, dry_run=False):
    """Convert one standalone site; the lock is held by the caller. Raises
    InvalidInput for a site that cannot be converted, MTError for one that failed."""
    settings = ctx.settings
    validate.domain(domain)
    row = ctx.db.wordops_site(domain)
    if row is None:
        raise InvalidInput('{0} is not a WordOps site'.format(domain), 'see wo site list')
    swapped = docroot_swap.is_shared(settings, layout.htdocs(settings, domain))
    if ctx.db.get_site(domain):
        if swapped and not dry_run:
            settle_converted(ctx, domain)  # a run stopped after it was recorded
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


def convert_standalone(ctx, plan):
    """Back the site up, build its shared-core document root beside it, write its
    configuration, swap, then finish; any failure puts the site back as it was."""
    settings, domain = ctx.settings, plan['domain']
    docroot = layout.htdocs(settings, domain)
    with ctx.changes() as changes:
        take_site_root(settings, domain, changes)
        add_to_shared(settings, plan['missing'], releases.path(settings, plan['release']),
                      changes)
        ctx.report('Backing up {0} (files and database)'.format(domain))
        saved = backup.take(settings, domain, plan['db_name'], changes)
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
        site, verified = verified_conversion(ctx, domain, applied)
    record_conversion(ctx, site, verified)
    return {'domain': domain, 'status': 'converted', 'backup': saved,
            'wp_version': {'before': plan['wp_version'], 'after': plan['release_wp_version']},
            'added_to_shared': plan['add_to_shared'], 'left_out': plan['left_out'],
            'own_files': plan['own_files'],
            'own_disk_bytes': layout.own_disk_usage(settings, domain)}


def take_site_root(settings, domain, changes):
    """The site root becomes root's (as a created site's is): from here on the site
    cannot swap its entries (htdocs, the tree built beside it, wp-config.php) while root
    works in them. The undo gives it back."""
    root = settings.site_root(domain)
    taken = site_files.take_dir(root)
    changes.on_failure('give the site root of {0} back'.format(domain),
                       lambda: site_files.give_back(root, taken))


def add_to_shared(settings, missing, release_dir, changes):
    """Add the plugins and themes a converted site uses and the shared set lacks
    (convert --force) from the release's bundle or wordpress.org -- never the site's own
    copy, which would become code every site can activate. Its language files are never
    added either: WordPress puts their text in every site's pages and scripts (a .json
    translation is written into an inline <script>). The undo removes what was added."""
    for kind, name in missing:
        try:
            baseline.ensure_by_slug(settings, kind, name, release_dir, changes)
        except MTError as e:
            raise MTError(e.message, 'the site\'s own copy is never put in the shared set: '
                          'review it, put a copy you trust in {0}/ (root\'s), and convert '
                          'again'.format(os.path.join(settings.shared_content, kind)))


def write_shared_config(ctx, plan, changes):
    """The site's own constants (database, salts, its settings), then our defaults for
    what it does not set, in our configuration for the shared core."""
    settings, domain = ctx.settings, plan['domain']
    keep_config(settings, domain, changes)
    constants = dict(plan['constants'])
    for name, value in wp_config.defaults(settings, domain).items():
        constants.setdefault(name, value)
    wp_config.write(settings, domain, constants, plan['table_prefix'],
                    layout.htdocs(settings, domain))


def keep_config(settings, domain, changes):
    """Register the undo that puts the site's wp-config.php back as it is now."""
    config = wp_config.path(settings, domain)
    kept = fs.keep_file(config)
    changes.on_failure('put back the wp-config.php of ' + domain,
                       lambda: fs.restore_file(config, kept))


def finish_conversion(ctx, domain, saved, https, changes):
    """After the swap: the site's own files moved over, the database brought to the
    shared core, the baseline plugins activated (the site keeps its theme), the site
    checked over HTTP. Each step is idempotent. Returns the baseline version applied;
    raises MTError when the site does not serve well (the undo puts it back)."""
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
    nginx.purge_page_cache([domain], settings.page_caches)
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
    """The undo of a swap that went `to_shared` (or to the site's own core)."""
    docroot_swap.swap_back(ctx.settings, domain, to_shared)
    forget_old_scripts(ctx, domain, php_version)


def finish_stopped_conversion(ctx, domain, row):
    """Finish a conversion stopped after the swap; if that fails, the site goes back to
    its own core (still beside it) and its database to the backup."""
    settings = ctx.settings
    ctx.report('Finishing the stopped conversion of ' + domain)
    saved = backup.latest(settings, domain)
    site_files.take_dir(settings.site_root(domain))  # taken by the stopped run already
    with ctx.changes() as changes:
        changes.on_failure('switch {0} back to its own core'.format(domain),
                           lambda: swap_back(ctx, domain, row['php_version'], to_shared=True))
        applied = finish_conversion(ctx, domain, saved, bool(row['is_ssl']), changes)
        site, verified = verified_conversion(ctx, domain, applied)
    record_conversion(ctx, site, verified)
    return {'domain': domain, 'status': 'converted', 'backup': saved, 'resumed': True,
            'own_disk_bytes': layout.own_disk_usage(settings, domain)}


def verified_conversion(ctx, domain, baseline_version):
    """The registry's row of a converted site (WordOps' row stays as it is) and every
    check of `verify` passed on it, before it is recorded: a failed verification blocks
    the conversion (MTError; the undo puts it back on its own core)."""
    row = ctx.db.wordops_site(domain)
    database = wordops_database(ctx, row)
    site = our_row(ctx.settings, domain, row['cache_type'], row['php_version'],
                   baseline_version, row['is_ssl'], database, 'live')
    return site, verification.gate(ctx, site, database, 'it is back on its own core; ')


def record_conversion(ctx, site, verified):
    """Record a converted site and its verification, then settle it. A stop after the
    record is finished by the next convert."""
    ctx.db.register_site(site)
    ctx.db.record_verification(site['domain'], verified)
    settle_converted(ctx, site['domain'])


def settle_converted(ctx, domain):
    """A converted site's conf/ (nginx includes it, as root) and logs/ become root's
    alone, as a created site's are, with our nginx include; its old tree, which is in
    the backup, goes. Idempotent."""
    layout.take_site_dirs(ctx.settings, domain)
    nginx.ensure_site_includes(ctx.settings, {domain: pools.fpm_socket(ctx.settings, domain)})
    docroot_swap.remove_old(ctx.settings, domain)
