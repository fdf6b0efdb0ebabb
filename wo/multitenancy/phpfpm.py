"""PHP on this server: which versions can serve a site, where their CLI lives, and
the one way wo multitenancy talks to PHP-FPM itself (FastCGI on its socket)."""
import json
import os
import socket
import struct

from wo.multitenancy import fs, nginx
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


# -- talking to PHP-FPM itself ------------------------------------------------------------
INVALIDATOR = os.path.join(os.path.dirname(__file__), 'php', 'opcache-invalidate.php')


def socket_path(php_version):
    """WordOps' socket of a PHP version's first pool: /var/run/php/php82-fpm.sock."""
    return '/var/run/php/{0}-fpm.sock'.format(nginx.upstream(php_version))


def forget_scripts(settings, php_versions, directory):
    """Drop what each PHP-FPM's OPcache compiled from files under `directory` (a release,
    or a site's document root whose files were swapped).

    OPcache finds a script by its path (htdocs/wp-login.php, a link), so after `current`
    moves it can go on running the old release's copy, whose __DIR__ still names the old
    release; after a document root is swapped, the old tree's copy of the same path.
    Invalidating those scripts (no restart, no reload: those reset connections and nginx
    answers 502) makes the next request compile the file now there. Returns how many
    scripts were dropped.
    """
    script = os.path.join(settings.shared_root, 'config', 'opcache-invalidate.php')
    with open(INVALIDATOR, encoding='utf-8') as f:
        fs.write_file(script, f.read())
    dropped = 0
    for version in sorted(set(php_versions)):
        answer = fastcgi(socket_path(version), script, {'WO_MT_PREFIX': directory.rstrip('/') + '/'})
        try:
            dropped += json.loads(answer.split('\r\n\r\n', 1)[-1])['invalidated']
        except (ValueError, KeyError):
            raise MTError('PHP {0} could not drop its cached scripts: {1}'.format(
                version, answer.strip()[-200:]))
    return dropped


def fastcgi(socket_file, script, params=None):
    """Run `script` in the PHP-FPM behind `socket_file` (a minimal FastCGI request);
    return its output. Raises MTError when PHP-FPM does not answer."""
    env = dict(params or {}, SCRIPT_FILENAME=script, SCRIPT_NAME='/' + os.path.basename(script),
               REQUEST_METHOD='GET', QUERY_STRING='', SERVER_PROTOCOL='HTTP/1.1',
               GATEWAY_INTERFACE='CGI/1.1', DOCUMENT_ROOT=os.path.dirname(script))
    body = b''.join(_pair(k.encode(), v.encode()) for k, v in env.items())
    request = (_record(1, struct.pack('>HB5x', 1, 0)) + _record(4, body) + _record(4, b'')
               + _record(5, b''))
    try:
        with socket.socket(socket.AF_UNIX) as conn:
            conn.settimeout(30)
            conn.connect(socket_file)
            conn.sendall(request)
            answer = b''.join(iter(lambda: conn.recv(65536), b''))
    except OSError as e:
        raise MTError('PHP-FPM does not answer on {0}: {1}'.format(socket_file, e),
                      'start PHP-FPM and run the same command again')
    return _stdout(answer).decode('utf-8', 'replace')


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
