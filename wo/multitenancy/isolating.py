"""Moving a live site between the isolation models (`isolate`), with no failed request.

While a site moves, both PHP users read its wp-config.php (an ACL for the coming one),
its uploads and cache are handed to the coming user, nginx is pointed at the coming
pool and reloaded, and only once every old nginx worker has finished its requests does
the file belong to the coming user alone; a site going sovereign then gets a new
database account and salts (rekeying). Each step registers its undo: the site is
verified then, and a failure puts it back. The pool and user of a sovereign site gone
shared are removed after that (finish).

The move is recorded (MTDatabase.set_move) until it ends, with every database account
of the site meanwhile: a move killed without its undo (SIGKILL, a power cut), or one
that failed once the old database account was dropped (nothing is undone from there),
is finished by the next isolate of the site, each step taking what it finds done as
done, and the accounts it made are dropped, but the one the site is given last.
"""
import os
import secrets

from wo.multitenancy import (fs, layout, lock, login_links, nginx, pools, rekeying, routing,
                             site_files, sites, undo, validate, verification, wp_config)
from wo.multitenancy.errors import InvalidInput, MTError

OWN_TREES = ('uploads', 'cache')


def require_movable(ctx, site, model, force=False):
    """Refuse a site that is not live, or whose move to `model` cannot be made: a
    sovereign user or pool of its name exists already (unless a stopped move of the
    site made them), its database account cannot be replaced (what it defined counts
    only in a fresh move, and not with `force`), or its vhost cannot be routed."""
    domain = site['domain']
    sites.require_live(site)
    if model == 'sovereign':
        if not site['move']:
            pools.require_poolable(ctx.settings, domain, site['cache_type'])
        routing.stale_includes(ctx.settings, site['php_version'], site['cache_type'])
        rekeying.require_rekeyable(ctx, sites.database_of(ctx, site),
                                   not (site['move'] or force))
    _vhost_text(ctx.settings, site, model)


def refusal_before_convert(ctx, domain, model):
    """The refused result of a standalone site that could not become `model` once
    converted (a sovereign site cannot keep its pages in Redis, for one); None when it
    could, or when it is on the shared core already."""
    row = ctx.db.wordops_site(domain)
    if model != 'sovereign' or not row or ctx.db.get_site(domain):
        return None
    try:
        pools.require_poolable(ctx.settings, domain, row['cache_type'])
    except InvalidInput as e:
        return {'domain': domain, 'status': 'refused', 'error': e.message, 'hint': e.hint}


def to_sovereign(ctx, site, database, changes):
    """Serve the site from its own pool as its own user, with secrets no shared site has
    read (`database`: its database before the move). The user and pool a stopped move
    left are taken as they are. Returns what was not handed over with its trees
    ('left_alone') and what the old database accounts defined, which no longer works
    ('orphaned': rekeying.rekey)."""
    settings, domain, php = ctx.settings, site['domain'], site['php_version']
    user = pools.system_user(domain)
    if not pools.own_user(domain):
        pools.create_user(domain, settings.site_root(domain), changes)
        changes.on_failure('remove ' + pools.temp_dir(settings, domain), lambda: (
            pools.end_processes(domain), site_files.remove_tree(pools.temp_dir(settings, domain))))
    pools.make_temp_dirs(settings, domain)
    config = wp_config.path(settings, domain)
    changes.on_failure('drop the ACL of ' + config, lambda: fs.drop_grants(config))
    fs.grant_read(config, user)
    defined = rekeying.read_config(ctx, site)
    routing.derive_includes(settings, php, site['cache_type'])
    if pools.sovereign(settings, domain):
        pools.start_pool(settings, domain, php, replace=True)
    else:
        pools.add_pool(settings, domain, php, changes)
    left_alone = _hand_over_trees(ctx, domain, settings.web_user, user, changes)
    _route(ctx, site, 'sovereign', changes)
    _settle_config(config, settings.web_user, user, changes)
    orphaned = rekeying.rekey(ctx, site, database, defined, changes,  # its page caches purged
                              ctx.db.get_site(domain)['move']['accounts'])
    return {'left_alone': left_alone, 'orphaned': orphaned}


def to_shared(ctx, site, changes):
    """Serve the site from WordOps' pools as the web user; returns what was not handed
    over with its trees ('left_alone')."""
    settings, domain = ctx.settings, site['domain']
    user = pools.system_user(domain)
    config = wp_config.path(settings, domain)
    fs.grant_read(config, settings.web_user)
    changes.on_failure('drop the ACL of ' + config, lambda: fs.drop_grants(config))
    left_alone = []
    if pools.own_user(domain):  # else a stopped move had handed them over and removed it
        left_alone = _hand_over_trees(ctx, domain, user, settings.web_user, changes)
    _route(ctx, site, 'shared', changes)
    _settle_config(config, user, settings.web_user, changes)
    nginx.purge_page_cache([domain], settings.page_caches)
    pool = pools.pool_file(settings, site['php_version'], domain)
    changes.on_failure('start the pool of {0} again'.format(domain), lambda: os.path.lexists(
        pool) or pools.start_pool(settings, domain, site['php_version']))
    pools.remove_pool(settings, domain, site['php_version'])
    return {'left_alone': left_alone, 'orphaned': []}


def finish(ctx, site, model):
    """After a verified move to `model`: a site gone shared loses its temporary files
    and its user: its processes ended first (none makes files in tmp meanwhile), the
    user last (a user id freed while files are still its would be the next site's)."""
    if model == 'shared':
        pools.end_processes(site['domain'])
        site_files.remove_tree(pools.temp_dir(ctx.settings, site['domain']))
        pools.remove_user(site['domain'])


def renew_login_key(ctx, domain):
    """A site changing model gets a new login key (a shared site may have read the
    old one); the next `login` writes it for the coming PHP user."""
    ctx.db.renew_login_nonce(domain, secrets.token_hex(16))
    login_links.forget_key(ctx.settings, domain)


def _hand_over_trees(ctx, domain, old, new, changes):
    """The site's uploads and cache from PHP user `old` to `new` (their top directories
    as layout.own_dirs makes them); the undo hands them back. A file with several names
    keeps its owner, a directory nested too deep is made root's, one a file system is
    mounted on is left as it is: each named, 'path: why', in the list returned."""
    settings = ctx.settings
    content = os.path.join(layout.htdocs(settings, domain), 'wp-content')
    old_ids, new_ids = fs.ids((old, old)), fs.ids((new, new))
    old_top, new_top = (layout.own_dirs(settings, old), layout.own_dirs(settings, new))
    to_web_user, left = new == settings.web_user, []
    for name in OWN_TREES:
        tree = os.path.join(content, name)
        if not os.path.isdir(tree):
            continue
        changes.on_failure('give {0} back to {1}'.format(tree, old), lambda name=name:
                           site_files.hand_over(content, name, new_ids, old_ids, old_top,
                                                not to_web_user))
        left += ['{0}: {1}'.format(path, why) for path, why in site_files.hand_over(
            content, name, old_ids, new_ids, new_top, to_web_user)]
    return left


def _route(ctx, site, model, changes):
    """nginx sends the site's PHP to `model`'s pool from now on; returns once every old
    worker has finished its requests. The undo routes it back."""
    settings, domain = ctx.settings, site['domain']
    vhost, include = nginx.available(settings, domain), nginx.site_include(settings, domain)
    kept = {path: fs.keep_file(path) for path in (vhost, include)}

    def route_back():
        for path, before in kept.items():
            fs.restore_file(path, before)
        nginx.reload(drain=True)
    changes.on_failure('route {0} back'.format(domain), route_back)
    nginx.write_site_include(settings, domain, pools.fpm_socket(settings, domain)
                             if model == 'sovereign' else None)
    fs.write_file(vhost, _vhost_text(settings, site, model))
    nginx.check_config('nginx refused the vhost of {0} for its {1} pool'.format(domain, model))
    if not nginx.reload(drain=True):
        raise MTError('nginx\'s old workers still serve requests of {0} after {1} s'.format(
            domain, nginx.DRAIN_WAIT), 'run the same command again once they are done')


def _vhost_text(settings, site, model):
    """The site's vhost routed to `model`'s pool (its own text otherwise kept), whichever
    pool it is routed to now."""
    with open(nginx.available(settings, site['domain']), encoding='utf-8') as f:
        text = routing.unroute_vhost(settings, f.read(), site['php_version'], site['cache_type'])
    return routing.route_vhost(settings, text, site['php_version'], site['cache_type']) \
        if model == 'sovereign' else text


def _settle_config(config, old, new, changes):
    """wp-config.php root's and readable by PHP user `new`'s group alone, the ACL gone;
    the undo lets both read it again, with `old`'s group."""
    def both_read():
        os.chown(config, 0, fs.ids((old, old))[1], follow_symlinks=False)
        fs.grant_read(config, new)
    changes.on_failure('let {0} read {1} again'.format(old, config), both_read)
    os.chown(config, 0, fs.ids((new, new))[1], follow_symlinks=False)
    fs.drop_grants(config)


def attempt(ctx, domain, model, force=False):
    """Move one site to `model`; its result, with status isolated, unchanged, refused
    (InvalidInput) or failed (any other MTError: its hint says what it left; or an
    OSError once the move was verified: the same command finishes it)."""
    try:
        return isolate_site(ctx, domain, model, force)
    except MTError as e:
        return {'domain': domain, 'error': e.message, 'hint': e.hint,
                'status': 'refused' if isinstance(e, InvalidInput) else 'failed'}
    except OSError as e:
        return {'domain': domain, 'error': str(e), 'status': 'failed',
                'hint': 'run the same command again: it finishes the move'}


def isolate_site(ctx, domain, model, force=False):
    """Move one site to `model` and verify it there (the lock is held by the caller);
    a site failing verification is put back and raises MTError naming the checks. A
    move of the site that stopped part-way is finished first. `force`: see
    require_movable."""
    site = sites.shared_site(ctx, validate.domain(domain), 'see wo multitenancy list')
    stopped, moves = site['move'], []
    if stopped:
        ctx.report('Finishing the move of {0} to the {1} model a stopped isolate began'.format(
            domain, stopped['to']))
        site, left = _move(ctx, site, stopped['to'])
        moves.append(left)
    if site['isolation'] != model:
        ctx.report('Moving {0} to the {1} model'.format(domain, model))
        moves.append(_move(ctx, site, model, force)[1])
    elif not stopped:
        return {'domain': domain, 'status': 'unchanged', 'isolation': model,
                'note': 'already ' + model}
    left = {k: [thing for found in moves for thing in found[k]] for k in ('left_alone', 'orphaned')}
    return dict({'domain': domain, 'status': 'isolated', 'isolation': model,
                 'system_user': pools.system_user(domain) if model == 'sovereign' else None},
                **({'note': 'a stopped move finished'} if stopped else {}),
                **{k: v for k, v in left.items() if v})


def _move(ctx, site, model, force=False):
    """isolate_site's move of `site` (our row) to `model`, recorded while it runs; the
    site's row after it, and what the move left (to_sovereign, to_shared). A failure
    undoes it, but one past the drop of the old database account, or finishing a stopped
    move (whose undos would not know what the stopped run did): that one keeps it,
    recorded, for the next run. Raises MTError saying which."""
    domain = site['domain']
    require_movable(ctx, site, model, force)
    renew_login_key(ctx, domain)
    database = sites.database_of(ctx, site)
    user = pools.system_user(domain) if model == 'sovereign' else None
    scope = undo.Kept(ctx.journal) if site['move'] else ctx.changes()
    # No WP-Cron run of the system cron as the going user while the files change hands.
    with lock.site_job(ctx.settings, domain, wait=lock.JOB_WAIT):
        try:
            with scope as changes:
                _record_move(ctx, site, model, database, changes)
                if model == 'sovereign':
                    found = to_sovereign(ctx, site, database, changes)
                else:
                    found = to_shared(ctx, site, changes)
                moved = dict(ctx.db.get_site(domain), isolation=model, system_user=user,
                             move=None)
                report = verification.gate(ctx, moved, sites.database_of(ctx, moved))
        except MTError as e:
            e.hint = '; '.join(filter(None, (_left(scope), e.hint)))
            raise
        except OSError as e:
            raise MTError(str(e), _left(scope)) from e
        ctx.db.record_verification(domain, report)
        finish(ctx, site, model)
    ctx.db.end_move(domain, model, user)
    return ctx.db.get_site(domain), found


def _left(changes):
    """What a failed move whose undo scope was `changes` left, for its hint."""
    if changes.kept or not changes.undone_cleanly:
        return 'the move stays recorded: fix this, then run the same command again'
    return 'it is back as it was'


def _record_move(ctx, site, model, database, changes):
    """The move to `model` recorded, with the site's database account; the undo puts
    back what was recorded before (a stopped move's record, or none) once every other
    undo worked (else the record stays: the next isolate finishes the move)."""
    before = site['move']

    def record_as_before():
        if changes.undone_cleanly:
            ctx.db.set_move(site['domain'], before)
    changes.on_failure('record the move of {0} as before'.format(site['domain']),
                       record_as_before)
    ctx.db.set_move(site['domain'], {'to': model, 'accounts': list(dict.fromkeys(
        (before['accounts'] if before else []) + ([database['db_user']] if database else [])))})
