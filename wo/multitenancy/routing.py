"""How nginx reaches a sovereign site's own pool while WordOps' rules still apply.

WordOps names the PHP upstream inside its includes (common/wpfc-php82.conf,
common/wpcommon-php82.conf ...: `fastcgi_pass php82;`), and a site's own include comes
after them and cannot override a location. So a sovereign site's vhost -- still
WordOps' virtualconf.mustache -- includes copies of those two files derived from the
ones WordOps deployed, identical but for `fastcgi_pass $wo_mt_fpm;`, and the site's
conf/nginx/wo-multitenancy.conf sets that variable to its socket
(nginx.site_include_text). Everything else (common/locations-wo.conf, the maps and
cache zones in conf.d) is WordOps' own file.
A copy is derived again whenever its source changed (every create, and `verify` says
when one is stale); a site without the variable set gets 500, never another pool.
(docs/design-sovereign.md, section 2.)
"""
import hashlib
import os
import re

from wo.multitenancy import fs, nginx
from wo.multitenancy.errors import MTError

# WordOps' page cache (zone WORDPRESS in /var/run/nginx-cache) is www-data's: WordOps'
# PHP could write pages there for any site. Sovereign sites' pages are in a zone whose
# directory only nginx's workers reach (install-multitenancy.sh); nginx-helper purges
# them through the same /purge/ location (fastcgi_cache_purge), as WordOps sets it up.
CACHE_ZONE, WORDOPS_ZONE = 'WO_MT_SOVEREIGN', 'WORDPRESS'
_PASS = re.compile(r'^(\s*)fastcgi_pass\s+([^\s;]+)\s*;\s*$')
_ZONE = re.compile(r'^(\s*fastcgi_cache(?:_purge)?\s+)([^\s;]+)')
_INCLUDE = re.compile(r'^\s*include\s+([^\s;]+)\s*;')


def derived_dir(settings):
    return os.path.join(settings.nginx_root, 'wo-multitenancy', 'common')


def routed_includes(php_version, cache):
    """The WordOps includes of a vhost that name the PHP upstream."""
    php = nginx.upstream(php_version)
    return [nginx.CACHE_INCLUDE[cache].format(php=php) + '.conf', 'wpcommon-' + php + '.conf']


def derive(source_name, text, php_version):
    """The text of WordOps' include `source_name` routed to nginx.FPM_VARIABLE, its
    page cache zone CACHE_ZONE. Raises MTError for a file this transform cannot vouch for: no
    `fastcgi_pass`, one to anything but the PHP version's upstream, another cache zone
    than WordOps', or an include of anything but fastcgi_params."""
    upstream, lines, passes = nginx.upstream(php_version), [], 0
    for line in text.splitlines(True):
        routed, included, zone = _PASS.match(line), _INCLUDE.match(line), _ZONE.match(line)
        if zone:
            if zone.group(2) != WORDOPS_ZONE:
                raise MTError('{0} caches in zone {1}, not {2}'.format(
                    source_name, zone.group(2), WORDOPS_ZONE), _REFUSED_HINT)
            line = zone.group(1) + CACHE_ZONE + line[zone.end():]
        elif routed:
            if routed.group(2) != upstream:
                raise MTError('{0} passes to {1}, not {2}'.format(
                    source_name, routed.group(2), upstream), _REFUSED_HINT)
            line = '{0}fastcgi_pass {1};\n'.format(routed.group(1), nginx.FPM_VARIABLE)
            passes += 1
        elif included and included.group(1) != 'fastcgi_params':
            raise MTError('{0} includes {1}'.format(source_name, included.group(1)),
                          _REFUSED_HINT)
        lines.append(line)
    if not passes:
        raise MTError('{0} has no fastcgi_pass'.format(source_name), _REFUSED_HINT)
    return '# Derived by wo multitenancy from {0} sha256={1}; changes are overwritten.\n{2}'.format(
        source_name, hashlib.sha256(text.encode()).hexdigest(), ''.join(lines))


_REFUSED_HINT = ('WordOps\' include changed in a way wo multitenancy does not know: sovereign '
                 'sites keep the copy they have; report it')


def stale_includes(settings, php_version, cache):
    """The derived includes of (php_version, cache) missing or not derived from what
    WordOps deployed now."""
    return [name for name in routed_includes(php_version, cache)
            if _read(os.path.join(derived_dir(settings), name)) != _derived(settings, name,
                                                                             php_version)]


def derive_includes(settings, php_version, cache):
    """(Re)write the derived includes of (php_version, cache) that are stale; returns
    their names. The caller tests and reloads nginx."""
    stale = stale_includes(settings, php_version, cache)
    if stale:
        fs.make_dir(derived_dir(settings))
    for name in stale:
        fs.write_file(os.path.join(derived_dir(settings), name),
                      _derived(settings, name, php_version))
    return stale


def route_vhost(settings, text, php_version, cache):
    """WordOps' vhost `text` with its routed includes replaced by the derived ones.
    Raises MTError when the template does not include each exactly once (a template
    override changed it)."""
    for name in routed_includes(php_version, cache):
        pattern = re.compile(r'^(\s*include\s+)common/{0};'.format(re.escape(name)), re.M)
        text, found = pattern.subn(lambda m: '{0}{1};'.format(
            m.group(1), os.path.join(derived_dir(settings), name)), text)
        if found != 1:
            raise MTError('the vhost template includes common/{0} {1} times, not once'.format(
                name, found), 'a sovereign site needs WordOps\' own virtualconf.mustache')
    return text


def unroute_vhost(settings, text, php_version, cache):
    """A routed vhost `text` with WordOps' own includes back (route_vhost undone)."""
    for name in routed_includes(php_version, cache):
        text = text.replace(os.path.join(derived_dir(settings), name) + ';',
                            'common/' + name + ';')
    return text


def _derived(settings, name, php_version):
    source = os.path.join(settings.nginx_root, 'common', name)
    text = _read(source)
    if text is None:
        raise MTError('nginx has no WordOps include ' + source,
                      'install the stack for it: wo stack install --nginx')
    return derive(source, text, php_version)


def _read(path):
    try:
        with open(path, encoding='utf-8') as f:
            return f.read()
    except FileNotFoundError:
        return None
