"""What runs with its definer's rights in a site's database (routines, triggers, views,
events), and its definition anew for the account that replaces that definer: `isolate`
gives a site going sovereign a new database account and drops the old one
(rekeying.py), and an object whose definer is gone no longer works.

Triggers, views and functions are defined anew: none can change an account (MariaDB
refuses SET PASSWORD, ALTER USER and any statement that commits in a trigger or a
function, and a view only reads). Procedures and events are not: either, run with the
new account's rights, could give the account a password of its choosing -- an event by
itself, a procedure when the site calls it -- and any shared site that knew the old
password may have written them. A fresh move refuses while the old account defines one
(rekeying.require_rekeyable).

Root reads each definition (SHOW CREATE: MariaDB writes its head, up to the name, the
body is the site's own) and the new account itself runs it again, as CREATE OR REPLACE
without the DEFINER clause: whatever the site wrote in it runs with that account's
rights alone, never root's, and each object is replaced by one statement. It is made in
the session the object was made in (its sql_mode), in utf8mb4, waiting LOCK_WAIT seconds
at most for a table a session holds.
"""
import re

from wo.multitenancy import mariadb
from wo.multitenancy.errors import MTError

# information_schema's lists of them: (table, the kind of each, schema column, name column)
_LISTS = (('TRIGGERS', "'TRIGGER'", 'TRIGGER_SCHEMA', 'TRIGGER_NAME'),
          ('ROUTINES', 'ROUTINE_TYPE', 'ROUTINE_SCHEMA', 'ROUTINE_NAME'),
          ('VIEWS', "'VIEW'", 'TABLE_SCHEMA', 'TABLE_NAME'),
          ('EVENTS', "'EVENT'", 'EVENT_SCHEMA', 'EVENT_NAME'))
# kind -> the columns of SHOW CREATE <kind>: (the statement, sql_mode); the kinds defined anew
_SHOWN = {'TRIGGER': (2, 1), 'FUNCTION': (2, 1), 'VIEW': (1, None)}
_QUOTED = r'`(?:[^`]|``)*`'
# The head MariaDB writes: CREATE [ALGORITHM=..] DEFINER=`u`@`h` [SQL SECURITY ..] KIND
# [IF NOT EXISTS] (which OR REPLACE refuses)
_HEAD = re.compile(r'CREATE (ALGORITHM=\w+ )?DEFINER={0}@{0} ((?:SQL SECURITY \w+ )?'
                   r'(?:TRIGGER|VIEW|(?:AGGREGATE )?FUNCTION) )(?:IF NOT EXISTS )?'.format(_QUOTED))
LOCK_WAIT = 5  # seconds a definition waits for a table a session holds
MAX_DEFINED = 1000  # objects defined anew at most: the rest is left (the command lock is held)


def defined_by(ctl, db_name, user):
    """[(kind, name)] of what in `db_name` runs with the rights of `user` (at any host)."""
    query = ' UNION ALL '.join(
        "SELECT {1}, {3} FROM information_schema.{0} WHERE {2} = %s AND "
        "SUBSTRING_INDEX(DEFINER, '@', 1) = %s".format(*names) for names in _LISTS)
    return [tuple(row) for row in mariadb.rows(ctl, query, (db_name, user) * len(_LISTS))]


def named(kind, name):
    return '{0} {1}'.format(kind.lower(), name)


def unsafe(found):
    """What of `found` ([(kind, name)]) is not defined anew: procedures and events."""
    return [named(kind, name) for kind, name in found if kind not in _SHOWN]


def define_anew(ctl, account, old_user):
    """What in the database of `account` (mariadb.session_as's) user `old_user` defined,
    defined anew by `account`. Returns ([what was], {what was not: why})."""
    done, left = [], {}
    found = defined_by(ctl, account['db_name'], old_user)
    for thing in unsafe(found):
        left[thing] = ('procedures and events are not defined anew (either could change its '
                       'account\'s password): define it again as the site, if it is its own')
    found = [(kind, name) for kind, name in found if kind in _SHOWN]
    for kind, name in found[MAX_DEFINED:]:
        left[named(kind, name)] = 'more than {0} objects to define anew'.format(MAX_DEFINED)
    if not found:
        return done, left
    try:
        with mariadb.session_as(ctl, account) as run:
            for kind, name in found[:MAX_DEFINED]:
                try:
                    for sql, args in _statements(ctl, account['db_name'], kind, name):
                        run(sql, args)
                    done.append(named(kind, name))
                except Exception as e:  # the site's object: whatever it makes fail is its own
                    left[named(kind, name)] = _why(e)
    except MTError as e:
        left.update((named(kind, name), e.message) for kind, name in found
                    if named(kind, name) not in done)
    return done, left


def _statements(ctl, db_name, kind, name):
    """The statements that define object `name` of `kind` anew, as the account that runs
    them: its session's settings, then CREATE OR REPLACE."""
    shown = mariadb.rows(ctl, 'SHOW CREATE {0} {1}.{2}'.format(kind, _quote(db_name),
                                                                _quote(name)))[0]
    statement_at, sql_mode_at = _SHOWN[kind]
    statement = shown[statement_at]
    head = _HEAD.match(statement or '')
    if not head:
        raise MTError('MariaDB shows it in a form this does not know')
    settings = [('SET SESSION lock_wait_timeout = %s', (LOCK_WAIT,))]
    if sql_mode_at is not None:
        settings.append(('SET SESSION sql_mode = %s', (shown[sql_mode_at],)))
    return settings + [('CREATE OR REPLACE ' + (head.group(1) or '') + head.group(2) +
                        statement[head.end():], None)]


def _why(error):
    """What MariaDB (or reading it) said when an object could not be defined anew."""
    return error.message if isinstance(error, MTError) else '{0}: {1}'.format(
        type(error).__name__, error.args[-1] if error.args else error)


def _quote(identifier):
    return '`' + identifier.replace('`', '``') + '`'
