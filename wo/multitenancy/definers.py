"""What runs with its definer's rights in a site's database (routines, triggers, views,
events), and its definition anew for the account that replaces that definer: `isolate`
gives a site going sovereign a new database account and drops the old one
(rekeying.py), and an object whose definer is gone no longer works.

Root reads each definition (SHOW CREATE: MariaDB writes its head, up to the name, the
body is the site's own) and the new account itself runs it again, as CREATE OR REPLACE
without the DEFINER clause: whatever the site wrote in it runs with that account's
rights alone, never root's, and each object is replaced by one statement, so none is
missing meanwhile. It is made in the session the object was made in (its sql_mode, an
event's time_zone), in utf8mb4.
"""
import re

from wo.multitenancy import mariadb
from wo.multitenancy.errors import MTError

# information_schema's lists of them: (table, the kind of each, schema column, name column)
_LISTS = (('TRIGGERS', "'TRIGGER'", 'TRIGGER_SCHEMA', 'TRIGGER_NAME'),
          ('ROUTINES', 'ROUTINE_TYPE', 'ROUTINE_SCHEMA', 'ROUTINE_NAME'),
          ('VIEWS', "'VIEW'", 'TABLE_SCHEMA', 'TABLE_NAME'),
          ('EVENTS', "'EVENT'", 'EVENT_SCHEMA', 'EVENT_NAME'))
# kind -> the columns of SHOW CREATE <kind>: (the statement, sql_mode, time_zone)
_SHOWN = {'TRIGGER': (2, 1, None), 'PROCEDURE': (2, 1, None), 'FUNCTION': (2, 1, None),
          'VIEW': (1, None, None), 'EVENT': (3, 1, 2)}
_QUOTED = r'`(?:[^`]|``)*`'
# The head MariaDB writes: CREATE [ALGORITHM=..] DEFINER=`u`@`h` [SQL SECURITY ..] KIND
# [IF NOT EXISTS] (which OR REPLACE refuses)
_HEAD = re.compile(r'CREATE (ALGORITHM=\w+ )?DEFINER={0}@{0} ((?:SQL SECURITY \w+ )?'
                   r'(?:TRIGGER|VIEW|EVENT|PROCEDURE|(?:AGGREGATE )?FUNCTION) )'
                   r'(?:IF NOT EXISTS )?'.format(_QUOTED))


def defined_by(ctl, db_name, user):
    """[(kind, name)] of what in `db_name` runs with the rights of `user` (at any host)."""
    query = ' UNION ALL '.join(
        "SELECT {1}, {3} FROM information_schema.{0} WHERE {2} = %s AND "
        "SUBSTRING_INDEX(DEFINER, '@', 1) = %s".format(*names) for names in _LISTS)
    return [tuple(row) for row in mariadb.rows(ctl, query, (db_name, user) * len(_LISTS))]


def named(kind, name):
    return '{0} {1}'.format(kind.lower(), name)


def define_anew(ctl, account, old_user):
    """What in the database of `account` (mariadb.run_as's) user `old_user` defined,
    defined anew by `account`. Returns ([what was], {what could not be: why})."""
    done, left = [], {}
    for kind, name in defined_by(ctl, account['db_name'], old_user):
        try:
            mariadb.run_as(ctl, account, _statements(ctl, account['db_name'], kind, name))
            done.append(named(kind, name))
        except MTError as e:
            left[named(kind, name)] = e.message
    return done, left


def _statements(ctl, db_name, kind, name):
    """The statements that define object `name` of `kind` anew, as the account that runs
    them: its session's settings, then CREATE OR REPLACE."""
    if kind not in _SHOWN:
        raise MTError('a {0} is not defined anew here'.format(kind.lower()))
    found = mariadb.rows(ctl, 'SHOW CREATE {0} {1}.{2}'.format(kind, _quote(db_name),
                                                                _quote(name)))
    if not found:
        raise MTError('it was dropped meanwhile')
    statement, sql_mode, time_zone = (found[0][i] if i is not None else None
                                      for i in _SHOWN[kind])
    head = _HEAD.match(statement or '')
    if not head:
        raise MTError('MariaDB shows it in a form this does not know')
    settings = [('SET SESSION sql_mode = %s', (sql_mode,))] if sql_mode is not None else []
    settings += [('SET SESSION time_zone = %s', (time_zone,))] if time_zone else []
    return settings + [('CREATE OR REPLACE ' + (head.group(1) or '') + head.group(2) +
                        statement[head.end():], None)]


def _quote(identifier):
    return '`' + identifier.replace('`', '``') + '`'
