"""A server for command logic, in a sandbox: the programs the commands start answer
through a fake of wo.multitenancy.runner.run, and the few things that are not
programs (PHP-FPM's FastCGI socket, WordOps' MariaDB helpers and template engine,
wordpress.org over HTTP) have one narrow fake each.

The fake answers as the real server would, from the files the commands leave: a
site serves the WordPress version of the core its document root resolves to, a
database is at the db_version of the core that last upgraded it.
"""
import argparse
import hashlib
import io
import json
import os
import re
import subprocess
import zipfile
from dataclasses import dataclass, field

from wo.multitenancy import layout, releases
from wo.multitenancy.errors import CommandFailed

WP_RUNNER = 'wp-runner.php'
# WordOps' `sites` table, as WordOps 3.23 creates it.
WORDOPS_SITES = """CREATE TABLE sites (id INTEGER PRIMARY KEY, sitename VARCHAR UNIQUE,
site_type VARCHAR, cache_type VARCHAR, site_path VARCHAR, created_on DATETIME,
is_enabled BOOLEAN NOT NULL, is_ssl BOOLEAN, storage_fs VARCHAR, storage_db VARCHAR,
db_name VARCHAR, db_user VARCHAR, db_password VARCHAR, db_host VARCHAR, is_hhvm BOOLEAN,
php_version VARCHAR)"""
READ_CONFIG = 'read-config.php'


@dataclass
class Call:
    argv: list
    user: str = None
    job: dict = None  # a wp-runner task's JSON job


@dataclass
class Site:
    """What the fake knows of a site's WordPress (its database, in effect)."""
    db_version: int = 0
    installed_as: dict = None
    plugins: list = field(default_factory=list)
    themes: list = field(default_factory=lambda: ['twentytwentyfour'])
    current_user: str = None  # who MariaDB takes its connection for
    paths: dict = field(default_factory=lambda: {'template_root': '/themes', 'upload_path': ''})
    due_events: int = 0


class FakeRunner:
    """Stands in for runner.run. `fail[(action, domain)] = message` makes that task
    fail as PHP would; `broken[domain] = problem` makes the site answer 500 with it."""

    def __init__(self, settings):
        self.settings = settings
        self.calls = []
        self.sites = {}
        self.fail = {}
        self.broken = {}
        self.on_task = {}  # (action, domain) -> callable(job), run before the answer

    def __call__(self, argv, *, user=None, input=None, stdin_file=None, env=None, timeout=600,
                 check=True, umask=-1):
        argv = [str(a) for a in argv]
        job = json.loads(input) if argv[1:2] and argv[1].endswith(WP_RUNNER) else None
        self.calls.append(Call(argv, user, job))
        returncode, stdout, stderr = self._answer(argv, job)
        if check and returncode != 0:
            raise CommandFailed(argv, returncode, stdout, stderr)
        return subprocess.CompletedProcess(argv, returncode, stdout, stderr)

    # -- what was asked ------------------------------------------------------------
    def tasks(self, action=None):
        return [c.job for c in self.calls if c.job and action in (None, c.job['action'])]

    def programs(self):
        return [os.path.basename(c.argv[0]) for c in self.calls]

    def site(self, domain):
        return self.sites.setdefault(domain, Site())

    # -- answers -------------------------------------------------------------------
    def _answer(self, argv, job):
        program = os.path.basename(argv[0])
        if job is not None:
            return self._task(job)
        if program.startswith('php') and argv[1].endswith(READ_CONFIG):
            return 0, '\n' + json.dumps(read_config(argv[2])) + '\n', ''
        if program == 'curl':
            return 0, self._http(argv), ''
        if program == 'tar':
            _touch(argv[argv.index('--file') + 1])
            return 0, '', ''
        if program == 'mysqldump':
            _touch([a for a in argv if a.startswith('--result-file=')][0].split('=', 1)[1])
            return 0, '', ''
        if program in ('nginx', 'mariadb', 'kill'):
            return 0, '', ''
        raise AssertionError('the fake server does not run {0}'.format(argv))

    def _task(self, job):
        action, domain = job['action'], job['domain']
        if (action, domain) in self.on_task:
            self.on_task[action, domain](job)
        if (action, domain) in self.fail:
            return 1, '', 'wp-runner: ' + self.fail[action, domain]
        core = job.get('core') or os.path.join(job['htdocs'], 'wp')
        core_version = releases.read_version(os.path.realpath(core))
        site = self.site(domain)
        result = {}
        if action == 'install':
            site.installed_as = {k: job[k] for k in ('admin_user', 'admin_email', 'url')}
            site.db_version = core_version[1]
            result = {'user_id': 1}
        elif action == 'upgrade':
            result = {'from': site.db_version, 'to': core_version[1], 'core': core_version[1]}
            site.db_version = core_version[1]
        elif action == 'baseline':
            with open(self.settings.baseline_file) as f:
                wanted = json.load(f)
            result = {'version': wanted['version'], 'missing': [], 'activated': wanted['plugins']}
        elif action == 'verify':
            result = {'current_user': site.current_user, 'round_trip': True,
                      'round_trip_error': '', 'missing_tables': [],
                      'db_version': site.db_version, 'core_db_version': core_version[1],
                      'administrators': int(bool(site.installed_as)),
                      'paths': site.paths}
        elif action == 'cron':
            result = {'due_before': site.due_events, 'due_after': 0}
        elif action == 'inspect':
            result = {'wp_version': core_version[0], 'db_version': site.db_version or core_version[1],
                      'multisite': False, 'plugins': site.plugins, 'themes': site.themes,
                      'dropins': [], 'upload_path': site.paths.get('upload_path', '')}
        return 0, '\n' + json.dumps(result) + '\n', ''

    def _http(self, argv):
        url = argv[-1]
        domain, path = re.match(r'^https?://([^/]+)(/.*)$', url).groups()
        docroot = layout.htdocs(self.settings, domain)
        if not os.path.isdir(docroot):
            return 'HTTP/1.1 404 Not Found\n\n'
        if domain in self.broken:
            return 'HTTP/1.1 500 Internal Server Error\n\n' + self.broken[domain]
        if path.startswith('/wp-admin/'):
            return 'HTTP/1.1 302 Found\nLocation: http://{0}/wp-login.php\n\n'.format(domain)
        core = os.path.realpath(os.path.join(docroot, 'wp')) \
            if os.path.islink(os.path.join(docroot, 'wp')) else docroot
        version = releases.read_version(core)[0]
        return ('HTTP/1.1 200 OK\nContent-Type: text/html\n\n<html><head><meta name="generator" '
                'content="WordPress {0}" /></head><body>{1}</body></html>'.format(version, domain))


def read_config(path):
    """What PHP would find defined in a wp-config.php of simple `define()` lines."""
    with open(path) as f:
        text = f.read()
    constants = {name: _php_value(literal) for name, literal in
                 re.findall(r"^define\( '(\w+)', (.+) \);$", text, re.M)}
    prefix = re.search(r'^\$table_prefix = (.+);$', text, re.M)
    return {'constants': constants, 'unsupported': [],
            'table_prefix': _php_value(prefix.group(1)) if prefix else 'wp_'}


def _php_value(literal):
    """The value of a PHP literal as wp_config.php_literal writes them (text, numbers,
    true, false, null)."""
    if literal.startswith("'"):
        return re.sub(r"\\(['\\])", r'\1', literal[1:-1])
    if literal in ('true', 'false', 'null'):
        return {'true': True, 'false': False, 'null': None}[literal]
    return float(literal) if '.' in literal else int(literal)


def _touch(path):
    with open(path, 'w'):
        pass


class FakeWeb:
    """wordpress.org for requests.get: the version API, release archives with their
    .sha1, plugin and theme .zips (their latest-stable and each version) with the
    checksums it publishes, and the plugin and theme information API.
    `releases[version] = tarball path`; `items[kind, slug] = version` the one it offers
    (else 1.0 to download, and the API does not know it); a slug in `missing` is not found."""

    def __init__(self, latest='6.5.5'):
        self.latest = latest
        self.releases = {}
        self.items = {}
        self.missing = set()
        self.urls = []

    def get(self, url, timeout=None, stream=False):
        self.urls.append(url)
        if url.startswith('https://api.wordpress.org/core/version-check/'):
            return _Response(200, json.dumps({'offers': [{'current': self.latest}]}).encode())
        found = re.match(r'^https://wordpress\.org/wordpress-([\d.]+)\.tar\.gz(\.sha1)?$', url)
        if found and found.group(1) in self.releases:
            with open(self.releases[found.group(1)], 'rb') as f:
                data = f.read()
            return _Response(200, hashlib.sha1(data).hexdigest().encode() if found.group(2) else data)
        found = re.match(r'^https://api\.wordpress\.org/(plugin|theme)s/info/1\.2/\?action=\w+'
                         r'&request\[slug\]=([\w.-]+)$', url)
        if found:
            version = self.items.get((found.group(1) + 's', found.group(2)))
            return _Response(200, json.dumps({'version': version}).encode()) if version else \
                _Response(404, json.dumps({'error': found.group(1).title() + ' not found.'}).encode())
        found = re.match(r'^https://downloads\.wordpress\.org/(plugin|theme)/([\w-]+(?:\.[a-z][\w-]*)*)'
                         r'\.(latest-stable|\d[\w.+-]*)\.zip(\.sha1)?$', url)
        if found and not found.group(4) and found.group(2) not in self.missing:
            return _Response(200, _zip_of(found.group(2), found.group(1), self._version(found)))
        found = re.match(r'^https://downloads\.wordpress\.org/plugin-checksums/([\w.-]+)/(.+)\.json$', url)
        if found:
            name, text = _item_file(found.group(1), 'plugin', found.group(2))
            return _Response(200, json.dumps({'files': {name: {'sha256': hashlib.sha256(
                text.encode()).hexdigest()}}}).encode())
        return _Response(404, b'not found')

    def _version(self, found):
        if found.group(3) != 'latest-stable':
            return found.group(3)
        return self.items.get((found.group(1) + 's', found.group(2)), '1.0')


class _Response:
    def __init__(self, status_code, content):
        self.status_code, self.content = status_code, content
        self.text = content.decode('utf-8', 'replace')

    def json(self):
        return json.loads(self.text)

    def iter_content(self, chunk_size=1):
        yield self.content

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _zip_of(slug, kind, version):
    data = io.BytesIO()
    with zipfile.ZipFile(data, 'w') as z:
        name, text = _item_file(slug, kind, version)
        z.writestr('{0}/{1}'.format(slug, name), text)
    return data.getvalue()


def _item_file(slug, kind, version):
    """The one file of a plugin's (or theme's) .zip: its name and text."""
    if kind == 'theme':
        return 'style.css', '/*\nTheme Name: {0}\nVersion: {1}\n*/\n'.format(slug, version)
    return slug + '.php', ('<?php\n/*\nPlugin Name: {0}\nPlugin URI: '
                           'https://wordpress.org/plugins/{0}/\nAuthor: The {0} team\n'
                           'Version: {1}\n*/\n'.format(slug, version))


class FakeApp:
    """The Cement app, as much of it as the controller and WordOps' template use.
    close() does not exit (as WOTestApp's), it records the code."""

    def __init__(self, **pargs):
        self.pargs = argparse.Namespace(**pargs)
        self.closed = []
        self.log = _Log()

    def close(self, code=None):
        self.closed.append(code)

    def render(self, data, template, out=None):
        assert template == 'virtualconf.mustache'
        return 'server {{\n    server_name {0} www.{0};\n    root {1}/htdocs;\n}}\n'.format(
            data['site_name'], data['webroot'])


class _Log:
    def __init__(self):
        self.lines = []

    def info(self, text):
        self.lines.append(text)

    error = info
