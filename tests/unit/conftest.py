"""Unit tests: pure logic, and effects confined to a temporary sandbox root."""
import dataclasses
import os
import sqlite3
import subprocess

import pytest

from fake_server import WORDOPS_SITES, FakeApp, FakeRunner, FakeWeb
from sample_release import make_release_tarball
from wo.cli.plugins import multitenancy_functions as mt
from wo.cli.plugins.multitenancy_db import MTDatabase
from wo.multitenancy import item_switching, mariadb, nginx, phpfpm, runner, sources
from wo.multitenancy import settings as mt_settings
from wo.multitenancy.context import Context, Journal
from wo.multitenancy.wordops import Caller


@pytest.fixture
def sandbox(tmp_path):
    """Settings whose every path lies under tmp_path; sites shared (a sovereign one needs
    system users: the end-to-end tests make them)."""
    return mt_settings.from_mapping({}, isolation='shared', shared_root=str(tmp_path / 'shared'),
                                    sites_root=str(tmp_path / 'www'),
                                    nginx_root=str(tmp_path / 'nginx'),
                                    page_cache=str(tmp_path / 'nginx-cache'),
                                    sovereign_page_cache=str(tmp_path / 'sovereign-cache'),
                                    control_dir=str(tmp_path / 'control'),
                                    php_root=str(tmp_path / 'php'),
                                    socket_dir=str(tmp_path / 'sockets'),
                                    wo_database=str(tmp_path / 'wo' / 'dbase.db'))


@pytest.fixture
def server(sandbox, tmp_path, monkeypatch):
    """A sandbox server to run commands on (see fake_server): nothing outside tmp_path
    is read or changed, and no program is started."""
    return Server(sandbox, tmp_path, monkeypatch)


class Server:
    """The context a command gets (`ctx`), the fakes it talks to (`runner`, `web`,
    `fastcgi`, `databases`), and the progress lines it reported (`lines`)."""

    def __init__(self, settings, tmp_path, monkeypatch):
        self.tmp_path, self.lines, self.fastcgi, self.databases = tmp_path, [], [], {}
        self.accounts = {}  # MariaDB's: (user, host): SHOW GRANTS
        self.public_grants = []  # SHOW GRANTS FOR PUBLIC
        os.makedirs(os.path.dirname(settings.wo_database))
        with sqlite3.connect(settings.wo_database) as c:
            c.execute(WORDOPS_SITES)
        db = MTDatabase(settings.wo_database)
        db.initialize_tables()
        self.app = FakeApp()
        self.ctx = Context(ctl=Caller(self.app), settings=settings, db=db,
                           journal=Journal(self.lines.append))
        self.runner, self.web = FakeRunner(settings), FakeWeb()
        monkeypatch.setattr(runner, 'run', self.runner)
        monkeypatch.setattr(sources.requests, 'get', self.web.get)
        monkeypatch.setattr(phpfpm, 'fastcgi', self._fastcgi)
        monkeypatch.setattr(phpfpm, 'installed_versions', lambda: ['8.2', '8.3'])
        monkeypatch.setattr(nginx, '_workers', lambda title=None: set())  # no nginx of ours
        monkeypatch.setattr(nginx, '_master', lambda: '1')
        monkeypatch.setattr(mariadb, 'ping', lambda ctl, settings: None)
        monkeypatch.setattr(item_switching, 'REVALIDATE_SECONDS', 0)  # no OPcache here
        monkeypatch.setattr(mariadb, 'create_site_database', self._create_database)
        monkeypatch.setattr(mariadb, 'drop_site_database', self._drop_database)
        monkeypatch.setattr(mariadb, 'drop_account',
                            lambda ctl, user, host: self.accounts.pop((user, host), None))
        monkeypatch.setattr(mariadb, 'account_hosts',
                            lambda ctl, user: sorted(h for u, h in self.accounts if u == user))
        monkeypatch.setattr(mariadb, 'grants', lambda ctl, user, host: self.accounts[user, host])
        monkeypatch.setattr(mariadb, 'public_grants', lambda ctl: self.public_grants)
        monkeypatch.setattr(mariadb, 'other_grantees', lambda ctl, db_name, user: [])
        monkeypatch.setattr(mariadb, 'wordops_grant_host', lambda ctl: 'localhost')
        monkeypatch.setattr(mt, 'make_context', lambda app, journal: self._context(app, journal))
        for php in ('php82', 'php83'):
            for name in ('wpfc-' + php, 'wpcommon-' + php, php, 'redis-' + php):
                self._write(os.path.join(settings.nginx_root, 'common', name + '.conf'))
            self._write(os.path.join(settings.nginx_root, 'common', 'locations-wo.conf'))
        for name in ('sites-available', 'sites-enabled'):
            os.makedirs(os.path.join(settings.nginx_root, name))
        os.makedirs(settings.control_dir, mode=0o700)
        for php in ('8.2', '8.3'):  # our pools' sockets, as install-multitenancy.sh makes them
            for socket_file in phpfpm.control_sockets(settings, php):
                self._write(socket_file)

    @property
    def settings(self):
        return self.ctx.settings

    def configure(self, **options):
        """Change settings, as /etc/wo/plugins.d/multitenancy.conf would."""
        self.ctx.settings = self.runner.settings = dataclasses.replace(self.ctx.settings, **options)

    def tarball(self, version, db_version=57155, theme='twentytwentyfour'):
        """A release archive of `version` whose default theme is `theme`, also served by
        the fake wordpress.org."""
        self.web.releases[version] = make_release_tarball(self.tmp_path, version, db_version,
                                                          theme)
        return self.web.releases[version]

    def init(self, version='6.4.5'):
        return mt.init_shared(self.ctx, self.tarball(version))

    def create(self, domain, flags=(), **options):
        return mt.create_site(self.ctx, [domain], flags, **options)

    def run(self, command):
        """A command as the controller runs it (mt.run): interruptions become errors."""
        return mt.run(command, self.app, self.lines.append)

    def controller(self, kind, **pargs):
        """A controller of `kind` whose app has parsed `pargs`."""
        self.app = FakeApp(**pargs)
        command = kind()
        command.app = self.app
        return command

    def _context(self, app, journal):
        self.ctx = dataclasses.replace(self.ctx, journal=journal)
        return self.ctx

    def _fastcgi(self, socket_file, script, purpose, params=None):
        self.fastcgi.append((socket_file, dict(params or {})))
        return 'Content-type: application/json\r\n\r\n{"scripts": 1}'

    def _create_database(self, ctl, domain, changes):
        name, user = domain.replace('.', '_'), domain.replace('.', '_')[:12]
        changes.on_failure('drop ' + name, lambda: self._drop_database(ctl, name, user, 'localhost'))
        self.databases[name] = domain
        self.accounts[user, 'localhost'] = [
            'GRANT USAGE ON *.* TO `{0}`@`localhost`'.format(user),
            'GRANT {0} ON `{1}`.* TO `{2}`@`localhost`'.format(
                ', '.join(sorted(mariadb.SITE_PRIVILEGES)), name, user)]
        self.runner.site(domain).current_user = user + '@localhost'
        return {'db_name': name, 'db_user': user, 'db_password': 'secret',
                'db_host': 'localhost', 'db_grant_host': 'localhost'}

    def _drop_database(self, ctl, name, user, grant_host):
        self.databases.pop(name, None)
        self.accounts.pop((user, grant_host), None)

    @staticmethod
    def _write(path, text=''):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            f.write(text)


@pytest.fixture
def bind_mount():
    """mount(source, target): `source` bind-mounted on the directory `target` (as an
    operator mounts a volume into a site's tree), unmounted after the test."""
    mounted = []

    def mount(source, target):
        done = subprocess.run(['mount', '--bind', str(source), str(target)], capture_output=True,
                              text=True)
        if done.returncode:
            pytest.skip('cannot bind-mount here: ' + done.stderr.strip())
        mounted.append(str(target))
    yield mount
    for target in reversed(mounted):
        subprocess.run(['umount', '--lazy', target], check=True)
