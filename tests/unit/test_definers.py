"""definers: what the old database account defined, made again by the new one from
what SHOW CREATE gives, its DEFINER clause left out, as CREATE OR REPLACE."""
import pytest

from wo.multitenancy import definers, mariadb
from wo.multitenancy.errors import MTError

MODE = 'STRICT_TRANS_TABLES'


@pytest.fixture
def shown(monkeypatch):
    """shown(row): what SHOW CREATE answers from now on; the queries asked are kept."""
    asked = []

    def answer(row):
        monkeypatch.setattr(mariadb, 'rows', lambda ctl, query, args=None: (
            asked.append(query), [row] if row else [])[1])
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
    assert statements[-1] == (again, None)
    assert statements[:-1] == ([] if kind == 'VIEW' else [('SET SESSION sql_mode = %s', (MODE,))])


def test_an_event_is_made_again_in_its_time_zone(shown):
    shown(('e', MODE, '+02:00', "CREATE DEFINER=`a`@`localhost` EVENT `e` ON SCHEDULE EVERY 1 "
                                "DAY STARTS '2026-12-04 20:53:07' DO DELETE FROM t", 'utf8mb4'))
    assert definers._statements(None, 'd', 'EVENT', 'e') == [
        ('SET SESSION sql_mode = %s', (MODE,)), ('SET SESSION time_zone = %s', ('+02:00',)),
        ("CREATE OR REPLACE EVENT `e` ON SCHEDULE EVERY 1 DAY STARTS '2026-12-04 20:53:07' "
         "DO DELETE FROM t", None)]


@pytest.mark.parametrize('kind, row, why', [
    ('PACKAGE BODY', None, 'a package body is not defined anew here'),
    ('TRIGGER', None, 'it was dropped meanwhile'),
    ('TRIGGER', ('t', MODE, 'CREATE TRIGGER t BEFORE INSERT ON x FOR EACH ROW SET @s = 1'),
     'MariaDB shows it in a form this does not know'),
])
def test_what_cannot_be_made_again_says_why(shown, kind, row, why):
    shown(row)
    with pytest.raises(MTError) as refused:
        definers._statements(None, 'd', kind, 't')
    assert refused.value.message == why


def test_each_object_is_made_by_the_new_account_and_a_refusal_named(monkeypatch):
    monkeypatch.setattr(definers, 'defined_by', lambda ctl, db, user: [('TRIGGER', 'a'),
                                                                      ('VIEW', 'b')])
    monkeypatch.setattr(definers, '_statements', lambda ctl, db, kind, name: [(name, None)])
    ran = []

    def run_as(ctl, account, statements):
        ran.append((account['db_user'], statements))
        if statements == [('b', None)]:
            raise MTError('MariaDB refused it as new: SELECT command denied')
    monkeypatch.setattr(mariadb, 'run_as', run_as)
    assert definers.define_anew(None, {'db_name': 'd', 'db_user': 'new'}, 'old') == (
        ['trigger a'], {'view b': 'MariaDB refused it as new: SELECT command denied'})
    assert ran == [('new', [('a', None)]), ('new', [('b', None)])]
