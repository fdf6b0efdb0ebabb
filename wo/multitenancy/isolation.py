"""Check 5 of a verification (sovereign sites): is the site shut in?

Root reads the wiring itself: the site's pool is ours as written, its socket and its
uploads are nginx's group's alone, nginx's workers have that group, the vhost's
derived includes are current, wp-config.php is readable by the site's own PHP only, no
PHP-FPM pool listens on TCP (every local user could run PHP through it). Then the site's own
pool runs php/isolation-probe.php (FastCGI on its socket, not through nginx), which
tries to read another site's wp-config.php and uploads, /etc/passwd and WordOps'
database, to write another site's uploads and the shared core, plugins, themes and
MU-plugins, to reset OPcache and to call exec() -- all must fail -- and to write its
own uploads, which must work.
"""
import glob
import grp
import json
import os
import pwd
import re
import stat

from wo.multitenancy import layout, phpfpm, pools, routing, wp_config
from wo.multitenancy.errors import MTError

PROBE = os.path.join(pools.PHP_DIR, 'isolation-probe.php')
PROBE_SECONDS = 15
HINT = 'wo multitenancy isolate {0} writes its pool and files again; see docs/architecture.md'


def check(settings, site, other_domains):
    """The isolation check of sovereign site `site` (our row); `other_domains`: the other
    sites whose files it must not reach."""
    domain = site['domain']
    problems = wiring_problems(settings, site)
    if not problems:
        problems = probe_problems(settings, domain, other_domains)
    return {'check': 'isolation', 'ok': not problems,
            'detail': '; '.join(problems) if problems else
            'its PHP runs as {0} and reaches nothing of other sites or the shared core'
            .format(pools.system_user(domain)),
            'hint': HINT.format(domain) if problems else None}


def wiring_problems(settings, site):
    domain, php_version = site['domain'], site['php_version']
    user = pools.system_user(domain)
    problems = []
    try:
        with open(pools.pool_file(settings, php_version, domain), encoding='utf-8') as f:
            if not pools.pool_is_current(settings, domain, php_version, f.read()):
                problems.append('its pool file is not the one wo multitenancy writes')
    except FileNotFoundError:
        problems.append('it has no pool ' + pools.pool_file(settings, php_version, domain))
    problems += _owned(pools.fpm_socket(settings, domain), 'root', settings.socket_group,
                       0o660, 'its socket')
    problems += _owned(wp_config.path(settings, domain), 'root', user, 0o640, 'wp-config.php')
    problems += _owned(_uploads(settings, domain), user, settings.socket_group, 0o750,
                       'its uploads/')
    problems += ['{0} listens on TCP ({1}): any local user runs PHP through it'.format(*p)
                 for p in tcp_pools(settings)]
    if _ptrace_scope() == '0':
        problems.append("kernel.yama.ptrace_scope is 0: a shared site's PHP could take over "
                        "an nginx worker (run install-multitenancy.sh)")
    if not _nginx_has_group(settings):
        problems.append("nginx's workers are not in {0} (nginx.conf: user www-data {0};): "
                        'run install-multitenancy.sh'.format(settings.socket_group))
    try:
        stale = routing.stale_includes(settings, php_version, site['cache_type'])
    except MTError as e:
        stale = [e.message]
    if stale:
        problems.append('its derived nginx includes are stale: ' + ', '.join(stale))
    return problems


def probe_problems(settings, domain, other_domains):
    expected = targets(settings, domain, other_domains)
    try:
        answer = phpfpm.fastcgi(pools.fpm_socket(settings, domain), PROBE,
                                'probe the isolation of ' + domain,
                                {'WO_MT_TARGETS': json.dumps(expected)}, PROBE_SECONDS)
        reached = json.loads(answer.split('\r\n\r\n', 1)[-1])
    except (MTError, ValueError) as e:
        return ['its pool did not run the probe: {0}'.format(getattr(e, 'message', e))]
    wanted = dict({name: name == 'write_own_uploads' for name in expected},
                  reset_opcache=False, run_exec=False)
    if not isinstance(reached, dict):
        return ['its pool answered the probe with {0!r}'.format(answer[-200:])]
    return ['{0}: {1}'.format(name, 'could' if reached.get(name) else 'could not')
            for name in sorted(wanted) if reached.get(name) is not wanted[name]]


def targets(settings, domain, other_domains):
    """{name: [kind, path]} the probe tries; only write_own_uploads may work."""
    shared = settings.shared_content
    found = {'read_etc_passwd': ['read', '/etc/passwd'],
             'read_wordops_db': ['read', settings.wo_database],
             'write_shared_core': ['write', os.path.join(
                 os.path.realpath(settings.current_link), 'wp-includes')],
             'write_shared_plugins': ['write', shared + '/plugins'],
             'write_shared_themes': ['write', shared + '/themes'],
             'write_shared_mu_plugins': ['write', shared + '/mu-plugins'],
             'write_own_uploads': ['write', _uploads(settings, domain)]}
    for other in other_domains[:1]:
        found.update(read_other_config=['read', wp_config.path(settings, other)],
                     list_other_uploads=['list', _uploads(settings, other)],
                     write_other_uploads=['write', _uploads(settings, other)])
    return found


def tcp_pools(settings):
    """[(pool file, listen)] of WordOps' PHP-FPM pools that listen on TCP."""
    found = []
    for path in sorted(glob.glob(os.path.join(glob.escape(settings.php_root), '*', 'fpm',
                                              'pool.d', '*.conf'))):
        with open(path, encoding='utf-8', errors='replace') as f:
            found += [(path, m.group(1)) for m in _TCP_LISTEN.finditer(f.read())]
    return found


_TCP_LISTEN = re.compile(r'^\s*listen\s*=\s*((?:[^/\s]*:)?\d+)\s*$', re.M)


def _ptrace_scope():
    """Yama's ptrace_scope, or None on a kernel without Yama."""
    try:
        with open('/proc/sys/kernel/yama/ptrace_scope', encoding='ascii') as f:
            return f.read().strip()
    except OSError:
        return None


def _uploads(settings, domain):
    return os.path.join(layout.htdocs(settings, domain), 'wp-content', 'uploads')


def _owned(path, owner, group, mode, name):
    try:
        st = os.lstat(path) if path else None
    except FileNotFoundError:
        st = None
    if st is None:
        return ['{0} is missing'.format(name)]
    try:
        found = (pwd.getpwuid(st.st_uid).pw_name, grp.getgrgid(st.st_gid).gr_name,
                 stat.S_IMODE(st.st_mode))
    except KeyError:
        found = (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode))
    if found != (owner, group, mode):
        return ['{0} is {1}:{2} {3:04o}, not {4}:{5} {6:04o}'.format(
            name, found[0], found[1], found[2], owner, group, mode)]
    return []


def _nginx_has_group(settings):
    try:
        with open(os.path.join(settings.nginx_root, 'nginx.conf'), encoding='utf-8') as f:
            text = f.read()
    except OSError:
        return False
    return re.search(r'^\s*user\s+\S+\s+{0}\s*;'.format(re.escape(settings.socket_group)),
                     text, re.M) is not None
