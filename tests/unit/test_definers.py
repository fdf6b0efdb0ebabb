"""definers: what the old database account defined, made again by the new one from
what SHOW CREATE gives, its DEFINER clause left out, as CREATE OR REPLACE; procedures
and events (which could change the account's password) are not."""
import contextlib

import pytest

from wo.multitenancy import definers, mariadb
from wo.multitenancy.errors import MTError

MODE = 'STRICT_TRANS_TABLES'
LOCK_WAIT = ('SET SESSION lock_wait_timeout = %s', (definers.LOCK_WAIT,))


@pytest.fixture
def shown(monkeypatch):
    """shown(row): what SHOW CREATE answers from now on; the queries asked are kept."""
    asked = []

    def answer(row):
        monkeypatch.setattr(mariadb, 'rows', lambda ctl, query, args=None: (
            asked.append(query), [row])[1])
        return asked
    return answer


@pytest.mark.parametrize('kind, row, again', [
    ('TRIGGER', ('t', MODE, 'CREATE DEFINER=`a`@`localhost` TRIGGER IF NOT EXISTS t BEFORE '
                            'INSERT ON x FOR EACH ROW SET @s = 1', 'utf8mb4'),
     'CREATE OR REPLACE TRIGGER t BEFORE INSERT ON x FOR EACH ROW SET @s = 1'),
    ('VIEW', ('v', 'CREATE ALGORITHM=MERGE DEFINER=`a`@`%` SQL SECURITY INVOKER VIEW `d`.`v` '
                   'AS select 1 AS `1`', 'utf8mb4', 'utf8mb4_general_ci'),
     'CREATE OR REPLACE ALGORITHM=MERGE SQL SECURITY INVOKER VIEW `d`.`v` AS select 1 AS `1`'),
    ('FUNCTION', ('f', MODE, 'CREATE DEFINER=`a``b`@`localhost` AGGREGATE FUNCTION `f`(x INT) '
                             'RETURNS int(11)\nBEGIN RETURN 1; END', 'utf8mb4'),
     'CREATE OR REPLACE AGGREGATE FUNCTION `f`(x INT) RETURNS int(11)\nBEGIN RETURN 1; END'),
])
def test_an_object_is_made_again_without_its_definer(shown, kind, row, again):
    asked = shown(row)
    statements = definers._statements(None, 'd', kind, 'na`me')
    assert asked == ['SHOW CREATE {0} `d`.`na``me`'.format(kind)]
    assert statements == [LOCK_WAIT] + (
        [] if kind == 'VIEW' else [('SET SESSION sql_mode = %s', (MODE,))]) + [(again, None)]


def test_a_head_of_another_form_is_not_made_again(shown):
    shown(('t', MODE, 'CREATE TRIGGER t BEFORE INSERT ON x FOR EACH ROW SET @s = 1'))
    with pytest.raises(MTError, match='MariaDB shows it in a form this does not know'):
        definers._statements(None, 'd', 'TRIGGER', 't')


def test_triggers_views_and_functions_are_made_by_the_new_account_in_one_session(monkeypatch):
    """Each failure is named with what was said; procedures and events are left."""
    monkeypatch.setattr(definers, 'defined_by', lambda ctl, db, user: [
        ('TRIGGER', 'a'), ('PROCEDURE', 'p'), ('VIEW', 'b'), ('EVENT', 'e'), ('FUNCTION', 'c')])
    monkeypatch.setattr(definers, '_statements', lambda ctl, db, kind, name: [(name, None)])
    ran, sessions = [], []

    @contextlib.contextmanager
    def session_as(ctl, account):
        sessions.append(account['db_user'])

        def run(sql, args=None):
            ran.append(sql)
            if sql == 'b':
                raise RuntimeError(1142, 'SELECT command denied')
        yield run
    monkeypatch.setattr(mariadb, 'session_as', session_as)
    done, left = definers.define_anew(None, {'db_name': 'd', 'db_user': 'new'}, 'old')
    assert (done, sessions, ran) == (['trigger a', 'function c'], ['new'], ['a', 'b', 'c'])
    assert left['view b'] == 'RuntimeError: SELECT command denied'
    assert sorted(left) == ['event e', 'procedure p', 'view b']
    assert left['procedure p'].startswith('procedures and events are not defined anew')


def test_an_account_mariadb_does_not_let_in_leaves_each_object_named(monkeypatch):
    monkeypatch.setattr(definers, 'defined_by', lambda ctl, db, user: [('VIEW', 'b')])

    @contextlib.contextmanager
    def session_as(ctl, account):
        raise MTError('MariaDB did not let new in: Access denied')
        yield
    monkeypatch.setattr(mariadb, 'session_as', session_as)
    assert definers.define_anew(None, {'db_name': 'd', 'db_user': 'new'}, 'old') == (
        [], {'view b': 'MariaDB did not let new in: Access denied'})
