"""Settings of wo multitenancy, read from the [multitenancy] section of
/etc/wo/plugins.d/multitenancy.conf. Every option, its default and its meaning is
listed in README.md. Paths that only tests change (nginx, WordOps' DB) are fields
with production defaults, not options.
"""
import os
import re
from dataclasses import dataclass, field, fields

from wo.multitenancy.errors import InvalidInput
from wo.multitenancy.nginx import FASTCGI_CACHE

SECTION = 'multitenancy'
CACHE_TYPES = ('wpfc', 'wpredis', 'wprocket', 'wpce', 'wpsc', 'basic')
ISOLATIONS = ('sovereign', 'shared')


@dataclass(frozen=True)
class Settings:
    shared_root: str = '/var/www/shared'
    sites_root: str = '/var/www'
    keep_releases: int = 3
    php_version: str = '8.3'
    admin_email: str = 'admin@example.com'
    wp_locale: str = 'en_US'
    baseline_plugins: tuple = ('nginx-helper', 'redis-cache')
    baseline_theme: str = 'twentytwentyfour'
    auto_activate: bool = True
    disable_file_edit: bool = True
    disable_file_mods: bool = False
    wp_memory_limit: str = '256M'
    wp_max_memory_limit: str = '512M'
    default_cache: str = 'wpfc'
    auto_ssl: bool = False
    enable_hsts: bool = False
    enable_health_check: bool = True
    alert_email: str = ''
    audit_keep_days: int = 365
    backup_repository: str = '/var/backups/wo-multitenancy'
    keep_daily: int = 7
    keep_weekly: int = 4
    keep_monthly: int = 6
    min_free_space: int = 1000
    db_connect_timeout: int = 5
    db_connect_retries: int = 3
    enable_syslog: bool = True
    syslog_tag: str = 'wo-multitenancy'
    isolation: str = 'sovereign'
    pool_max_children: int = 4
    disable_functions: tuple = ('exec', 'passthru', 'shell_exec', 'system', 'proc_open',
                                'popen', 'pcntl_exec', 'pcntl_fork', 'dl', 'putenv',
                                'imap_open')
    # Not options: where the rest of the server lives (tests point these into a sandbox).
    nginx_root: str = field(default='/etc/nginx', metadata={'option': False})
    wo_database: str = field(default='/var/lib/wo/dbase.db', metadata={'option': False})
    web_user: str = field(default='www-data', metadata={'option': False})
    control_dir: str = field(default='/var/lib/wo/multitenancy', metadata={'option': False})
    page_cache: str = field(default=FASTCGI_CACHE, metadata={'option': False})
    php_root: str = field(default='/etc/php', metadata={'option': False})
    socket_dir: str = field(default='/var/lib/wo/multitenancy-sockets',
                            metadata={'option': False})
    socket_group: str = field(default='wo-multitenancy-web', metadata={'option': False})
    sovereign_page_cache: str = field(default='/var/lib/wo/multitenancy-cache/pages',
                                      metadata={'option': False})

    @property
    def page_caches(self):
        """WordOps' FastCGI page cache, and that of sovereign sites."""
        return (self.page_cache, self.sovereign_page_cache)

    @property
    def releases_dir(self):
        return os.path.join(self.shared_root, 'releases')

    @property
    def current_link(self):
        return os.path.join(self.shared_root, 'current')

    @property
    def shared_content(self):
        return os.path.join(self.shared_root, 'wp-content')

    @property
    def baseline_file(self):
        return os.path.join(self.shared_root, 'config', 'baseline.json')

    @property
    def backups_dir(self):
        return os.path.join(self.shared_root, 'backups')

    @property
    def lock_file(self):
        return os.path.join(os.path.dirname(self.wo_database), 'multitenancy.lock')

    def site_root(self, domain):
        return os.path.join(self.sites_root, domain)


def option_names():
    return [f.name for f in fields(Settings) if f.metadata.get('option', True)]


def _convert(name, raw, default):
    raw = raw.strip()
    if isinstance(default, bool):
        if raw.lower() in ('1', 'true', 'yes', 'on'):
            return True
        if raw.lower() in ('0', 'false', 'no', 'off', ''):
            return False
        raise InvalidInput('{0} = {1!r} is not true or false'.format(name, raw),
                           'fix it in /etc/wo/plugins.d/multitenancy.conf')
    if isinstance(default, int):
        try:
            return int(raw)
        except ValueError:
            raise InvalidInput('{0} = {1!r} is not a whole number'.format(name, raw),
                               'fix it in /etc/wo/plugins.d/multitenancy.conf')
    if isinstance(default, tuple):
        return tuple(item.strip() for item in raw.split(',') if item.strip())
    return raw


def from_mapping(values, **overrides):
    """Settings from a {option: text} mapping (a config section); unknown keys are ignored."""
    defaults = Settings()
    kwargs = {}
    for name in option_names():
        if name in values and values[name] is not None:
            kwargs[name] = _convert(name, str(values[name]), getattr(defaults, name))
    kwargs.update(overrides)
    settings = Settings(**kwargs)
    _check(settings)
    return settings


def from_app(app):
    """Settings from the Cement app's configuration."""
    if not app.config.has_section(SECTION):
        return from_mapping({})
    return from_mapping(dict(app.config.get_section_dict(SECTION)))


_SLUG = re.compile(r'^[a-z0-9][a-z0-9_.-]*\Z')
_MEMORY = re.compile(r'^\d+[KMG]?$')
_LOCALE = re.compile(r'^[a-z]{2,3}(_[A-Z]{2})?$')
_FUNCTION = re.compile(r'^[A-Za-z_][A-Za-z0-9_]*\Z')


def _check(settings):
    if settings.keep_releases < 2:
        raise InvalidInput('keep_releases = {0}: at least 2 are needed to roll back'
                           .format(settings.keep_releases),
                           'set keep_releases to 2 or more')
    if settings.isolation not in ISOLATIONS:
        raise InvalidInput('isolation = {0!r} is not one of {1}'.format(
            settings.isolation, ', '.join(ISOLATIONS)))
    keep = (settings.keep_daily, settings.keep_weekly, settings.keep_monthly)
    if min(keep) < 0 or not any(keep):
        raise InvalidInput('keep_daily, keep_weekly and keep_monthly must be 0 or more, and '
                           'one of them more than 0', 'backup --prune would forget every snapshot')
    if settings.pool_max_children < 1:
        raise InvalidInput('pool_max_children = {0}: a pool needs at least 1'.format(
            settings.pool_max_children))
    odd = [n for n in settings.disable_functions if not _FUNCTION.match(n)]
    if odd:
        raise InvalidInput('disable_functions: {0} are not PHP function names'.format(
            ', '.join(repr(n) for n in odd)), 'list names such as exec, separated by commas')
    if settings.default_cache not in CACHE_TYPES:
        raise InvalidInput('default_cache = {0!r} is not one of {1}'
                           .format(settings.default_cache, ', '.join(CACHE_TYPES)))
    for name in ('shared_root', 'sites_root'):
        if not os.path.isabs(getattr(settings, name)):
            raise InvalidInput('{0} must be an absolute path'.format(name))
    for slug in settings.baseline_plugins + (settings.baseline_theme,):
        if not _SLUG.match(slug):
            raise InvalidInput('baseline slug {0!r} is not a plugin or theme slug'.format(slug),
                               'use wordpress.org slugs such as nginx-helper')
    for name, pattern, example in (('wp_memory_limit', _MEMORY, '256M'),
                                   ('wp_max_memory_limit', _MEMORY, '512M'),
                                   ('wp_locale', _LOCALE, 'en_US')):
        if not pattern.match(getattr(settings, name)):
            raise InvalidInput('{0} = {1!r} is not like {2}'.format(
                name, getattr(settings, name), example),
                'fix it in /etc/wo/plugins.d/multitenancy.conf')
