"""PHP on this server: which versions can serve a site, and where their CLI lives."""
import os

from wo.multitenancy import nginx
from wo.multitenancy.errors import InvalidInput


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
