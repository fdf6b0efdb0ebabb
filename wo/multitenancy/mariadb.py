"""The one place where wo multitenancy touches MariaDB, through WordOps' own code:
`setupdatabase` creates a site's database and user, `WOMysql` runs the rest."""
import contextlib
import re
import sys
import time

from wo.multitenancy import runner
from wo.multitenancy.errors import MTError

_IDENTIFIER = re.compile(r'^[A-Za-z0-9_]{1,64}$')

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
    _execute(ctl, 'DROP USER IF EXISTS %s@%s', (db_user, grant_host))


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
    runner.run(['mysqldump', '--single-transaction', '--hex-blob', '--result-file=' + path,
                db_name], timeout=6 * 3600, umask=0o077)


def restore(db_name, path):
    """Load the SQL dump `path` into database `db_name` (its tables replaced)."""
    _require_identifier(db_name)
    runner.run(['mariadb', db_name, '--execute', 'source ' + path], timeout=6 * 3600)


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
    connection = _womysql().connect(ctl)
    try:
        with connection.cursor() as cursor:
            cursor.execute(query, args)
            return [row[0] for row in cursor.fetchall()]
    finally:
        connection.close()


def _execute(ctl, statement, args=None):
    connection = _womysql().connect(ctl)
    try:
        with connection.cursor() as cursor:
            cursor.execute(statement, args)
        connection.commit()
    finally:
        connection.close()
