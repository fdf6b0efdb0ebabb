"""The one place where wo multitenancy touches MariaDB, through WordOps' own code:
`setupdatabase` creates a site's database and user, `WOMysql` runs the rest."""
import atexit
import contextlib
import functools
import re
import sys
import tempfile
import threading
import time

from wo.multitenancy import runner
from wo.multitenancy.errors import CommandFailed, MTError

_IDENTIFIER = re.compile(r'^[A-Za-z0-9_]{1,64}$')
# What WordOps' setupdatabase grants a site's user on its database, and nothing else.
SITE_PRIVILEGES = frozenset((
    'SELECT', 'INSERT', 'UPDATE', 'DELETE', 'CREATE', 'DROP', 'REFERENCES', 'INDEX', 'ALTER',
    'CREATE TEMPORARY TABLES', 'LOCK TABLES', 'EXECUTE', 'CREATE VIEW', 'SHOW VIEW',
    'CREATE ROUTINE', 'ALTER ROUTINE', 'EVENT', 'TRIGGER'))
# Where MariaDB keeps what runs with its definer's rights: (table, schema column, name column)
_DEFINED = (('ROUTINES', 'ROUTINE_SCHEMA', 'ROUTINE_NAME'),
            ('TRIGGERS', 'TRIGGER_SCHEMA', 'TRIGGER_NAME'),
            ('VIEWS', 'TABLE_SCHEMA', 'TABLE_NAME'), ('EVENTS', 'EVENT_SCHEMA', 'EVENT_NAME'))

def _womysql():
    from wo.core.mysql import WOMysql
    return WOMysql


def ping(ctl, settings):
    """Raise MTError unless MariaDB answers, trying db_connect_retries times."""
    last = None
    for attempt in range(max(1, settings.db_connect_retries)):
        try:
            connection = _womysql().connect(ctl)
            connection.close()
            return
        except Exception as e:  # WOMysql raises several unrelated types
            last = e
            time.sleep(settings.db_connect_timeout if attempt + 1 < settings.db_connect_retries else 0)
    raise MTError('MariaDB does not answer: {0}'.format(last or 'connection refused'),
                  'start it (service mariadb start) and run the same command again')


def create_site_database(ctl, domain, changes):
    """Create the database and user of `domain` with WordOps' setupdatabase.

    Returns dict(db_name, db_user, db_password, db_host). The undo drops
    whatever it created, even when it failed half-way (a database without its user).
    """
    from wo.cli.plugins.site_functions import SiteError, setupdatabase
    before = _snapshot(ctl)
    changes.on_failure('drop the database of ' + domain,
                       lambda: _drop_new(ctl, before, domain))
    try:
        with contextlib.redirect_stdout(sys.stderr):  # keep stdout for results (--json)
            created = setupdatabase(ctl, {'site_name': domain})
    except SiteError as e:
        raise MTError('creating the database of {0} failed: {1}'.format(domain, e.message),
                      'check that MariaDB runs and root can log in (wo info --mysql)')
    return {'db_name': created['wo_db_name'], 'db_user': created['wo_db_user'],
            'db_password': created['wo_db_pass'], 'db_host': created['wo_db_host'] or 'localhost',
            'db_grant_host': created['wo_mysql_grant_host']}


def drop_site_database(ctl, db_name, db_user, grant_host):
    """Drop a site's database and its user at `grant_host` if they exist (idempotent)."""
    for identifier in (db_name, db_user):
        _require_identifier(identifier)
    _execute(ctl, 'DROP DATABASE IF EXISTS `{0}`'.format(db_name))
    drop_account(ctl, db_user, grant_host)


def create_account(ctl, db_name, user, password, host):
    """Create user@host identified by `password`, with WordOps' grants on `db_name`.*
    alone. MariaDB refusing either raises MTError, and nothing is left."""
    for identifier in (db_name, user):
        _require_identifier(identifier)
    statements = (('CREATE USER %s@%s IDENTIFIED BY %s', (user, host, password)),
                  # `_` is a wildcard in a database grant: this one names one database
                  ('GRANT {0} ON `{1}`.* TO %s@%s'.format(', '.join(sorted(SITE_PRIVILEGES)),
                                                         db_name.replace('_', '\\_')),
                   (user, host)))
    for number, (statement, args) in enumerate(statements):
        try:
            _execute(ctl, statement, args)
        except Exception as e:  # the driver's errors have no common base of ours
            if number:  # the account is this call's
                drop_account(ctl, user, host)
            raise MTError('MariaDB refused the account {0}@{1}: {2}'.format(user, host, e),
                          'check that MariaDB runs and root can log in (wo info --mysql)')


def drop_account(ctl, user, host):
    """Drop user@host if it exists (idempotent)."""
    _require_identifier(user)
    _execute(ctl, 'DROP USER IF EXISTS %s@%s', (user, host))


def set_account_locked(ctl, user, host, locked):
    """Lock user@host (no new connection: its sessions go on until ended) or unlock it,
    if it exists."""
    _require_identifier(user)
    _execute(ctl, 'ALTER USER IF EXISTS %s@%s ACCOUNT {0}'.format('LOCK' if locked else 'UNLOCK'),
             (user, host))


def end_sessions(ctl, user, wait):
    """Give the sessions of `user` up to `wait` seconds to end, then kill those left;
    how many were killed."""
    deadline = time.monotonic() + wait
    while True:
        left = _column(ctl, 'SELECT ID FROM information_schema.PROCESSLIST WHERE USER = %s',
                       (user,))
        if not left or time.monotonic() >= deadline:
            break
        time.sleep(0.2)
    for session in left:
        try:
            _execute(ctl, 'KILL CONNECTION %s', (int(session),))
        except Exception:  # it ended meanwhile
            pass
    return len(left)


def roll_back_prepared(ctl):
    """Roll back every prepared XA transaction on the server (WordPress makes none); how
    many. A prepared branch outlives its session and its account, and any account may
    commit it later: one staged with a password every shared site knew would write, as
    that account, after the account is gone."""
    prepared = _rows(ctl, 'XA RECOVER')
    for format_id, gtrid_length, bqual_length, data in prepared:
        data = data.encode() if isinstance(data, str) else bytes(data)  # its bytes, as made
        gtrid, bqual = data[:gtrid_length], data[gtrid_length:gtrid_length + bqual_length]
        _execute(ctl, "XA ROLLBACK X'{0}',X'{1}',{2}".format(gtrid.hex(), bqual.hex(),
                                                             int(format_id)))
    return len(prepared)


def other_grantees(ctl, db_name, user):
    """The accounts but `user`'s granted anything on `db_name` itself (a database grant
    whose pattern takes it in, or a table, column or routine grant in it)."""
    query = ' UNION '.join(["SELECT CONCAT(User, '@', Host) FROM mysql.db "
                            "WHERE %s LIKE Db AND User <> %s"] + [
        "SELECT CONCAT(User, '@', Host) FROM mysql.{0} WHERE Db = %s AND User <> %s".format(t)
        for t in ('tables_priv', 'columns_priv', 'procs_priv')])
    return sorted(_column(ctl, query, (db_name, user) * 4))


def read_options(ctl, db_name, prefix, limit=1000, longest=4096):
    """{name: value} of the options of database `db_name` whose name starts with
    `prefix`, at most `limit`, each at most `longest` bytes (longer ones are left out).
    Only a base table is read (its one table with an option_name column): a view is the
    site's code, and it would run with root's rights."""
    table = _options_table(ctl, db_name)
    if not table:
        return {}
    rows = _rows(ctl, 'SELECT option_name, option_value FROM {0} WHERE option_name LIKE %s '
                      'AND LENGTH(option_value) <= %s LIMIT %s'.format(table),
                 (_like_prefix(prefix), longest, limit))
    return {name: value if isinstance(value, str) else bytes(value).decode('utf-8', 'replace')
            for name, value in rows}


def option_start(ctl, db_name, name, length):
    """The first `length` characters of option `name` of database `db_name` (read_options'
    table), or None when it has no such option. MTError when it has no one options
    table we read."""
    table = _options_table(ctl, db_name)
    if not table:
        raise MTError('{0} has no one options table (base table with option_name)'.format(
            db_name))
    # The table is the site's: it may lock it, or make it huge; no wait, one row.
    rows = _rows(ctl, 'SET STATEMENT max_statement_time = 5, lock_wait_timeout = 5 FOR '
                      'SELECT LEFT(option_value, %s) FROM {0} WHERE option_name = %s '
                      'LIMIT 1'.format(table), (length, name))
    for (value,) in rows:
        if value is None:
            return None
        return value if isinstance(value, str) else bytes(value).decode('utf-8', 'replace')
    return None


def delete_options(ctl, db_name, names):
    """Delete the options `names` of database `db_name` (read_options' table)."""
    table = _options_table(ctl, db_name)
    for name in names if table else ():
        _execute(ctl, 'DELETE FROM {0} WHERE option_name = %s'.format(table), (name,))


def delete_options_starting(ctl, db_name, prefix):
    """Delete the options of database `db_name` (read_options' table) whose name starts
    with `prefix`."""
    table = _options_table(ctl, db_name)
    if table:
        _execute(ctl, 'DELETE FROM {0} WHERE option_name LIKE %s'.format(table),
                 (_like_prefix(prefix),))


def _options_table(ctl, db_name):
    _require_identifier(db_name)
    tables = _column(ctl, 'SELECT c.TABLE_NAME FROM information_schema.COLUMNS c JOIN '
                          'information_schema.TABLES t ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND '
                          't.TABLE_NAME = c.TABLE_NAME WHERE c.TABLE_SCHEMA = %s AND '
                          "c.COLUMN_NAME = 'option_name' AND t.TABLE_TYPE = 'BASE TABLE'",
                     (db_name,))
    if len(tables) != 1 or not _IDENTIFIER.match(tables[0]):
        return None
    return '`{0}`.`{1}`'.format(db_name, tables[0])


def _like_prefix(prefix):
    return prefix.replace('\\', '\\\\').replace('_', '\\_').replace('%', '\\%') + '%'


def defined_by(ctl, db_name, user):
    """The routines, triggers, views and events of `db_name` whose definer is `user` (at
    any host): they stop working when that user goes."""
    query = ' UNION ALL '.join(
        "SELECT CONCAT('{0} ', {2}) FROM information_schema.{0} WHERE {1} = %s AND "
        "SUBSTRING_INDEX(DEFINER, '@', 1) = %s".format(*names) for names in _DEFINED)
    return _column(ctl, query, (db_name, user) * len(_DEFINED))


def wordops_grant_host(ctl):
    """The host WordOps creates database users at now (wo.conf [mysql] grant-host)."""
    config = ctl.app.config
    return config.get('mysql', 'grant-host') if config.has_section('mysql') else 'localhost'


def account_hosts(ctl, user):
    """The hosts MariaDB has an account of `user` at ('' : the anonymous accounts)."""
    return sorted(_column(ctl, 'SELECT Host FROM mysql.user WHERE User = %s', (user,)))


def public_grants(ctl):
    """SHOW GRANTS FOR PUBLIC (MariaDB 10.11): what every account is granted."""
    return _column(ctl, 'SHOW GRANTS FOR PUBLIC')


def grant_host_of(ctl, user):
    """The host of `user`'s one account (a site WordOps made, being converted), or
    WordOps' grant-host when it has none or several (verify names them)."""
    hosts = account_hosts(ctl, user)
    return hosts[0] if len(hosts) == 1 else wordops_grant_host(ctl)


def grants(ctl, user, host):
    """SHOW GRANTS of user@host, one statement a line."""
    return _column(ctl, 'SHOW GRANTS FOR %s@%s', (user, host))


def dump(db_name, path):
    """Dump database `db_name` to the SQL file `path` (root's alone), consistently (one
    transaction)."""
    _require_identifier(db_name)
    runner.run(['mysqldump', '--single-transaction', '--hex-blob', '--routines', '--events',
                '--result-file=' + path, db_name], timeout=6 * 3600, umask=0o077)


def restore(db_name, path):
    """Load the SQL dump `path` into database `db_name` (its tables replaced), as root,
    in the client's sandbox: a client command in the file (\\! runs a shell) is refused."""
    _require_identifier(db_name)
    runner.run(['mariadb'] + _sandbox() + [db_name], stdin_file=path, timeout=6 * 3600)


@functools.lru_cache(maxsize=None)
def _sandbox():
    """The client's --sandbox, when it has one (MariaDB 10.5.25, 10.6.18, 10.11.8 and
    later; mariadb-dump writes what turns it on into the dumps it makes)."""
    known = runner.run(['mariadb', '--sandbox', '--version'], check=False).returncode == 0
    return ['--sandbox'] if known else []


def load_as_site(ctl, db, path):
    """Load the SQL dump `path` into the database of `db` (create_site_database's) as
    that site's own account, in the client's sandbox: the dump can do nothing the
    account could not (MariaDB refuses a definer of another account, a statement on
    another database). MTError when it refuses anything."""
    _require_identifier(db['db_name'])
    client = {'user': db['db_user'], 'password': db['db_password'], 'host': db['db_host'],
              'socket': _column(ctl, 'SELECT @@socket')[0]}
    if any(c in str(v) for v in client.values() for c in '\n\r\0'):
        raise MTError('the database account of {0} has a name or password that is not one '
                      'line'.format(db['db_name']))
    # --defaults-file: this file alone (root's ~/.my.cnf would log in as root)
    with tempfile.NamedTemporaryFile('w', prefix='wo-mt-', suffix='.cnf') as options:
        options.write('[client]\n' + ''.join('{0}="{1}"\n'.format(k, str(v).replace(
            '\\', '\\\\').replace('"', '\\"')) for k, v in client.items()))
        options.flush()
        try:
            runner.run(['mariadb', '--defaults-file=' + options.name] + _sandbox() +
                       [db['db_name']], stdin_file=path, timeout=6 * 3600)
        except CommandFailed as e:
            raise MTError('MariaDB refused the dump as {0}: {1}'.format(
                db['db_user'], (e.stderr.strip().splitlines() or ['exit {0}'.format(
                    e.returncode)])[-1]),
                'what runs as another account (a routine, trigger, view or event) or '
                'touches another database cannot be copied: restore the site in place, '
                'or drop it on the site and back it up again')


def replace_database(ctl, db_name, path):
    """Database `db_name` made again (its character set and collation kept) from the SQL
    dump `path`: nothing of it stays that the dump does not have. Grants name the
    database, so its account keeps them. The dump runs as root: the site's account must
    be locked and its sessions ended first (a site could put a view of its own where
    root's INSERT goes)."""
    _require_identifier(db_name)
    found = _rows(ctl, 'SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM '
                       'information_schema.SCHEMATA WHERE SCHEMA_NAME = %s', (db_name,))
    charset, collation = found[0] if found else ('utf8mb4', 'utf8mb4_unicode_ci')
    for name in (charset, collation):
        _require_identifier(name)
    _execute(ctl, 'DROP DATABASE IF EXISTS `{0}`'.format(db_name))
    _execute(ctl, 'CREATE DATABASE `{0}` CHARACTER SET {1} COLLATE {2}'.format(
        db_name, charset, collation))
    restore(db_name, path)


def _require_identifier(identifier):
    if not _IDENTIFIER.match(identifier or ''):
        raise MTError('refusing to touch {0!r}: not a plain identifier'.format(identifier))


def _snapshot(ctl):
    return set(_column(ctl, 'SELECT SCHEMA_NAME FROM information_schema.SCHEMATA')), \
        set(_column(ctl, 'SELECT CONCAT(User, "@", Host) FROM mysql.user'))


def _drop_new(ctl, before, domain):
    """Drop the databases and users that appeared since `before` under the names
    setupdatabase derives from `domain`."""
    schemas, users = _snapshot(ctl)
    db_prefix = domain.replace('-', '_').replace('.', '_')[0:32] + '_'
    user_prefixes = (domain.replace('-', '').replace('.', '')[0:12], db_prefix[0:12])
    for schema in schemas - before[0]:
        if schema.startswith(db_prefix):
            _execute(ctl, 'DROP DATABASE IF EXISTS `{0}`'.format(schema))
    for user_host in users - before[1]:
        user, host = user_host.rsplit('@', 1)
        if user.startswith(user_prefixes):
            _execute(ctl, 'DROP USER IF EXISTS `{0}`@`{1}`'.format(user, host))


def _column(ctl, query, args=None):
    return [row[0] for row in _rows(ctl, query, args)]


def _rows(ctl, query, args=None):
    try:
        with _connection(ctl).cursor() as cursor:
            cursor.execute(query, args)
            return cursor.fetchall()
    except BaseException:
        _forget_connection()  # it may be broken: the next call connects anew
        raise


def _execute(ctl, statement, args=None):
    _rows(ctl, statement, args)


_OPEN = {}  # thread -> its connection, closed with a goodbye once the thread has ended
_OPEN_LOCK = threading.Lock()


def _connection(ctl):
    """This thread's connection to MariaDB (WordOps' WOMysql), made once and kept (made
    again if MariaDB dropped it): a connect costs 50 ms, PyMySQL building a TLS context
    (the CA bundle read) even over the socket. Autocommit: each statement sees what is
    committed when it runs, and is committed as it runs. The connections of threads that
    ended are closed here, the rest when the command exits: one only dropped is an
    "Aborted connection" warning in MariaDB's log."""
    me = threading.current_thread()
    connection = _OPEN.get(me)
    if connection is not None:
        try:
            connection.ping(reconnect=False)
            return connection
        except Exception:  # MariaDB restarted, or ended the session
            _forget_connection()
    connection = _womysql().connect(ctl)
    connection.autocommit(True)
    with _OPEN_LOCK:
        for thread in [t for t in _OPEN if not t.is_alive()]:
            _close(_OPEN.pop(thread))
        _OPEN[me] = connection
    return connection


def _forget_connection():
    with _OPEN_LOCK:
        connection = _OPEN.pop(threading.current_thread(), None)
    _close(connection)


@atexit.register
def _close_every_connection():
    with _OPEN_LOCK:
        while _OPEN:
            _close(_OPEN.popitem()[1])


def _close(connection):
    if connection is not None:
        try:
            connection.close()
        except Exception:  # closed already
            pass
