"""PHP on this server: which versions can serve a site, where their CLI lives, and
the one way wo multitenancy talks to PHP-FPM itself (FastCGI on its socket)."""
import json
import os
import socket
import struct
import time

from wo.multitenancy import nginx, site_files
from wo.multitenancy.errors import InvalidInput, MTError


def cli(php_version):
    return '/usr/bin/php' + php_version


def fpm(php_version):
    return '/usr/sbin/php-fpm' + php_version


def installed_versions():
    """PHP versions with both PHP-FPM and the CLI installed, e.g. ['8.2']."""
    from wo.core.variables import WOVar
    return [v for v in WOVar.wo_php_versions.values()
            if os.path.exists(fpm(v)) and os.path.exists(cli(v))]


def require(settings, php_version, cache):
    """Refuse a PHP version (or cache type) this server cannot serve."""
    installed = installed_versions()
    if php_version not in installed:
        raise InvalidInput('PHP {0} is not installed (installed: {1})'.format(
            php_version, ', '.join(installed) or 'none'),
            'choose an installed one ({0}), or install it: wo stack install --{1}'.format(
                ' '.join('--' + nginx.upstream(v) for v in installed) or 'none',
                nginx.upstream(php_version)))
    missing = nginx.missing_includes(settings, php_version, cache)
    if missing:
        raise InvalidInput('nginx has no WordOps include {0} for PHP {1}'.format(
            ', '.join(missing), php_version),
            'install the stack for it: wo stack install --nginx --{0}'.format(
                nginx.upstream(php_version)))
    require_control_pool(settings, php_version)


# -- talking to PHP-FPM itself ------------------------------------------------------------
# Our requests never go to the sites' pools: under load a new connection to a site pool
# can wait in its listen queue for as long as nginx keeps its kept-alive connections busy
# (docs/architecture.md, "Under load"). install-multitenancy.sh gives every
# PHP-FPM a pool of ours whose socket only root can reach: <control_dir>/phpXY-fpm.sock
# in WordOps' PHP-FPM, <control_dir>/phpXY-sovereign.sock in that of sovereign sites.
OPCACHE_SCRIPT = os.path.join(os.path.dirname(__file__), 'php', 'opcache.php')
POOL = 'wo-multitenancy'
ANSWER_TIMEOUT = 15  # seconds for a whole request: connect, send, answer
MAX_ANSWER = 1 << 20  # bytes: more is not an answer of ours


MASTERS = ('fpm', 'sovereign')  # WordOps' PHP-FPM, and that of sovereign sites


def control_sockets(settings, php_version):
    """The sockets of our own pools in the two PHP-FPMs of `php_version`."""
    return [os.path.join(settings.control_dir, '{0}-{1}.sock'.format(
        nginx.upstream(php_version), master)) for master in MASTERS]


def require_control_pool(settings, php_version):
    """Refuse a PHP version whose PHP-FPMs lack our pool, or whose socket is not root's."""
    missing = [s for s in control_sockets(settings, php_version) if not os.path.exists(s)]
    problem = _untrusted(settings.control_dir) or (
        'no socket ' + ', '.join(missing) if missing else None)
    if problem:
        raise InvalidInput('PHP-FPM {0} has no usable {1} pool: {2}'.format(
            php_version, POOL, problem),
            'run install-multitenancy.sh again: it adds the pool to every PHP-FPM, and starts '
            'the PHP-FPM of sovereign sites')


def forget_scripts(settings, php_versions, directory):
    """Drop what each PHP-FPM's OPcache compiled from files under `directory` (a site's
    document root whose files were swapped, a release no site runs any more), or from
    that one file (a rewritten wp-config.php).

    OPcache finds a script by its path and checks it only every revalidate_freq seconds,
    so after a document root is swapped it would run the old tree's copy of the same
    path a while. Invalidating those scripts (no restart, no reload: those reset
    connections and nginx answers 502) makes the next request compile the file now
    there. Every pool of one PHP-FPM shares its OPcache, so our own pool does it for
    all, in both PHP-FPMs. Returns how many scripts were dropped; raises MTError when PHP-FPM does not
    answer in time."""
    return sum(_opcache(settings, version, 'drop {0} from the OPcache of PHP {1}'.format(
        directory, version), WO_MT_ACTION='forget', WO_MT_PREFIX=_prefix(directory))
        for version in sorted(set(php_versions)))


def warm_scripts(settings, php_versions, running, coming):
    """Compile into each PHP-FPM's OPcache, from release dir `coming`, the scripts it
    holds from release dir `running`: after a switch every busy worker would compile
    them at once; our pool compiles them once, before. Returns how many; raises MTError
    when PHP-FPM does not answer in time."""
    return sum(_opcache(settings, version, 'compile {0} into the OPcache of PHP {1}'.format(
        coming, version), WO_MT_ACTION='warm', WO_MT_FROM=_prefix(running),
        WO_MT_TO=_prefix(coming)) for version in sorted(set(php_versions)))


def _opcache(settings, version, purpose, **params):
    """Run php/opcache.php in our pools of PHP `version` (one in each PHP-FPM); the
    number of scripts they did."""
    require_control_pool(settings, version)
    return sum(_scripts(fastcgi(socket_file, OPCACHE_SCRIPT, purpose, params), purpose)
               for socket_file in control_sockets(settings, version))


def _scripts(answer, purpose):
    try:
        return int(json.loads(answer.split('\r\n\r\n', 1)[-1])['scripts'])
    except (ValueError, KeyError, TypeError):
        raise MTError('could not {0}: PHP answered {1!r}'.format(purpose, answer.strip()[-200:]))


def _prefix(path):
    """What a cached script's path starts with when it is `path` (a file) or under it."""
    return path if os.path.isfile(path) else path.rstrip('/') + '/'


def fastcgi(socket_file, script, purpose, params=None, timeout=ANSWER_TIMEOUT):
    """Run `script` in the PHP-FPM pool behind `socket_file` (a minimal FastCGI request)
    and return its output. The whole exchange has `timeout` seconds and the answer at
    most MAX_ANSWER bytes; otherwise MTError says what waited on what (`purpose`)."""
    env = dict(params or {}, SCRIPT_FILENAME=script, SCRIPT_NAME='/' + os.path.basename(script),
               REQUEST_METHOD='GET', QUERY_STRING='', SERVER_PROTOCOL='HTTP/1.1',
               GATEWAY_INTERFACE='CGI/1.1', DOCUMENT_ROOT=os.path.dirname(script))
    body = b''.join(_pair(k.encode(), v.encode()) for k, v in env.items())
    request = (_record(1, struct.pack('>HB5x', 1, 0)) + _record(4, body) + _record(4, b'')
               + _record(5, b''))
    deadline = time.monotonic() + timeout
    try:
        with socket.socket(socket.AF_UNIX) as conn:
            conn.settimeout(timeout)
            conn.connect(socket_file)
            conn.sendall(request)
            answer = _read_answer(conn, deadline)
    except socket.timeout:
        raise MTError('could not {0}: {1} gave no whole answer within {2} s'.format(
            purpose, socket_file, timeout), 'see /var/log/php*-fpm.log; run the same command again')
    except OSError as e:
        raise MTError('could not {0}: {1}: {2}'.format(purpose, socket_file, e.strerror or e),
                      'start PHP-FPM and run the same command again')
    return _stdout(answer).decode('utf-8', 'replace')


def _read_answer(conn, deadline):
    """Everything the server sends until it closes, within `deadline` and MAX_ANSWER."""
    chunks, size = [], 0
    while True:
        conn.settimeout(max(0.001, deadline - time.monotonic()))
        chunk = conn.recv(65536)
        if not chunk:
            return b''.join(chunks)
        size += len(chunk)
        if size > MAX_ANSWER:
            raise OSError(0, 'answered more than {0} bytes'.format(MAX_ANSWER))
        chunks.append(chunk)


def _untrusted(directory):
    """Why root must not talk to sockets in `directory`, or None: it must be root's and
    writable by root alone (a site that could write there could plant its own socket)."""
    if not os.path.lexists(directory):
        return directory + ' is missing'
    if not site_files.roots_alone(directory):
        return directory + ' is not a directory only root may write'
    return None


def _record(kind, content):
    return struct.pack('>BBHHBx', 1, kind, 1, len(content), 0) + content


def _pair(name, value):
    sizes = b''.join(struct.pack('>B', len(p)) if len(p) < 128
                     else struct.pack('>I', len(p) | 0x80000000) for p in (name, value))
    return sizes + name + value


def _stdout(answer):
    out = b''
    while len(answer) >= 8:
        _, kind, _, length, padding = struct.unpack('>BBHHB', answer[:7])
        if kind == 6:  # FCGI_STDOUT
            out += answer[8:8 + length]
        answer = answer[8 + length + padding:]
    return out
