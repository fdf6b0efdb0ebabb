"""State of wo multitenancy in WordOps' own SQLite database (/var/lib/wo/dbase.db).

Our tables: multitenancy_config, multitenancy_releases, multitenancy_sites (the
registry), multitenancy_audit (the audit trail: audit.py). A created site is registered in ours first; once it is made, in WordOps'
`sites` table too, so that `wo site info/list` know it. Release paths are never stored, only release names.
"""
import json
import os
import sqlite3
from contextlib import closing, contextmanager

SCHEMA = """
CREATE TABLE IF NOT EXISTS multitenancy_config (
    id INTEGER PRIMARY KEY,
    key VARCHAR(255) UNIQUE NOT NULL,
    value TEXT,
    created_at DATETIME DEFAULT CURRENT_TIMESTAMP,
    updated_at DATETIME DEFAULT CURRENT_TIMESTAMP
);
CREATE TABLE IF NOT EXISTS multitenancy_releases (
    id INTEGER PRIMARY KEY,
    release_name VARCHAR(255) UNIQUE NOT NULL,
    wp_version VARCHAR(50),
    db_version INTEGER,
    is_current BOOLEAN DEFAULT 0,
    created_at DATETIME DEFAULT CURRENT_TIMESTAMP
);
CREATE TABLE IF NOT EXISTS multitenancy_sites (
    id INTEGER PRIMARY KEY,
    domain VARCHAR(255) UNIQUE NOT NULL,
    site_type VARCHAR(50),
    cache_type VARCHAR(50),
    site_path VARCHAR(255),
    php_version VARCHAR(10),
    shared_release VARCHAR(255),
    baseline_version INTEGER DEFAULT 0,
    is_enabled BOOLEAN DEFAULT 1,
    is_ssl BOOLEAN DEFAULT 0,
    db_name VARCHAR(255),
    db_user VARCHAR(255),
    db_grant_host VARCHAR(255),
    state VARCHAR(20) DEFAULT 'live',
    state_at DATETIME,
    last_verification TEXT,
    verified_at DATETIME,
    isolation VARCHAR(20) DEFAULT 'shared',
    system_user VARCHAR(64),
    login_nonce VARCHAR(64),
    last_cron TEXT,
    created_at DATETIME DEFAULT CURRENT_TIMESTAMP,
    updated_at DATETIME DEFAULT CURRENT_TIMESTAMP
);
CREATE TABLE IF NOT EXISTS multitenancy_audit (
    id INTEGER PRIMARY KEY,
    started_at TEXT NOT NULL,
    ended_at TEXT,
    command VARCHAR(40) NOT NULL,
    arguments TEXT,
    actor VARCHAR(64),
    uid INTEGER,
    pid INTEGER,
    pid_start INTEGER,
    sites TEXT,
    result VARCHAR(20) NOT NULL,
    exit_code INTEGER,
    seconds REAL,
    detail TEXT,
    state_before TEXT,
    state_after TEXT
);
CREATE INDEX IF NOT EXISTS multitenancy_audit_started ON multitenancy_audit (started_at);
"""
# Columns added since the first release: (table, column, type), added where missing.
ADDED_COLUMNS = (('multitenancy_sites', 'db_name', 'VARCHAR(255)'),
                 ('multitenancy_sites', 'db_user', 'VARCHAR(255)'),
                 ('multitenancy_sites', 'db_grant_host', 'VARCHAR(255)'),
                 ('multitenancy_sites', 'state', "VARCHAR(20) DEFAULT 'live'"),
                 ('multitenancy_sites', 'state_at', 'DATETIME'),
                 ('multitenancy_sites', 'last_verification', 'TEXT'),
                 ('multitenancy_sites', 'verified_at', 'DATETIME'),
                 ('multitenancy_sites', 'isolation', "VARCHAR(20) DEFAULT 'shared'"),
                 ('multitenancy_sites', 'system_user', 'VARCHAR(64)'),
                 ('multitenancy_sites', 'login_nonce', 'VARCHAR(64)'),
                 ('multitenancy_sites', 'last_cron', 'TEXT'),
                 ('multitenancy_sites', 'move', 'TEXT'))
SITE_COLUMNS = ('domain', 'site_type', 'cache_type', 'site_path', 'php_version',
                'shared_release', 'baseline_version', 'is_enabled', 'is_ssl', 'db_name',
                'db_user', 'db_grant_host', 'state', 'isolation', 'system_user', 'login_nonce')
# A site's life in our table: registered first (provisioning), its database checked
# (verifying), serving (live), being deleted (deleting). A create that fails removes
# its row, unless --keep-failed kept a site that failed verification (failed); one
# killed leaves provisioning or verifying. Delete removes what is left of any.
STATES = ('provisioning', 'verifying', 'live', 'failed', 'deleting')


class MTDatabase:
    """Our tables (and the `sites` rows of our sites) in the SQLite file at `path`."""

    def __init__(self, path):
        self.path = path

    @contextmanager
    def _transaction(self):
        with closing(sqlite3.connect(self.path, timeout=30)) as connection:
            connection.row_factory = sqlite3.Row
            with connection:
                yield connection

    def initialize_tables(self):
        """Make our tables when missing. The file holds every site's database password
        (WordOps' sites.db_password): it becomes root's alone (WordOps makes it 0644)."""
        with self._transaction() as db:
            db.executescript(SCHEMA)
            for table, column, kind in ADDED_COLUMNS:
                if column not in [r['name'] for r in db.execute('PRAGMA table_info(' + table + ')')]:
                    db.execute('ALTER TABLE {0} ADD COLUMN {1} {2}'.format(table, column, kind))
        os.chmod(self.path, 0o600)

    # -- configuration -------------------------------------------------------------------
    def set_config(self, key, value):
        with self._transaction() as db:
            db.execute('INSERT INTO multitenancy_config (key, value) VALUES (?, ?) '
                       'ON CONFLICT(key) DO UPDATE SET value = excluded.value, '
                       'updated_at = CURRENT_TIMESTAMP', (key, value))

    def get_config(self, key):
        with self._transaction() as db:
            row = db.execute('SELECT value FROM multitenancy_config WHERE key = ?',
                             (key,)).fetchone()
        return row['value'] if row else None

    # -- releases --------------------------------------------------------------------
    def record_release(self, name, wp_version, db_version):
        with self._transaction() as db:
            db.execute('INSERT OR IGNORE INTO multitenancy_releases '
                       '(release_name, wp_version, db_version) VALUES (?, ?, ?)',
                       (name, wp_version, db_version))

    def mark_current_release(self, name):
        with self._transaction() as db:
            db.execute('UPDATE multitenancy_releases SET is_current = (release_name = ?)', (name,))

    def set_site_release(self, domain, name):
        """Record that `domain` runs release `name`, its database brought to it."""
        with self._transaction() as db:
            db.execute('UPDATE multitenancy_sites SET shared_release = ?, '
                       'updated_at = CURRENT_TIMESTAMP WHERE domain = ?', (name, domain))

    def forget_releases(self, names):
        with self._transaction() as db:
            db.executemany('DELETE FROM multitenancy_releases WHERE release_name = ?',
                           [(n,) for n in names])

    # -- sites -----------------------------------------------------------------------
    def register_site(self, site):
        """Register a site in our table alone: a new one (provisioning) before anything
        of it is made, or one WordOps already knows (a converted one, live)."""
        with self._transaction() as db:
            db.execute('INSERT INTO multitenancy_sites ({0}, state_at) VALUES ({1}, '
                       'CURRENT_TIMESTAMP)'.format(', '.join(SITE_COLUMNS),
                                                   ', '.join('?' * len(SITE_COLUMNS))),
                       [site[c] for c in SITE_COLUMNS])

    def record_database(self, domain, database):
        """Record the database a site's create made (db_name, db_user, db_grant_host):
        from here on a delete finds it, even of a create that was killed."""
        with self._transaction() as db:
            _record_database(db, domain, database)

    def set_database_user(self, domain, database, password):
        """A site's database user is now database['db_user'] (at db_grant_host) with
        `password`: in ours, and in WordOps' `sites` row (which keeps the password)."""
        with self._transaction() as db:
            _record_database(db, domain, database)
            db.execute('UPDATE sites SET db_user = ?, db_password = ? WHERE sitename = ?',
                       (database['db_user'], password, domain))

    def complete_site(self, domain, wordops_row, baseline_version, is_ssl):
        """Register a created site in WordOps' `sites` table, and its baseline version
        and SSL in ours, atomically."""
        with self._transaction() as db:
            columns = sorted(wordops_row)
            db.execute('INSERT INTO sites ({0}, created_on) VALUES ({1}, CURRENT_TIMESTAMP)'
                       .format(', '.join(columns), ', '.join('?' * len(columns))),
                       [wordops_row[c] for c in columns])
            db.execute('UPDATE multitenancy_sites SET baseline_version = ?, is_ssl = ?, '
                       'updated_at = CURRENT_TIMESTAMP WHERE domain = ?',
                       (baseline_version, is_ssl, domain))

    def set_state(self, domain, state):
        assert state in STATES, state
        with self._transaction() as db:
            db.execute('UPDATE multitenancy_sites SET state = ?, state_at = CURRENT_TIMESTAMP '
                       'WHERE domain = ?', (state, domain))

    def set_move(self, domain, move):
        """The isolate under way of `domain`: {'to': its coming model, 'accounts': every
        database user it had during the move}, or None. A move that stops without its
        undo (SIGKILL) leaves it, and the next isolate finishes the move."""
        with self._transaction() as db:
            db.execute('UPDATE multitenancy_sites SET move = ? WHERE domain = ?',
                       (json.dumps(move, sort_keys=True) if move else None, domain))

    def note_move_account(self, domain, db_user):
        """A database account made for `domain` during its move (dropped when it ends)."""
        with self._transaction() as db:
            move = json.loads(db.execute('SELECT move FROM multitenancy_sites WHERE domain = ?',
                                         (domain,)).fetchone()['move'])
            move['accounts'].append(db_user)
            db.execute('UPDATE multitenancy_sites SET move = ? WHERE domain = ?',
                       (json.dumps(move, sort_keys=True), domain))

    def end_move(self, domain, isolation, system_user):
        """The site's move finished: it is `isolation`'s, its PHP running as `system_user`."""
        with self._transaction() as db:
            db.execute('UPDATE multitenancy_sites SET isolation = ?, system_user = ?, '
                       'move = NULL, updated_at = CURRENT_TIMESTAMP WHERE domain = ?',
                       (isolation, system_user, domain))

    def renew_login_nonce(self, domain, nonce):
        """What the site's login key is derived from, besides its domain (login_links)."""
        with self._transaction() as db:
            db.execute('UPDATE multitenancy_sites SET login_nonce = ? WHERE domain = ?',
                       (nonce, domain))

    def release_site(self, domain):
        """Forget a site that leaves the shared core; WordOps keeps its `sites` row."""
        with self._transaction() as db:
            db.execute('DELETE FROM multitenancy_sites WHERE domain = ?', (domain,))

    def remove_site(self, domain):
        with self._transaction() as db:
            db.execute('DELETE FROM multitenancy_sites WHERE domain = ?', (domain,))
            db.execute('DELETE FROM sites WHERE sitename = ?', (domain,))

    def forget_everything(self):
        """Empty our tables (after `remove`) but the audit trail; WordOps' own rows are not
        touched."""
        with self._transaction() as db:
            for table in ('multitenancy_sites', 'multitenancy_releases', 'multitenancy_config'):
                db.execute('DELETE FROM ' + table)

    def set_site_baseline(self, domain, version):
        with self._transaction() as db:
            db.execute('UPDATE multitenancy_sites SET baseline_version = ?, '
                       'updated_at = CURRENT_TIMESTAMP WHERE domain = ?', (version, domain))

    def record_verification(self, domain, report):
        """Keep the last verification of `domain` (verification.verify's report)."""
        with self._transaction() as db:
            db.execute('UPDATE multitenancy_sites SET last_verification = ?, '
                       'verified_at = CURRENT_TIMESTAMP WHERE domain = ?',
                       (json.dumps(report, sort_keys=True), domain))

    def record_cron(self, domain, report):
        """Keep the last system-cron run of `domain` (cron.run_site's report)."""
        with self._transaction() as db:
            db.execute('UPDATE multitenancy_sites SET last_cron = ? WHERE domain = ?',
                       (json.dumps(report, sort_keys=True), domain))

    def get_shared_sites(self):
        with self._transaction() as db:
            return [_site(r) for r in db.execute(
                'SELECT * FROM multitenancy_sites ORDER BY domain')]

    def get_site(self, domain):
        with self._transaction() as db:
            row = db.execute('SELECT * FROM multitenancy_sites WHERE domain = ?',
                             (domain,)).fetchone()
        return _site(row) if row else None

    # -- the audit trail (audit.py) -------------------------------------------------------
    def add_event(self, event):
        """Append an event ({column: value}); its id."""
        with self._transaction() as db:
            columns = sorted(event)
            return db.execute('INSERT INTO multitenancy_audit ({0}) VALUES ({1})'.format(
                ', '.join(columns), ', '.join('?' * len(columns))),
                [event[c] for c in columns]).lastrowid

    def close_event(self, event_id, values):
        """Set the columns `values` of a started event (it is not started any more)."""
        with self._transaction() as db:
            columns = sorted(values)
            db.execute('UPDATE multitenancy_audit SET {0} WHERE id = ? AND result = ?'.format(
                ', '.join(c + ' = ?' for c in columns)),
                [values[c] for c in columns] + [event_id, 'started'])

    def events(self, since=None, until=None, site=None, results=None):
        """Events oldest first: started at `since` or later and before `until`
        ('YYYY-MM-DD HH:MM:SS' UTC), touching `site`, with one of `results`."""
        where, args = [], []
        for clause, value in (('started_at >= ?', since), ('started_at < ?', until),
                              ('instr(sites, ?) > 0', json.dumps(site) if site else None)):
            if value is not None:
                where.append(clause)
                args.append(value)
        if results:
            where.append('result IN ({0})'.format(', '.join('?' * len(results))))
            args += list(results)
        with self._transaction() as db:
            return [dict(r) for r in db.execute(
                'SELECT * FROM multitenancy_audit {0} ORDER BY started_at, id'.format(
                    'WHERE ' + ' AND '.join(where) if where else ''), args)]

    def prune_events(self, before):
        """Forget the events started before `before`; how many."""
        with self._transaction() as db:
            return db.execute('DELETE FROM multitenancy_audit WHERE started_at < ?',
                              (before,)).rowcount

    def wordops_sites(self):
        """Every row of WordOps' `sites` table."""
        with self._transaction() as db:
            return [dict(r) for r in db.execute('SELECT * FROM sites ORDER BY sitename')]

    def wordops_site(self, domain):
        """WordOps' `sites` row of `domain`, or None."""
        with self._transaction() as db:
            row = db.execute('SELECT * FROM sites WHERE sitename = ?', (domain,)).fetchone()
        return dict(row) if row else None


def _record_database(db, domain, database):
    db.execute('UPDATE multitenancy_sites SET db_name = ?, db_user = ?, db_grant_host = ?, '
               'updated_at = CURRENT_TIMESTAMP WHERE domain = ?',
               (database['db_name'], database['db_user'], database['db_grant_host'], domain))


def _site(row):
    """Our row of a site, its move (set_move) as a dict."""
    site = dict(row)
    site['move'] = json.loads(site['move']) if site['move'] else None
    return site
