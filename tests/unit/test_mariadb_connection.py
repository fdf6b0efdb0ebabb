"""One connection to MariaDB per thread, kept across statements, made again when it
broke: a PyMySQL connect costs 50 ms (it builds a TLS context)."""
import threading

import pytest

from wo.multitenancy import mariadb


class Connection:
    def __init__(self, made):
        self.made, self.alive, self.closed, self.autocommitting = made, True, False, False
        made.append(self)

    def autocommit(self, on):
        self.autocommitting = on

    def ping(self, reconnect):
        if not self.alive:
            raise ConnectionError('gone')

    def cursor(self):
        return Cursor(self)

    def close(self):
        self.closed = True


class Cursor:
    def __init__(self, connection):
        self.connection = connection

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def execute(self, query, args):
        if query == 'BAD':
            raise ValueError('refused')
        self.query = query

    def fetchall(self):
        return ((self.query,),)


@pytest.fixture
def made(monkeypatch):
    made = []

    class WOMysql:
        @staticmethod
        def connect(ctl):
            return Connection(made)
    monkeypatch.setattr(mariadb, '_womysql', lambda: WOMysql)
    mariadb._close_every_connection()
    yield made
    mariadb._close_every_connection()


def test_statements_of_one_thread_share_one_autocommitting_connection(made):
    assert mariadb._column(None, 'SELECT 1') == ['SELECT 1']
    mariadb._execute(None, 'DROP USER IF EXISTS x')
    assert len(made) == 1 and made[0].autocommitting


def test_a_connection_mariadb_dropped_is_made_again(made):
    mariadb._column(None, 'SELECT 1')
    made[0].alive = False
    mariadb._column(None, 'SELECT 2')
    assert len(made) == 2 and made[0].closed


def test_a_failed_statement_leaves_the_next_one_a_new_connection(made):
    with pytest.raises(ValueError):
        mariadb._column(None, 'BAD')
    mariadb._column(None, 'SELECT 1')
    assert len(made) == 2 and made[0].closed


def test_each_thread_has_its_own_connection_closed_once_the_thread_ended(made):
    """Closed, not dropped: a connection only dropped is a warning in MariaDB's log."""
    other = threading.Thread(target=lambda: mariadb._column(None, 'SELECT 1'))
    other.start()
    other.join()
    assert len(made) == 1 and not made[0].closed
    mariadb._column(None, 'SELECT 2')
    assert len(made) == 2 and made[0].closed and not made[1].closed
    mariadb._close_every_connection()
    assert made[1].closed


def test_each_prepared_xa_transaction_is_rolled_back_by_its_bytes(monkeypatch):
    """XA RECOVER gives a branch's ids as one run of bytes (text when it decodes): they are
    split by their lengths and named in hex, whatever they hold."""
    monkeypatch.setattr(mariadb, '_rows', lambda ctl, query, args=None: [
        (1, 5, 0, 'later'), (7, 3, 2, b"g\xc3\xa9\xff'")] if query == 'XA RECOVER' else [])
    ran = []
    monkeypatch.setattr(mariadb, '_execute', lambda ctl, statement, args=None: ran.append(statement))
    assert mariadb.roll_back_prepared(None) == 2
    assert ran == ["XA ROLLBACK X'6c61746572',X'',1", "XA ROLLBACK X'67c3a9',X'ff27',7"]
