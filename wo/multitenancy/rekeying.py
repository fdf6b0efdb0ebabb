"""New secrets for a site that leaves the shared model (`isolate` to sovereign).

While a site is shared, every shared site's PHP can read its wp-config.php: its
database password and its salts are theirs to know. Moving to sovereign, it gets new
ones with no failed request: a second database account beside the first, with
WordOps' grants; its configuration written for that account with fresh salts (whoever
is logged in logs in again); OPcache told; then the first account dropped, once the
requests that read the old file have connected, and its sessions ended. Each step
registers its undo (the first account is made again as it was, password hash and
grants). A request or session still running after SESSION_WAIT is ended, and forms and
REST calls opened with the old salts are refused once (their nonces).
"""
import secrets
import string
import time

from wo.multitenancy import fs, layout, mariadb, nginx, phpfpm, pools, wp_config
from wo.multitenancy.errors import InvalidInput, MTError

CONNECT_GRACE = 2  # seconds for a request that read the old file to connect with it
SESSION_WAIT = 30  # seconds the old account's sessions have to end before they are killed
_ALPHANUMERIC = string.ascii_letters + string.digits


def require_rekeyable(ctx, database, replaced=()):
    """Refuse a site whose database is not known, whose user has accounts at other hosts
    (each would keep the old password), or whose database holds routines, triggers,
    views or events its user, or an account of `replaced` (a stopped move's), defined
    (they stop working once that user is gone)."""
    if not database:
        raise InvalidInput('the database of this site is not known, so its password cannot '
                           'be changed', 'wo multitenancy verify names what is missing')
    user, host = database['db_user'], database['db_grant_host']
    hosts = mariadb.account_hosts(ctx.ctl, user)
    if hosts != [host]:
        raise InvalidInput('{0} has accounts at {1}, not at {2!r} alone'.format(
            user, ', '.join(repr(h) for h in hosts) or 'no host', host),
            'wo multitenancy verify names them; drop the others, then run the same command '
            'again')
    _require_nothing_defined_by(ctx, database, [user, *replaced], InvalidInput)


def read_config(ctx, site):
    """What the site's wp-config.php defines (wp_config.read), read by PHP as the
    site's new user, through its ACL: a www-data process could be traced or fed by any
    shared site's PHP. (No other process runs as that user yet, unless a stopped move
    left its pool running: then the site could only feed its own file's constants, and
    rekey writes the database account, salts and layout anew.)"""
    settings, domain = ctx.settings, site['domain']
    return wp_config.read(settings, wp_config.path(settings, domain), domain,
                          site['php_version'], user=pools.system_user(domain))


def rekey(ctx, site, database, defined, changes, replaced):
    """Give the site (now served by its own pool) a new database account and salts;
    `defined`: read_config's answer; `replaced`: every account the site had during its
    move (`database`'s among them), each dropped once the new one is in use. Each undo
    is registered before its step (each is safe to run when its step did not happen)."""
    ctl, domain = ctx.ctl, site['domain']
    old, host = database['db_user'], database['db_grant_host']
    new = dict(database, db_user=old[:12] + secrets.token_hex(4))
    password = ''.join(secrets.choice(_ALPHANUMERIC) for _ in range(32))
    ctx.db.note_move_account(domain, new['db_user'])  # known before it exists: a stop drops it
    changes.on_failure('drop the database account ' + new['db_user'],
                       lambda: mariadb.drop_account(ctl, new['db_user'], host))
    mariadb.create_account(ctl, database['db_name'], new['db_user'], password, host)
    _write_config(ctx, site, wp_config.with_new_secrets(
        defined['constants'], new['db_user'], password), defined['table_prefix'], changes)
    old_password = (ctx.db.wordops_site(domain) or {}).get('db_password')
    changes.on_failure('record {0} as the database user of {1} again'.format(old, domain),
                       lambda: ctx.db.set_database_user(domain, database, old_password))
    ctx.db.set_database_user(domain, new, password)
    time.sleep(CONNECT_GRACE)
    killed = sum(_drop_account(ctl, user, host, changes) for user in replaced)
    if killed:
        ctx.report('{0} session(s) of the old database account of {1} were still open after '
                   '{2} s: ended'.format(killed, domain, SESSION_WAIT))
    _require_nothing_defined_by(ctx, database, replaced, MTError)  # made while they could connect


def _drop_account(ctl, user, host, changes):
    """Drop user@host, if it is there, and end its sessions (those of a stopped run's
    drop too); the undo makes it again as it was (password hash and grants). How many
    sessions were ended."""
    if host in mariadb.account_hosts(ctl, user):
        kept = mariadb.account_statements(ctl, user, host)
        changes.on_failure('make the database account {0} again'.format(user),
                           lambda: mariadb.restore_account(ctl, user, host, kept))
        mariadb.drop_account(ctl, user, host)
    return mariadb.end_sessions(ctl, user, SESSION_WAIT)


def _write_config(ctx, site, constants, table_prefix, changes):
    """wp-config.php with `constants`, the OPcache copies of the old one dropped; the
    undo puts the old one back."""
    settings, domain, php = ctx.settings, site['domain'], site['php_version']
    config = wp_config.path(settings, domain)
    kept = fs.keep_file(config)

    def put_back():
        fs.restore_file(config, kept)
        phpfpm.forget_scripts(settings, [php], settings.site_root(domain))
    changes.on_failure('put back ' + config, put_back)
    wp_config.write(settings, domain, constants, table_prefix, layout.htdocs(settings, domain))
    phpfpm.forget_scripts(settings, [php], settings.site_root(domain))
    nginx.purge_page_cache([domain], settings.page_caches)  # its pages hold nonces of the old salts


def _require_nothing_defined_by(ctx, database, users, error):
    for user in dict.fromkeys(users):
        defined = mariadb.defined_by(ctx.ctl, database['db_name'], user)
        if defined:
            raise error('{0} defined {1} in {2}: they stop working when its account is '
                        'replaced'.format(user, ', '.join(defined), database['db_name']),
                        'recreate them with another DEFINER, or drop them, then run the same '
                        'command again')
