"""One site on the shared core, from its creation to its deletion: what a new site
is (NewSite) and the checks before it is made, the steps that make it, its rows in
our table and WordOps', its health check, and what `delete` and `remove` take away."""
import json
import os
import secrets
from dataclasses import dataclass

from wo.multitenancy import (fs, health, layout, mariadb, nginx, phpfpm, pools, releases,
                             routing, site_files, ssl, validate, verification, wordpress,
                             wp_config)
from wo.multitenancy.errors import InvalidInput, MTError
from wo.multitenancy.shared_root import require_free_space, require_initialized


DATABASE_KEYS = ('db_name', 'db_user', 'db_grant_host')
NO_DATABASE = dict.fromkeys(DATABASE_KEYS)  # a site registered before its database is made


@dataclass
class NewSite:
    domain: str
    php_version: str
    cache: str
    letsencrypt: bool
    hsts: bool
    dns: str
    admin_email: str
    admin_user: str
    isolation: str = 'shared'
    keep_failed: bool = False  # a site failing verification stays, unrouted

    @property
    def sovereign(self):
        return self.isolation == 'sovereign'


def new_site(settings, domains, flags=(), letsencrypt=False, hsts=False, dns=None,
             admin_email=None, admin_user='admin', isolation=None, keep_failed=False):
    """The NewSite that create's arguments ask for (`flags`: the names of the flags
    given, such as php82 or wpfc), the settings filling in what they leave out:
    php_version, default_cache, admin_email, isolation, Let's Encrypt with --dns or
    auto_ssl, HSTS with Let's Encrypt and enable_hsts. Raises InvalidInput unless
    exactly one domain, at most one PHP version and at most one cache type are given."""
    letsencrypt = letsencrypt or bool(dns) or settings.auto_ssl
    return NewSite(
        domain=validate.one_domain(domains, 'create example.com --wpfc'),
        php_version=validate.one_php(flags, settings.php_version),
        cache=validate.one_cache(flags, settings.default_cache), letsencrypt=letsencrypt,
        hsts=hsts or (letsencrypt and settings.enable_hsts), dns=dns,
        admin_email=admin_email or settings.admin_email, admin_user=admin_user,
        isolation=validate.isolation(isolation or settings.isolation), keep_failed=keep_failed)


def provision(ctx, site, changes, table_prefix='wp_'):
    """create's steps up to a database WordPress can be put in: the registry entry, the
    database and its account, the system user and pool, the tree and its wp-config.php,
    the account verified. Returns the database (mariadb.create_site_database)."""
    register(ctx, site, changes)
    ctx.report('Creating the database')
    db = mariadb.create_site_database(ctx.ctl, site.domain, changes)
    ctx.db.record_database(site.domain, db)
    create_user(ctx, site, changes)
    start_pool(ctx, site, changes)
    ctx.report('Linking the site to the shared core')
    lay_out(ctx, site, db, changes, table_prefix)
    ctx.report('Verifying its database account')
    verify_before_routing(ctx, site, db, changes, installed=False)
    return db


def go_live(ctx, site, db, changes, baseline_version, probe):
    """create's steps once WordPress is in the database: every check, then nginx routes
    it, Let's Encrypt, its rows, with `probe` a request over HTTP, and it is live."""
    ctx.report('Verifying its database')
    verify_before_routing(ctx, site, db, changes, installed=True)
    ctx.report('Configuring nginx')
    configure_nginx(ctx, site, changes)
    if site.letsencrypt:
        ctx.report("Setting up Let's Encrypt")
        secure(ctx, site, changes)
    ctx.report('Recording the site')
    record_site(ctx, site, db, baseline_version)
    if probe:
        ctx.report('Checking the site over HTTP')
        require_healthy(site.domain, site.letsencrypt)
    ctx.db.set_state(site.domain, 'live')


def check_new_site(ctx, site):
    """Refuse (InvalidInput, MTError) a site that cannot be created, before anything
    changes."""
    settings = ctx.settings
    validate.domain(site.domain)
    validate.email(site.admin_email)
    validate.admin_user(site.admin_user)
    if site.hsts and not site.letsencrypt:
        raise InvalidInput('--hsts needs --le: HSTS is only sent over HTTPS')
    if site.dns:
        validate.dns_provider(site.dns)
    if site.letsencrypt and settings.sites_root != '/var/www':
        raise InvalidInput("Let's Encrypt needs sites_root = /var/www: WordOps' SSL helpers"
                           " write to /var/www/<domain>", 'create the site without --le')
    require_initialized(settings)
    if ctx.db.get_site(site.domain):
        raise InvalidInput('{0} already exists on the shared core'.format(site.domain),
                           'see wo multitenancy info {0}; delete it first (wo multitenancy '
                           'delete {0}) or pick another name'.format(site.domain))
    if ctx.db.wordops_site(site.domain):
        raise InvalidInput('{0} already exists'.format(site.domain),
                           'see wo site info {0}; delete it first or pick another name'
                           .format(site.domain))
    for path in (settings.site_root(site.domain), nginx.available(settings, site.domain)):
        if os.path.lexists(path):
            raise InvalidInput('{0} already exists on disk but WordOps does not know the site'
                               .format(path), 'remove it, or convert that site instead')
    phpfpm.require(settings, site.php_version, site.cache)
    if site.sovereign:
        check_sovereign(settings, site)
    require_free_space(settings, settings.sites_root)
    mariadb.ping(ctx.ctl, settings)


def check_sovereign(settings, site):
    """Refuse a sovereign site whose user or pool exists already, whose socket's path
    would be too long, whose WordOps includes cannot be routed to a pool
    (routing.derive), or that would keep its pages in Redis (every site's PHP can reach
    Redis: no password)."""
    pools.require_poolable(settings, site.domain, site.cache)
    routing.stale_includes(settings, site.php_version, site.cache)


def create_user(ctx, site, changes):
    """A sovereign site's system user, before any of its files; the undo removes it."""
    if site.sovereign:
        ctx.report('Creating its system user ' + pools.system_user(site.domain))
        pools.create_user(site.domain, ctx.settings.site_root(site.domain), changes)


def start_pool(ctx, site, changes):
    """A sovereign site's PHP-FPM pool, and the WordOps includes its vhost will use,
    derived again from WordOps' current ones; the undo removes the pool."""
    if site.sovereign:
        ctx.report('Starting its PHP-FPM pool')
        routing.derive_includes(ctx.settings, site.php_version, site.cache)
        pools.add_pool(ctx.settings, site.domain, site.php_version, changes)


def lay_out(ctx, site, db, changes, table_prefix):
    """The site's tree linked to the shared core, and its wp-config.php for database
    `db` and its tables named with `table_prefix`; the undo removes the tree. A site of
    the same name deleted moments ago may still be in OPcache under these paths (it
    checks a file's time only every revalidate_freq seconds): its wp-config.php, with
    the old database password, would answer the first requests; it is dropped."""
    settings = ctx.settings
    layout.build(settings, site.domain, changes)
    wp_config.write(settings, site.domain, wp_config.defaults(settings, site.domain, db),
                    wp_config.php_literal(table_prefix), layout.htdocs(settings, site.domain))
    phpfpm.forget_scripts(settings, [site.php_version], settings.site_root(site.domain))


def configure_nginx(ctx, site, changes):
    """The site's vhost from WordOps' template, with our include, proven by nginx and
    loaded."""
    settings = ctx.settings
    nginx.write_site_include(settings, site.domain, pools.fpm_socket(settings, site.domain))
    vhost = nginx.render_vhost(ctx.ctl.app, settings, site.domain, site.php_version, site.cache)
    if site.sovereign:
        vhost = routing.route_vhost(settings, vhost, site.php_version, site.cache)
    nginx.install_vhost(settings, site.domain, vhost, changes)


def install_wordpress(ctx, site, password):
    wordpress.install(ctx.settings, site.domain, site.php_version, 'http://' + site.domain,
                      site.domain, site.admin_user, site.admin_email, password)


def secure(ctx, site, changes):
    """Let's Encrypt for the site, and its WordPress addresses moved to https."""
    ssl.secure(ctx.ctl, ctx.settings, site.domain, site.dns, site.hsts, changes)
    wordpress.task(ctx.settings, site.domain, site.php_version, 'set_url',
                   url='https://' + site.domain)


def register(ctx, site, changes):
    """The site's entry in the registry, first (provisioning); the undo forgets it, and
    the row WordOps' table gets later."""
    # is_ssl follows once the certificate is there: a delete of a site that stopped
    # before must not remove a certificate acme.sh held before the create.
    ctx.db.register_site(our_row(ctx.settings, site.domain, site.cache, site.php_version, 0,
                                 0, NO_DATABASE, 'provisioning', site.isolation))
    # Registered once the row exists: a duplicate insert fails and must not remove
    # rows that were there before.
    changes.on_failure('forget ' + site.domain, lambda: ctx.db.remove_site(site.domain))


def verify_before_routing(ctx, site, db, changes, installed):
    """The database checks of a new site, before nginx routes a request to it: its
    account and connection before WordPress is `installed` (the install would only say
    it cannot connect), all of them after (verifying). A site that fails them is undone,
    or with --keep-failed left as it is (failed, unrouted: its undo is dropped) for
    diagnosis; either way MTError names each failed check."""
    if installed:
        ctx.db.set_state(site.domain, 'verifying')
    try:
        verification.require_before_routing(ctx, site.domain, site.php_version, db, installed)
    except MTError as e:
        if not site.keep_failed:
            raise
        ctx.db.set_state(site.domain, 'failed')
        changes.commit()
        raise MTError(e.message, 'it is kept unrouted (--keep-failed): wo multitenancy info '
                      '{0}; {1}; wo multitenancy delete {0} --force removes it'.format(
                          site.domain, e.hint))


def record_site(ctx, site, db, baseline_version):
    """The site's row in WordOps' `sites`, and in ours what became known of it."""
    settings = ctx.settings
    ctx.db.complete_site(site.domain, {
        'sitename': site.domain, 'site_type': 'wp', 'cache_type': site.cache,
        'site_path': settings.site_root(site.domain), 'is_enabled': 1,
        'is_ssl': int(site.letsencrypt), 'storage_fs': 'ext4', 'storage_db': 'mysql',
        'db_name': db['db_name'], 'db_user': db['db_user'], 'db_password': db['db_password'],
        'db_host': db['db_host'], 'is_hhvm': 0, 'php_version': site.php_version},
        baseline_version, int(site.letsencrypt))


def our_row(settings, domain, cache, php_version, baseline_version, is_ssl, database, state,
            isolation='shared'):
    """A site's row in our table, on the current release; `database`: its db_name,
    db_user and db_grant_host (the host the user was created at); `state`: one of
    multitenancy_db.STATES; `isolation`: sovereign or shared."""
    return dict({k: database[k] for k in DATABASE_KEYS}, isolation=isolation,
                login_nonce=secrets.token_hex(16),
                system_user=pools.system_user(domain) if isolation == 'sovereign' else None,
                domain=domain, site_type='wp', cache_type=cache,
                site_path=settings.site_root(domain), php_version=php_version,
                shared_release=releases.current(settings), baseline_version=baseline_version,
                is_enabled=1, is_ssl=is_ssl, state=state)


def database_of(ctx, site):
    """The db_name, db_user and db_grant_host of a site (our row `site`): the
    registry's, else -- a site recorded before the registry held them -- WordOps' row's,
    its user's host where its one account is; None when neither knows them."""
    if site['db_name']:
        return {k: site[k] for k in DATABASE_KEYS}
    row = ctx.db.wordops_site(site['domain'])
    if not (row and row['db_name']):
        return None
    return wordops_database(ctx, row, site['db_grant_host'])


def wordops_database(ctx, row, grant_host=None):
    """The db_name, db_user and db_grant_host of WordOps' `sites` row `row`; its user's
    host is `grant_host`, else the host of its one account (mariadb.grant_host_of)."""
    return {'db_name': row['db_name'], 'db_user': row['db_user'],
            'db_grant_host': grant_host or mariadb.grant_host_of(ctx.ctl, row['db_user'])}


def require_healthy(domain, https):
    """Raises MTError unless the site answers well over HTTP."""
    result = health.probe(domain, https)
    if not result['ok']:
        raise MTError('{0} does not answer well: {1}'.format(domain, result['problem']),
                      'nothing was kept; see /var/log/nginx/{0}.error.log'.format(domain))


def login_details(site, password):
    """What the person who created the site needs to log in."""
    scheme = 'https' if site.letsencrypt else 'http'
    return {'domain': site.domain, 'url': '{0}://{1}/'.format(scheme, site.domain),
            'admin_url': '{0}://{1}/wp-admin/'.format(scheme, site.domain),
            'admin_user': site.admin_user, 'admin_password': password,
            'php': site.php_version, 'cache': site.cache}


def require_live(site):
    """Refuse a site (our row `site`) that is not live: being made, failed or deleted."""
    if site['state'] != 'live':
        raise InvalidInput('{0} is not live ({1})'.format(site['domain'], site['state']),
                           'wo multitenancy info {0}'.format(site['domain']))


def shared_site(ctx, domain, hint):
    """Our row of `domain`; raises InvalidInput for a domain that is not a site on the
    shared core."""
    site = ctx.db.get_site(domain)
    if not site:
        raise InvalidInput('{0} is not a site on the shared core'.format(domain), hint)
    return site


def record_of(ctx, domain):
    """What the registry holds of a site on the shared core, with WordOps' row (its
    database), never a password; its last verification as verify reported it."""
    site = shared_site(ctx, domain, 'see wo multitenancy list')
    row = ctx.db.wordops_site(domain) or {}
    last = site['last_verification']
    return dict(database_of(ctx, site) or NO_DATABASE,
                domain=domain, site_root=site['site_path'], php=site['php_version'],
                cache=site['cache_type'], ssl=bool(site['is_ssl']),
                release=site['shared_release'], baseline_version=site['baseline_version'],
                db_host=row.get('db_host'), state=site['state'], state_at=site['state_at'],
                isolation=site['isolation'], system_user=site['system_user'],
                moving_to=(site['move'] or {}).get('to'),
                socket=pools.fpm_socket(ctx.settings, domain),
                created_at=site['created_at'], verified_at=site['verified_at'],
                last_verification=json.loads(last) if last else None)


def drop_database(ctx, database, others=()):
    """Drop the site's database, and its user at the host it was created at
    (`database`: database_of(); None: nothing is known to drop), and there the `others`
    (accounts a stopped move made). Raises MTError when the user still has an account at
    another host."""
    if database:
        ctx.report('Dropping the database ' + database['db_name'])
        user, host = database['db_user'], database['db_grant_host']
        for other in others:
            mariadb.drop_account(ctx.ctl, other, host)
        mariadb.drop_site_database(ctx.ctl, database['db_name'], user, host)
        left = mariadb.account_hosts(ctx.ctl, user)
        if left:
            raise MTError('{0} still has database accounts at {1} (the one dropped was at '
                          '{2!r})'.format(user, ', '.join(repr(h) for h in left), host),
                          'drop them (DROP USER `{0}`@`HOST`), then run the same delete '
                          'again'.format(user))


def remove_files(ctx, domain):
    """The site's tree (links are removed, not followed) and its page-cache entries; a
    sovereign site's processes are ended first (its pool is gone, its jobs locked out:
    none starts again), so none writes in the tree meanwhile."""
    pools.end_processes(domain)
    ctx.report('Removing ' + ctx.settings.site_root(domain))
    site_files.remove_tree(ctx.settings.site_root(domain))
    nginx.purge_page_cache([domain], ctx.settings.page_caches)


def stop_pool(ctx, site):
    """A sovereign site's pool (our row `site`): once it is gone, no PHP runs as it."""
    if os.path.lexists(pools.pool_file(ctx.settings, site['php_version'], site['domain'])):
        ctx.report('Removing the PHP-FPM pool of ' + site['domain'])
        pools.remove_pool(ctx.settings, site['domain'], site['php_version'])


def remove_user(ctx, domain):
    """A sovereign site's system user and group, once nothing of it is left."""
    if pools.user_exists(domain):
        ctx.report('Removing the system user ' + pools.system_user(domain))
        pools.remove_user(domain)


def removal_plan(ctx):
    """What `remove` would remove: every site on the shared core and the shared root,
    with the backups `convert` took in it."""
    backups = ctx.settings.backups_dir
    return {'sites': [s['domain'] for s in ctx.db.get_shared_sites()],
            'shared_root': ctx.settings.shared_root,
            'backups': sorted(n for n in (os.listdir(backups) if os.path.isdir(backups) else [])
                              if not n.startswith('.'))}


def require_nothing_mounted(settings, domain, what):
    """Refuse (InvalidInput) `what` (a command working on the site's whole tree) while
    a file system is mounted in it: a delete would remove what is on it, a conversion
    cannot move it."""
    mounted = fs.mounted_in(settings.site_root(domain))
    if mounted:
        raise InvalidInput('{0} is mounted in the tree of {1}'.format(', '.join(mounted), domain),
                           'unmount it (and take it out of /etc/fstab), then run the same {0} '
                           'again'.format(what))


def require_removable(plan, force):
    """Refuse (InvalidInput) to remove a shared root sites still run on, unless `force`
    (which deletes them too)."""
    if plan['sites'] and not force:
        raise InvalidInput('{0} site(s) still run on the shared core'.format(
            len(plan['sites'])), 'delete them first, or pass --force to delete them too')
