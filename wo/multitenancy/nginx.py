"""The one place where wo multitenancy touches nginx.

A site's vhost is WordOps' own `virtualconf.mustache` (so a template override in
/var/lib/wo/templates applies too), which includes common/<cache>-phpXY.conf,
common/wpcommon-phpXY.conf, common/locations-wo.conf and the site's conf/nginx/*.conf.
"""
import os
import re
import stat
import time

from wo.multitenancy import fs, runner, site_files
from wo.multitenancy.errors import MTError

CACHE_INCLUDE = {'basic': '{php}', 'wpfc': 'wpfc-{php}', 'wpredis': 'redis-{php}',
                 'wpsc': 'wpsc-{php}', 'wprocket': 'wprocket-{php}', 'wpce': 'wpce-{php}'}


def available(settings, domain):
    return os.path.join(settings.nginx_root, 'sites-available', domain)


def enabled(settings, domain):
    return os.path.join(settings.nginx_root, 'sites-enabled', domain)


def upstream(php_version):
    """WordOps' name for a PHP version's upstream and includes: '8.2' -> 'php82'."""
    return 'php' + php_version.replace('.', '')


def missing_includes(settings, php_version, cache):
    """The WordOps includes a vhost for (php_version, cache) needs that do not exist."""
    php = upstream(php_version)
    wanted = [CACHE_INCLUDE[cache].format(php=php), 'wpcommon-' + php, 'locations-wo']
    return [name + '.conf' for name in wanted
            if not os.path.isfile(os.path.join(settings.nginx_root, 'common', name + '.conf'))]


SITE_INCLUDE = 'wo-multitenancy.conf'
# nginx includes every <site>/conf/nginx/*.conf in the site's server block (WordOps'
# template). WordOps keeps upstream connections to PHP-FPM alive (fastcgi_keep_conn on):
# a PHP-FPM worker then serves one nginx connection until nginx drops it, and under
# load the connections waiting in PHP-FPM's listen queue (and the sites behind them)
# starved for minutes (docs/architecture.md, "Under load").
SITE_INCLUDE_TEXT = """# Written by wo multitenancy; changes are overwritten.
# One connection to PHP-FPM per request, so a busy site cannot keep PHP-FPM's workers
# to itself while requests of other sites wait in the listen queue.
fastcgi_keep_conn off;
"""


def site_conf_dir(settings, domain):
    """The site's conf/nginx: WordOps' vhost includes its *.conf."""
    return os.path.join(settings.site_root(domain), 'conf', 'nginx')


def site_include(settings, domain):
    return os.path.join(site_conf_dir(settings, domain), SITE_INCLUDE)


def require_roots_conf_dir(settings, domain):
    """The site's conf/ and conf/nginx must be root's alone (layout.take_site_dirs):
    root writes there by path."""
    folder = site_conf_dir(settings, domain)
    if not all(site_files.roots_alone(p) for p in (os.path.dirname(folder), folder)):
        raise MTError('{0} is not a directory only root may change'.format(folder),
                      'wo multitenancy convert {0} makes it root\'s'.format(domain))


FPM_VARIABLE = '$wo_mt_fpm'  # a sovereign site's socket, for the derived includes (routing)


def site_include_text(fpm_socket=None):
    """Our include of a site's vhost; a sovereign site's names its pool's `fpm_socket`
    (routing.pass_line)."""
    return SITE_INCLUDE_TEXT + ('set {0} unix:{1};\n'.format(FPM_VARIABLE, fpm_socket)
                                if fpm_socket else '')


def write_site_include(settings, domain, fpm_socket=None):
    """Write our include of the site's vhost (`fpm_socket`: a sovereign site's); returns
    whether it changed (require_roots_conf_dir)."""
    require_roots_conf_dir(settings, domain)
    path = site_include(settings, domain)
    text = site_include_text(fpm_socket)
    try:
        with open(path, encoding='utf-8') as f:
            if f.read() == text:
                return False
    except FileNotFoundError:
        pass
    fs.write_file(path, text)
    return True


def ensure_site_includes(settings, sockets):
    """Our include in the vhost of every site in `sockets` ({domain: its pool's socket,
    None for a shared site}) whose conf/nginx is root's alone; when one changed, nginx
    is tested and reloaded. Returns (the sites changed, the sites skipped: converted by
    an earlier version, their conf/ still the site's). Raises MTError with nginx's
    complaint."""
    changed, skipped = [], []
    for domain, fpm_socket in sockets.items():
        try:
            if write_site_include(settings, domain, fpm_socket):
                changed.append(domain)
        except MTError:
            skipped.append(domain)
    if changed:
        check_config('nginx refused the include of {0}'.format(', '.join(changed)))
        reload()
    return changed, skipped


def render_vhost(app, settings, domain, php_version, cache):
    """The vhost text, rendered by WordOps' template engine and virtualconf.mustache."""
    data = dict(site_name=domain, www_domain='www.' + domain, static=False,
                basic=(cache == 'basic'), wp=True, wpfc=(cache == 'wpfc'),
                wpsc=(cache == 'wpsc'), wpredis=(cache == 'wpredis'),
                wprocket=(cache == 'wprocket'), wpce=(cache == 'wpce'),
                multisite=False, wpsubdir=False, webroot=settings.site_root(domain),
                wo_php=upstream(php_version))
    return app.render(data, 'virtualconf.mustache', out=None)


def tls_conf(settings, domain):
    return os.path.join(site_conf_dir(settings, domain), 'ssl.conf')


def hold_tls_conf(settings, domain):
    """An empty conf/nginx/ssl.conf of the site, for WordOps' deploycert to keep, when
    this nginx has no HTTP/3; whether it made one. WordOps' ssl.mustache listens with
    QUIC (`listen 443 quic`, `quic_retry`), which only an nginx built with HTTP/3 knows
    (not Debian 12's 1.22), so its file would fail the `nginx -t` of acme.sh's reload
    command; WordOps writes it only where there is none. write_tls_listeners follows."""
    path = tls_conf(settings, domain)
    if '--with-http_v3_module' in runner.run(['nginx', '-V']).stderr or os.path.lexists(path):
        return False
    fs.write_file(path, '', exclusive=True)
    return True


def write_tls_listeners(app, settings, domain):
    """The site's ssl.conf: WordOps' template without QUIC, after WordOps' TLS
    listeners (its certificate deployed: nginx -t passes at every moment)."""
    from wo.core.variables import WOVar
    data = dict(ssl_live_path=WOVar.wo_ssl_live, domain=domain, quic=False)
    fs.write_file(tls_conf(settings, domain), 'listen 443 ssl http2;\nlisten [::]:443 ssl '
                  'http2;\n' + app.render(data, 'ssl.mustache', out=None))


def serves(settings, domain, docroot):
    """Whether the site's vhost exists and serves `docroot` (a converted site keeps
    its vhost: the shared-core layout uses the same document root)."""
    try:
        with open(available(settings, domain), encoding='utf-8') as f:
            text = f.read()
    except OSError:
        return False
    return re.search(r'^\s*root\s+{0}/?\s*;'.format(re.escape(docroot)), text, re.M) is not None


def install_vhost(settings, domain, text, changes):
    """Write and enable a site's vhost, prove it with `nginx -t`, then reload.

    The undo removes both files and reloads, so a failed command leaves nginx as it was.
    Raises MTError with nginx's own complaint when the test fails (saying so when nginx
    fails it without the vhost too: not tested before, that costs a parse of every
    vhost), or when the vhost exists (it is never overwritten).
    """
    fs.write_file(available(settings, domain), text, exclusive=True)
    changes.on_failure('remove the vhost of ' + domain, lambda: remove_vhost(settings, domain))
    fs.symlink(available(settings, domain), enabled(settings, domain))
    try:
        check_config('the new vhost of {0} was refused by nginx'.format(domain))
    except MTError:
        fs.remove(enabled(settings, domain))
        check_config('nginx fails `nginx -t` without the vhost of {0} too'.format(domain))
        raise
    reload()


def remove_vhost(settings, domain):
    existed = os.path.lexists(enabled(settings, domain))
    fs.remove(enabled(settings, domain))
    fs.remove(available(settings, domain))
    if existed:
        reload()


def check_config(failure='the nginx configuration is broken'):
    """Raise MTError with nginx's message unless `nginx -t` passes."""
    done = runner.run(['nginx', '-t'], check=False)
    if done.returncode != 0:
        errors = [line for line in done.stderr.splitlines() if '[emerg]' in line or 'failed' in line]
        raise MTError('{0}: {1}'.format(failure, (errors or ['nginx -t failed'])[0]),
                      'run `nginx -t` to see the whole message')


RELOAD_WAIT = 10  # seconds for the old workers to stop taking connections
DRAIN_WAIT = 60  # seconds for them to finish the requests they have


def reload(drain=False):
    """Reload nginx gracefully (running requests finish on the old workers), and return
    once the old workers have stopped taking connections: a connection one of them took
    as it was told to stop is closed unanswered, so a request sent right after a command
    that reloads (`convert ... && curl ...`) could fail. `drain`: once they have
    finished every request they have (at most DRAIN_WAIT seconds): none of them still
    waits on where the old configuration sent it. Returns whether they did.

    Raises MTError when the old workers still take connections after RELOAD_WAIT: nginx
    refused the new configuration (`nginx -t` passes some a running nginx refuses, such
    as a cache zone moved to another path) and goes on with the old one.

    The signal goes to the master straight from its pid file: `nginx -s reload` parses
    the whole configuration first only to find that file (0.5 s with 200 vhosts)."""
    master = _master()
    if master is None:
        raise MTError('nginx is not running: it has no {0}'.format(MASTER_PID),
                      'start it (service nginx start), then run the same command again')
    old = _taking_workers()
    runner.run(['kill', '-HUP', master])
    deadline = time.monotonic() + RELOAD_WAIT
    while old & _taking_workers():
        if time.monotonic() > deadline:
            raise MTError('nginx did not take its new configuration: its workers from '
                          'before still serve', 'see /var/log/nginx/error.log; a change '
                          'it refuses to reload needs a restart of nginx')
        time.sleep(0.05)
    deadline = time.monotonic() + DRAIN_WAIT
    while drain and old & _workers() and time.monotonic() < deadline:
        time.sleep(0.05)
    return not (drain and old & _workers())


def _taking_workers():
    """The pids of nginx workers taking connections (not shutting down)."""
    return _workers(b'nginx: worker process\x00')


MASTER_PID = '/run/nginx.pid'


def _master():
    """The pid of nginx's master, as its pid file has it; None when it has none."""
    try:
        with open(MASTER_PID, encoding='ascii') as f:
            master = f.read().strip()
    except OSError:
        return None
    return master if master.isdigit() else None


def _workers(title=None):
    """The pids of nginx's workers (children of its master: any process can take their
    name) whose command line is `title`, or (None) of every worker, shutting down ones
    included."""
    master = _master()
    if master is None:
        return set()
    found = set()
    for pid in filter(str.isdigit, os.listdir('/proc')):
        try:
            with open('/proc/{0}/stat'.format(pid), encoding='utf-8', errors='replace') as f:
                if f.read().rsplit(')', 1)[1].split()[1] != master:
                    continue
            with open('/proc/{0}/cmdline'.format(pid), 'rb') as f:
                line = f.read()
        except (OSError, IndexError):  # gone meanwhile
            continue
        if line == title or title is None and line.startswith(b'nginx: worker process'):
            found.add(int(pid))
    return found


FASTCGI_CACHE = '/var/run/nginx-cache'  # WordOps' fastcgi_cache_path
_KEY = re.compile(rb'\nKEY: https?(?:GET|HEAD)([^/\n]+)/')


def purge_page_cache(domains, cache_dirs):
    """Delete the FastCGI page-cache entries of `domains` in each of `cache_dirs` (as
    nginx-helper does, by file); returns how many were deleted. WordOps' cache directory
    is the web user's, so every shared site can put things there: it is walked without
    following a link (site_files.walk), and only plain files are opened (a FIFO would
    block the command while it holds the lock)."""
    return sum(_purge(domains, d) for d in cache_dirs)


def _purge(domains, cache_dir):
    wanted, purged = {d.encode() for d in domains}, 0
    if not os.path.isdir(cache_dir):
        return 0
    top = os.open(cache_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        for dir_fd, _, _, files in site_files.walk(top, cache_dir):
            for name in files:
                if _cache_key(name, dir_fd) in wanted:
                    try:
                        os.unlink(name, dir_fd=dir_fd)
                        purged += 1
                    except FileNotFoundError:  # nginx's cache manager got there first
                        pass
    finally:
        os.close(top)
    return purged


def _cache_key(name, dir_fd):
    """The host of the cache entry `name` in directory `dir_fd`, or None (not a plain
    file, not an entry)."""
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                     dir_fd=dir_fd)
    except OSError:  # gone, a link, a FIFO without writer ...
        return None
    with os.fdopen(fd, 'rb') as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            return None
        key = _KEY.search(f.read(4096))
    return key.group(1) if key else None
