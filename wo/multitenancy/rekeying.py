"""New secrets for a site that leaves the shared model (`isolate` to sovereign).

While a site is shared, every shared site's PHP can read its wp-config.php: its
database password and its salts are theirs to know. Moving to sovereign, it gets new
ones with no failed request: a second database account beside the first, with
WordOps' grants; its configuration written for that account with fresh salts (whoever
is logged in logs in again); OPcache told; then, once the requests that read the old
file have connected, the first account locked, its sessions ended, every prepared XA
transaction rolled back (a branch prepared with the old password outlives its session
and its account, and any account may commit it later), and the account dropped. Each
step before that registers its undo; from the drop on, nothing is undone: a failure
after it leaves the move recorded for the next isolate, never the old account made
again (a shared site that knew its password could otherwise fail the move on purpose
to keep it). A request or session still running after SESSION_WAIT is ended, and forms
and REST calls opened with the old salts are refused once (their nonces).
"""
import secrets
import string
import time

from wo.multitenancy import fs, layout, mariadb, nginx, phpfpm, pools, wp_config
from wo.multitenancy.errors import InvalidInput

CONNECT_GRACE = 2  # seconds for a request that read the old file to connect with it
SESSION_WAIT = 30  # seconds the old account's sessions have to end before they are killed
_ALPHANUMERIC = string.ascii_letters + string.digits


def require_rekeyable(ctx, database, definers=True):
    """Refuse a site whose database is not known, whose user has accounts at other hosts
    (each would keep the old password), or (`definers`) whose database holds routines,
    triggers, views or events its user defined (they stop working once that user is
    gone). Finishing a stopped move, the accounts are replaced whatever they defined:
    any site that knew the old password could define one to keep it."""
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
    defined = mariadb.defined_by(ctx.ctl, database['db_name'], user) if definers else []
    if defined:
        raise InvalidInput('{0} defined {1} in {2}: they stop working when its account is '
                           'replaced'.format(user, ', '.join(defined), database['db_name']),
                           'recreate them with another DEFINER, or drop them, then run the '
                           'same command again; --force replaces the account all the same '
                           '(when they come back: another site that knows the password '
                           'makes them)')


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
    move (`database`'s among them), each locked once the new one is in use, its sessions
    ended, every prepared XA transaction rolled back, and dropped, whatever failed; from
    then `changes` keeps what was done. Each undo before is registered before its step (each
    is safe to run when its step did not happen). Returns what the replaced accounts
    defined in the site's database (made while they could connect), which no longer
    works."""
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
    changes.keep()
    users = list(dict.fromkeys(replaced))
    try:
        for user in users:  # no new session of theirs; those left end (a stopped run's too)
            mariadb.set_account_locked(ctl, user, host, True)
        killed = sum(mariadb.end_sessions(ctl, user, SESSION_WAIT) for user in users)
        prepared = mariadb.roll_back_prepared(ctl)  # what they staged to commit later
    finally:  # whatever failed: the accounts every shared site could use go
        _drop_accounts(ctl, users, host)
    if killed:
        ctx.report('{0} session(s) of the old database account of {1} were still open after '
                   '{2} s: ended'.format(killed, domain, SESSION_WAIT))
    if prepared:
        ctx.report('{0} prepared XA transaction(s) rolled back'.format(prepared))
    return ['{0} (defined by {1})'.format(thing, user) for user in users
            for thing in mariadb.defined_by(ctl, database['db_name'], user)]


def _drop_accounts(ctl, users, host):
    """Drop each of `users` at `host`, the others too when one fails (that error then
    raised)."""
    failed = None
    for user in users:
        try:
            mariadb.drop_account(ctl, user, host)
        except Exception as e:  # MariaDB's: the next drop may work
            failed = e
    if failed is not None:
        raise failed


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
