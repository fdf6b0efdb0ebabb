"""Helpers for driving the real stack: the `wo multitenancy` CLI, HTTP requests to the
sites through nginx, and a snapshot of everything a command could leave behind.
Shared by the end-to-end tests and the benchmark; run as root with WordOps' Python.
"""
import contextlib
import glob
import json
import os
import pwd
import shutil
import signal
import socket
import sqlite3
import subprocess
import time

import requests

from wo.multitenancy import nginx, pools
from wo.multitenancy.settings import Settings

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CONF = '/etc/wo/plugins.d/multitenancy.conf'
WO_DB = '/var/lib/wo/dbase.db'
WO_LOG = '/var/log/wo/wordops.log'
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


def php_user(domain):
    """The user a site's PHP runs as: its own (a sovereign site) or www-data."""
    return json.loads(wo('info', domain, '--json').stdout)['system_user'] or 'www-data'


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
        'system users': sorted(u.pw_name for u in pwd.getpwall() if u.pw_name.startswith('wo-')),
        'sovereign pools': sorted(glob.glob('/etc/php/*/fpm/wo-multitenancy.d/*')),
        'sovereign sockets': sorted(os.listdir('/var/lib/wo/multitenancy-sockets')),
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
        try:  # the accounts of a move a failed test left recorded
            move = db.execute('SELECT move FROM multitenancy_sites WHERE domain = ?',
                              (domain,)).fetchone()
        except sqlite3.OperationalError:
            move = None
        for user in json.loads(move[0])['accounts'] if move and move[0] else ():
            subprocess.run(['mariadb', '-e', 'DROP USER IF EXISTS `{0}`@`localhost`'.format(
                user)], check=True)
        for table, column in (('sites', 'sitename'), ('multitenancy_sites', 'domain')):
            try:
                db.execute('DELETE FROM {0} WHERE {1} = ?'.format(table, column), (domain,))
            except sqlite3.OperationalError:
                pass
    for path in ('/etc/nginx/sites-enabled/' + domain, '/etc/nginx/sites-available/' + domain,
                 '/etc/nginx/conf.d/force-ssl-{0}.conf'.format(domain)):
        if os.path.lexists(path):
            os.unlink(path)
    shutil.rmtree(os.path.join(SITES, domain), ignore_errors=True)
    purge_sovereign(domain)
    subprocess.run(['nginx', '-s', 'reload'], check=True, stderr=subprocess.DEVNULL)
    # a later site of the same name must not get its pages
    nginx.purge_page_cache([domain], Settings().page_caches)


def wipe_shared_core():
    """Every test site, the shared core and our record of its releases gone: the server
    as before `init`."""
    for domain in rows('multitenancy_sites', 'domain'):
        purge_site(domain)
    shutil.rmtree(SHARED, ignore_errors=True)
    with sqlite3.connect(WO_DB) as db:
        for table in ('multitenancy_releases', 'multitenancy_config'):
            db.execute('DROP TABLE IF EXISTS ' + table)


@contextlib.contextmanager
def sovereign_and_shared(sovereign, shared, *flags):
    """Two sites made by `create` (with `flags`), one sovereign, one shared; deleted after."""
    for domain in (sovereign, shared):
        purge_site(domain)
    try:
        wo('create', sovereign, *flags, '--isolation', 'sovereign')
        wo('create', shared, *flags, '--isolation', 'shared')
        yield sovereign, shared
    finally:
        for domain in (sovereign, shared):
            wo('delete', domain, '--force', check=False)


def purge_sovereign(domain):
    """A sovereign site's pool (our PHP-FPM reloaded), socket and system user."""
    pool = '/etc/php/{0}/fpm/wo-multitenancy.d/{1}.conf'.format(installed_php(), domain)
    if os.path.exists(pool):
        os.unlink(pool)
        with open('/var/lib/wo/multitenancy/php{0}-fpm.pid'.format(installed_php())) as f:
            os.kill(int(f.read().strip()), signal.SIGUSR2)
        time.sleep(1)
    socket_file = '/var/lib/wo/multitenancy-sockets/{0}.sock'.format(domain)
    if os.path.lexists(socket_file):
        os.unlink(socket_file)
    user = pools.system_user(domain)
    for _ in range(50):
        subprocess.run(['pkill', '-KILL', '-u', user], stderr=subprocess.DEVNULL)
        if subprocess.run(['userdel', user], stderr=subprocess.DEVNULL).returncode in (0, 6):
            return
        time.sleep(0.1)


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


def run_in_docroot(domain, php):
    """Put `php` in the site's document root as root, request it through nginx."""
    name = 'mt-test-{0}.php'.format(os.getpid())
    path = '/var/www/{0}/htdocs/{1}'.format(domain, name)
    with open(path, 'w') as f:
        f.write(php)
    try:
        return get(domain, '/' + name + '?t={0}'.format(time.time()))
    finally:
        os.unlink(path)


def probe(domain, targets):
    """What the plugin's php/isolation-probe.php reaches of `targets` from the site's PHP:
    root puts a copy of it in the site's document root (a shared site's open_basedir
    would not let it load ours), `targets` set first, and requests it through nginx."""
    with open(os.path.join(pools.PHP_DIR, 'isolation-probe.php')) as f:
        script = f.read()
    answer = run_in_docroot(domain, "<?php $_SERVER['WO_MT_TARGETS'] = {0!r}; ?>{1}".format(
        json.dumps(targets), script))
    assert answer.status_code == 200, answer.text[-500:]
    return answer.json()


def isolation_targets(own, other):
    """What a site `own` must not reach of site `other` and the server, and its own
    uploads, which it must be able to write."""
    root = '/var/www/' + other
    return {'read_other_config': ['read', root + '/wp-config.php'],
            'list_other_uploads': ['list', root + '/htdocs/wp-content/uploads'],
            'write_other_uploads': ['write', root + '/htdocs/wp-content/uploads'],
            'read_etc_passwd': ['read', '/etc/passwd'],
            'read_wordops_db': ['read', WO_DB],
            'write_shared_core': ['write', os.path.realpath(SHARED + '/current') + '/wp-includes'],
            'write_shared_plugins': ['write', SHARED + '/wp-content/plugins'],
            'write_shared_themes': ['write', SHARED + '/wp-content/themes'],
            'write_shared_mu_plugins': ['write', SHARED + '/wp-content/mu-plugins'],
            'write_own_uploads': ['write', '/var/www/{0}/htdocs/wp-content/uploads'.format(own)]}


def wait_for_log(text, offset, run, timeout=60):
    """Whether `text` appeared in WordOps' log past `offset` while `run` runs."""
    deadline = time.time() + timeout
    while time.time() < deadline and run.poll() is None:
        with open(WO_LOG, 'rb') as log:
            log.seek(offset)
            if text.encode() in log.read():
                return True
        time.sleep(0.01)
    return False


def fresh_php_fpm():
    """Reload PHP-FPM (its OPcache starts empty) while nothing else runs, and wait until
    every pool answers. A test suite fills OPcache with hundreds of sites and releases
    no server sees in a day; a measurement under load starts from what a server has."""
    pidfile = '/run/php/php{0}-fpm.pid'.format(installed_php())
    with open(pidfile) as f:
        os.kill(int(f.read().strip()), signal.SIGUSR2)
    short = installed_php().replace('.', '')
    sockets = ['/run/php/php{0}-fpm.sock'.format(short), '/run/php/php{0}-two-fpm.sock'.format(short),
               '/var/lib/wo/multitenancy/php{0}-fpm.sock'.format(short)]
    deadline = time.time() + 30
    time.sleep(1)
    while time.time() < deadline:
        try:
            for path in sockets:
                with socket.socket(socket.AF_UNIX) as conn:
                    conn.connect(path)
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError('PHP-FPM did not come back after a reload')
