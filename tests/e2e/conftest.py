"""End-to-end tests: the real `wo multitenancy` CLI against the real stack on this
machine (WordOps, nginx, PHP-FPM, MariaDB), with real WordPress releases and real
HTTP requests. Nothing here is mocked, and nothing is skipped: if the stack is not
up, every test fails.
"""
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time

import pytest
import requests

HERE = os.path.dirname(__file__)
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.dirname(HERE))
import wordpress_releases  # noqa: E402

CONF = '/etc/wo/plugins.d/multitenancy.conf'
WO_DB = '/var/lib/wo/dbase.db'
SHARED = '/var/www/shared'
SITES = '/var/www'
PROBE = '127.0.0.2'  # WordOps' stub_status holds 127.0.0.1:80


def wo(*args, check=True):
    """Run `wo multitenancy ARGS`; returns the CompletedProcess (text)."""
    done = subprocess.run(['wo', 'multitenancy'] + list(args), capture_output=True, text=True,
                          timeout=900, stdin=subprocess.DEVNULL)
    if check and done.returncode != 0:
        raise AssertionError('wo multitenancy {0} exited {1}\nstdout: {2}\nstderr: {3}'.format(
            ' '.join(args), done.returncode, done.stdout, done.stderr))
    return done


def get(domain, path='/', session=None, **kwargs):
    """GET http://<domain><path> through nginx, without following redirects."""
    kwargs.setdefault('allow_redirects', False)
    return (session or requests).get('http://{0}{1}'.format(PROBE, path),
                                     headers={'Host': domain}, timeout=30, **kwargs)


def pace():
    """Wait before a request to wp-login.php or wp-cron.php: WordOps' wpcommon include
    rate-limits both per client address (zones "one", 1 r/s, and "two"), answering 403."""
    time.sleep(1.5)


def installed_php():
    return sorted(v for v in ('7.4', '8.0', '8.1', '8.2', '8.3', '8.4', '8.5')
                  if os.path.exists('/usr/sbin/php-fpm' + v))[-1]


def mysql(query):
    done = subprocess.run(['mariadb', '-N', '-B', '-e', query], capture_output=True,
                          text=True, check=True)
    return sorted(done.stdout.split())


def rows(table, column):
    with sqlite3.connect(WO_DB) as db:
        try:
            return sorted(r[0] for r in db.execute('SELECT {0} FROM {1}'.format(column, table)))
        except sqlite3.OperationalError:
            return []


def server_state():
    """Everything a command could leave behind: directories, vhosts, databases,
    database users and table rows."""
    return {
        'site dirs': sorted(os.listdir(SITES)),
        'vhosts': sorted(os.listdir('/etc/nginx/sites-available')),
        'enabled': sorted(os.listdir('/etc/nginx/sites-enabled')),
        'databases': mysql('SHOW DATABASES'),
        'db users': mysql('SELECT CONCAT(User, "@", Host) FROM mysql.user'),
        'wordops sites': rows('sites', 'sitename'),
        'our sites': rows('multitenancy_sites', 'domain'),
    }


def purge_site(domain):
    """Remove every trace of a test site (there is no delete command yet)."""
    with sqlite3.connect(WO_DB) as db:
        try:
            row = db.execute('SELECT db_name, db_user FROM sites WHERE sitename = ?',
                             (domain,)).fetchone()
        except sqlite3.OperationalError:
            row = None
        if row:
            subprocess.run(['mariadb', '-e', 'DROP DATABASE IF EXISTS `{0}`; DROP USER IF '
                            'EXISTS `{1}`@`localhost`'.format(*row)], check=True)
        for table, column in (('sites', 'sitename'), ('multitenancy_sites', 'domain')):
            try:
                db.execute('DELETE FROM {0} WHERE {1} = ?'.format(table, column), (domain,))
            except sqlite3.OperationalError:
                pass
    for path in ('/etc/nginx/sites-enabled/' + domain, '/etc/nginx/sites-available/' + domain):
        if os.path.lexists(path):
            os.unlink(path)
    shutil.rmtree(os.path.join(SITES, domain), ignore_errors=True)
    subprocess.run(['nginx', '-s', 'reload'], check=True)


def write_conf(**overrides):
    """The plugin configuration the tests run with (the shipped file, adapted)."""
    values = dict(php_version=installed_php(), baseline_plugins='hello',
                  baseline_theme='twentytwentyfour', min_free_space='100',
                  shared_root=SHARED, sites_root=SITES)
    values.update({k: str(v) for k, v in overrides.items()})
    lines = []
    with open(os.path.join(REPO, 'config', 'plugins.d', 'multitenancy.conf')) as f:
        for line in f:
            key = line.split('=')[0].strip()
            lines.append('{0} = {1}\n'.format(key, values[key]) if key in values else line)
    with open(CONF, 'w') as f:
        f.writelines(lines)


@pytest.fixture(scope='session', autouse=True)
def stack():
    """The real stack must be up: the plugin loads, nginx answers, MariaDB answers."""
    assert wo('--help').returncode == 0, 'the plugin does not load'
    assert get('no-such-site.test', '/').status_code in (200, 301, 302, 403, 404, 444)
    assert 'mysql' in mysql('SHOW DATABASES')
    original = open(CONF).read() if os.path.exists(CONF) else None
    write_conf()
    yield
    if original is not None:
        with open(CONF, 'w') as f:
            f.write(original)


@pytest.fixture(scope='session')
def release_tarball():
    return wordpress_releases.release_tarball('6.5')


@pytest.fixture(scope='session')
def shared_core(release_tarball):
    """A freshly initialized shared core (leftovers of earlier runs removed first)."""
    for domain in rows('multitenancy_sites', 'domain'):
        purge_site(domain)
    shutil.rmtree(SHARED, ignore_errors=True)
    with sqlite3.connect(WO_DB) as db:
        for table in ('multitenancy_releases', 'multitenancy_config'):
            db.execute('DROP TABLE IF EXISTS ' + table)
    wo('init', '--source', release_tarball)
    return SHARED


@pytest.fixture
def make_site(shared_core):
    """make_site(domain, *flags) creates a site with `create --json`; removed afterwards."""
    made = []

    def make(domain, *flags):
        purge_site(domain)
        made.append(domain)
        return json.loads(wo('create', domain, '--json', *flags).stdout)

    yield make
    for domain in made:
        purge_site(domain)
