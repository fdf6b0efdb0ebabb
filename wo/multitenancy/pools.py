"""Sovereign sites' PHP: each site its own system user and group, and its own pool in
wo multitenancy's PHP-FPM (install-multitenancy.sh starts one per PHP version, next to
WordOps' own: a reload, which adding or removing a pool needs, then never touches
WordOps' sites).

A sovereign site's PHP runs as its user, with open_basedir limited to its root, the
shared core and shared wp-content, and with the same hardened php_admin settings as
every other sovereign pool: PHP folds ini_get() of admin settings into the code it
compiles, and every pool of a PHP-FPM shares one OPcache (docs/design-sovereign.md).
Its socket is root:<socket_group> 0660, and only nginx's workers are in that group:
whoever can connect to it runs code as the site, with PHP settings of its choosing.

A site is sovereign while it has a pool of ours: then its PHP, WordPress tasks
included, runs as its user. (The user is made before the pool and removed after it.)
"""
import glob
import hashlib
import os
import pwd
import re
import signal
import socket
import time

from wo.multitenancy import fs, phpfpm, runner
from wo.multitenancy.errors import CommandFailed, InvalidInput, MTError

PHP_DIR = os.path.join(os.path.dirname(__file__), 'php')
_COMMENT = 'wo multitenancy site '  # then the domain: the passwd comment of a site's user
RELOAD_WAIT = 30  # seconds: PHP-FPM lets running requests finish (process_control_timeout)
TEMP_DIRS = ('tmp', 'tmp/uploads', 'tmp/sessions')
MAX_SOCKET_PATH = 107  # bytes of a unix socket's path (sun_path, its NUL aside)


def system_user(domain):
    """The system user (and group) of a sovereign site: readable, at most 32 characters
    (useradd's limit), and 64 bits of the domain's hash: no domain a tenant picks can
    be made to name another's user."""
    slug = re.sub('[^a-z0-9]+', '-', domain.lower()).strip('-')[:12].strip('-')
    return 'wo-{0}-{1}'.format(slug, hashlib.sha256(domain.encode()).hexdigest()[:16])


def user_exists(domain):
    """Whether the site's system user exists: by its name, or by anything that names
    the site in the comment this module writes."""
    try:
        pwd.getpwnam(system_user(domain))
        return True
    except KeyError:
        return any(u.pw_gecos == _COMMENT + domain for u in pwd.getpwall())


def own_user(domain):
    """Whether the user named system_user(domain) is the one made for this site."""
    try:
        return pwd.getpwnam(system_user(domain)).pw_gecos == _COMMENT + domain
    except KeyError:
        return False


def sovereign(settings, domain):
    """Whether the site has a pool of ours (in any PHP version's PHP-FPM)."""
    return bool(glob.glob(os.path.join(glob.escape(settings.php_root), '*', 'fpm',
                                       'wo-multitenancy.d', glob.escape(domain) + '.conf')))


def php_user(settings, domain):
    """The user that runs the site's PHP: its own, or (a shared site) the web user."""
    return system_user(domain) if sovereign(settings, domain) else settings.web_user


def fpm_socket(settings, domain):
    """The socket of a sovereign site's pool; None for a shared site."""
    return _socket(settings, domain) if sovereign(settings, domain) else None


def pool_file(settings, php_version, domain):
    return os.path.join(settings.php_root, php_version, 'fpm', 'wo-multitenancy.d',
                        domain + '.conf')


def temp_dir(settings, domain):
    return os.path.join(settings.site_root(domain), 'tmp')


def make_temp_dirs(settings, domain):
    """The sovereign site's temporary directories (TEMP_DIRS), its user's, 0700. The top
    one is root's while the others are made (one a process of the user swapped for a
    link or a file is replaced), then given to the user: a stopped isolate may have left
    the site's PHP running as it."""
    root, ids = settings.site_root(domain), fs.ids((system_user(domain),) * 2)
    top = temp_dir(settings, domain)
    for name in TEMP_DIRS:
        path = os.path.join(root, name)
        if os.path.lexists(path) and (os.path.islink(path) or not os.path.isdir(path)):
            fs.remove(path)
        fs.make_dir_ids(path, 0o700, (0, 0) if path == top else ids)
    os.chown(top, *ids, follow_symlinks=False)


def open_basedir(settings, domain):
    """Where the site's PHP may open files: the core, the shared wp-content, its root,
    the shared config (the baseline its MU-plugin enforces) and our own scripts (the
    runner, the probe). Each ends in / : /var/www/a.com must not
    admit /var/www/a.com.evil. PHP tries them in order on every file it opens, resolving
    each: the core, where most of them are, comes first (measured: 0.88x of a shared
    site's requests/s with the site's root first, 0.98x so)."""
    return ':'.join(d.rstrip('/') + '/' for d in (
        settings.releases_dir, settings.shared_content, settings.site_root(domain),
        os.path.dirname(settings.baseline_file), PHP_DIR))


def admin_values(settings, domain):
    """{setting: value} a site may not change; identical across sites but for its paths."""
    tmp = temp_dir(settings, domain)
    return {'open_basedir': open_basedir(settings, domain),
            'disable_functions': ','.join(settings.disable_functions),
            'sys_temp_dir': tmp, 'upload_tmp_dir': tmp + '/uploads',
            'session.save_path': tmp + '/sessions', 'allow_url_include': 'Off',
            'ffi.enable': '0',
            'opcache.restrict_api': phpfpm.OPCACHE_SCRIPT}


def cli_options(settings, domain):
    """The php CLI options that give a sovereign site's tasks its pool's settings."""
    if not sovereign(settings, domain):
        return []
    return [a for name, value in admin_values(settings, domain).items()
            for a in ('-d', '{0}={1}'.format(name, value))]


def require_poolable(settings, domain, cache):
    """Refuse (InvalidInput) a site to become sovereign whose user or pool exists
    already, whose socket path would be too long, or that would keep its pages in Redis
    (every site's PHP reaches Redis: no password)."""
    if user_exists(domain):
        raise InvalidInput('the system user {0} exists already'.format(system_user(domain)),
                           'a delete or isolate of {0} that stopped part-way left it: '
                           'userdel {1}'.format(domain, system_user(domain)))
    if sovereign(settings, domain):
        raise InvalidInput('{0} has a pool already: {1}'.format(domain, ', '.join(
            glob.glob(pool_file(settings, '*', glob.escape(domain))))), 'remove it first')
    if cache == 'wpredis':
        raise InvalidInput('a sovereign site cannot keep its pages in Redis: every site on '
                           'the server can write there', 'choose --wpfc, or --isolation shared')
    socket_file = _socket(settings, domain)
    if len(socket_file.encode()) > MAX_SOCKET_PATH:
        raise InvalidInput('{0} is too long for a sovereign site: its socket {1} would pass '
                           'the {2} bytes a socket path may have'.format(
                               domain, socket_file, MAX_SOCKET_PATH),
                           'use --isolation shared, or a shorter domain')


def pool_text(settings, domain, php_version):
    user = system_user(domain)
    lines = ['; The pool of {0}, written by wo multitenancy; changes are overwritten.'
             .format(domain), '[{0}]'.format(domain), 'user = ' + user, 'group = ' + user,
             'listen = ' + _socket(settings, domain),
             'listen.owner = root', 'listen.group = ' + settings.socket_group,
             'listen.mode = 0660', 'pm = ondemand',
             'pm.max_children = {0}'.format(settings.pool_max_children),
             'pm.process_idle_timeout = 10s', 'pm.max_requests = 500',
             'request_terminate_timeout = 300s', 'chdir = /',
             'security.limit_extensions = .php', 'env[TMPDIR] = ' + temp_dir(settings, domain)]
    lines += ['php_admin_value[{0}] = {1}'.format(k, v)
              for k, v in admin_values(settings, domain).items()]
    return '\n'.join(lines) + '\n'


# -- the system user ------------------------------------------------------------------------
def create_user(domain, home, changes):
    """The site's system user and group (no login, no home made); the undo removes them."""
    user = system_user(domain)
    runner.run(['useradd', '--system', '--user-group', '--no-create-home', '--home-dir', home,
                '--shell', '/usr/sbin/nologin', '--comment', _COMMENT + domain, user])
    changes.on_failure('remove the user ' + user, lambda: remove_user(domain))


def end_processes(domain):
    """Kill every process of the site's user until none is left (its own user's only)."""
    if not own_user(domain):
        return
    user = system_user(domain)
    for _ in range(50):
        if runner.run(['pkill', '-KILL', '-u', user], check=False).returncode == 1:  # none
            return
        time.sleep(0.1)
    raise _still_running(user, domain)


def remove_user(domain):
    """Stop every process of the site's user, then remove the user and its group. A
    user of that name made for something else is left alone."""
    if not own_user(domain):
        return
    user = system_user(domain)
    for _ in range(50):
        end_processes(domain)
        try:
            runner.run(['userdel', user])
            return
        except CommandFailed as e:
            if e.returncode != 8:  # 8: the user still has a process (one forked meanwhile)
                raise
            time.sleep(0.1)
    raise _still_running(user, domain)


def _still_running(user, domain):
    return MTError('the user {0} of {1} still runs processes'.format(user, domain),
                   'pkill -KILL -u {0}; then run the same command again'.format(user))


# -- the pool --------------------------------------------------------------------------------
def add_pool(settings, domain, php_version, changes):
    """start_pool, undone by removing it again."""
    changes.on_failure('remove the pool of ' + domain,
                       lambda: remove_pool(settings, domain, php_version))
    start_pool(settings, domain, php_version)


def start_pool(settings, domain, php_version, replace=False):
    """Write the site's pool (over the one there when `replace`), prove it with php-fpm
    -t, reload PHP-FPM and wait for the pool's socket."""
    path = pool_file(settings, php_version, domain)
    fs.write_file(path, pool_text(settings, domain, php_version), exclusive=not replace)
    check_config(settings, php_version)
    reload(settings, php_version)
    _wait_until(lambda: _listening(_socket(settings, domain)),
                'the pool of {0} does not listen on {1}'.format(domain, _socket(settings, domain)))


def pool_is_current(settings, domain, php_version, text):
    """Whether a pool file's `text` is the one this version writes for `domain`."""
    return text == pool_text(settings, domain, php_version)


def refresh_pools(settings, sites, changes):
    """Rewrite the pools of sovereign `sites` (our rows) that an older version of this
    plugin wrote otherwise (its open_basedir, say), proving and reloading each PHP-FPM
    that had one; the domains rewritten. The undo puts the old files back."""
    rewritten = {}
    for site in sites:
        path = pool_file(settings, site['php_version'], site['domain'])
        kept = fs.keep_file(path)
        if kept is None or pool_is_current(settings, site['domain'], site['php_version'],
                                           kept[0].decode('utf-8', 'replace')):
            continue
        changes.on_failure('put back ' + path, lambda path=path, kept=kept: fs.restore_file(
            path, kept))
        fs.write_file(path, pool_text(settings, site['domain'], site['php_version']))
        rewritten.setdefault(site['php_version'], []).append(site['domain'])
    for php_version in sorted(rewritten):
        check_config(settings, php_version)
        reload(settings, php_version)
    return sorted(d for domains in rewritten.values() for d in domains)


def remove_pool(settings, domain, php_version):
    """Remove the site's pool and its socket; PHP-FPM is reloaded when it had one, and
    this returns once the pool has stopped taking requests."""
    path, socket_file = pool_file(settings, php_version, domain), _socket(settings, domain)
    if os.path.lexists(path):
        fs.remove(path)
        reload(settings, php_version)
        _wait_until(lambda: not _listening(socket_file),
                    'the pool of {0} still listens on {1}'.format(domain, socket_file))
    fs.remove(socket_file)


def check_config(settings, php_version):
    done = runner.run([phpfpm.fpm(php_version), '-t', '--fpm-config',
                       master_config(settings, php_version)], check=False)
    if done.returncode != 0:
        errors = [l for l in done.stderr.splitlines() if 'ERROR' in l] or ['php-fpm -t failed']
        raise MTError('PHP-FPM {0} refused the pools: {1}'.format(php_version, errors[0]),
                      'run `{0} -t --fpm-config {1}`'.format(
                          phpfpm.fpm(php_version), master_config(settings, php_version)))


def master_config(settings, php_version):
    return os.path.join(settings.php_root, php_version, 'fpm', 'wo-multitenancy-fpm.conf')


def reload(settings, php_version):
    """Tell our PHP-FPM to reload: it lets running requests finish, then starts again
    with the pools it now has, on the sockets it had."""
    pid_file = os.path.join(settings.control_dir, 'php{0}-fpm.pid'.format(php_version))
    try:
        with open(pid_file, encoding='ascii') as f:
            os.kill(int(f.read().strip()), signal.SIGUSR2)
    except (OSError, ValueError) as e:
        raise MTError('the PHP-FPM {0} of sovereign sites is not running ({1}: {2})'.format(
            php_version, pid_file, getattr(e, 'strerror', None) or e),
            'run install-multitenancy.sh: it starts it')


def _socket(settings, domain):
    return os.path.join(settings.socket_dir, domain + '.sock')


def _listening(path):
    try:
        with socket.socket(socket.AF_UNIX) as conn:
            conn.connect(path)
        return True
    except OSError:
        return False


def _wait_until(done, failure):
    deadline = time.monotonic() + RELOAD_WAIT
    while not done():
        if time.monotonic() > deadline:
            raise MTError(failure, 'see /var/log/php*-fpm-wo-multitenancy.log')
        time.sleep(0.05)
