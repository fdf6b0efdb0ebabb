"""Whether a standalone WordOps site can move onto the shared core, and the plan of
its conversion: pure checks, nothing changes. Each check raises InvalidInput naming
what stands in the way and what to do about it."""
import os

from wo.multitenancy import (baseline, docroot_swap, fs, health, layout, nginx, phpfpm,
                             releases, wordpress, wp_config)
from wo.multitenancy.errors import InvalidInput


def convertible_domains(ctx):
    """WordOps' single WordPress sites that are not on the shared core."""
    ours = {s['domain'] for s in ctx.db.get_shared_sites()}
    return [r['sitename'] for r in ctx.db.wordops_sites()
            if r['site_type'] == 'wp' and r['sitename'] not in ours]


def conversion_plan(ctx, domain, row, force):
    """Everything a conversion of `domain` (WordOps' `row`) will do, checked; refuses
    (InvalidInput) a site that cannot be converted, before anything changes."""
    settings = ctx.settings
    docroot = layout.htdocs(settings, domain)
    if row['site_type'] != 'wp':
        raise InvalidInput('{0} is a "{1}" site: only single WordPress sites share the core'
                           .format(domain, row['site_type']))
    if not os.path.isfile(os.path.join(docroot, 'wp-includes', 'version.php')):
        raise InvalidInput('{0} has no WordPress core in {1}'.format(domain, docroot))
    config = site_config_file(settings, domain)
    if not nginx.serves(settings, domain, docroot):
        raise InvalidInput('the vhost of {0} does not serve {1}'.format(domain, docroot),
                           'a site with its own vhost layout cannot be converted')
    php = row['php_version']
    phpfpm.require(settings, php, row['cache_type'])
    defined = wp_config.read(settings, config, domain, php)
    wp_config.check_convertible(settings, domain, defined['constants'])
    site = wordpress.task(settings, domain, php, 'inspect', core=docroot)
    current = releases.current(settings)
    release_version = releases.version(settings, current)
    check_core_not_newer(domain, site, release_version)
    if site['multisite']:
        raise InvalidInput('{0} is a multisite network'.format(domain))
    check_no_must_use_plugins(domain, docroot)
    missing = missing_from_shared(settings, domain, site)
    if missing and not force:
        raise InvalidInput('{0} uses what the shared set lacks: {1}'.format(
            domain, ', '.join(_named(kind, path) for kind, path in missing)),
            '--force adds them to the shared set (for every site to use)')
    https = bool(row['is_ssl'])
    before = health.probe(domain, https)
    if not before['ok']:
        raise InvalidInput('{0} does not serve well now: {1}'.format(domain, before['problem']),
                           'fix it first: a conversion must be able to tell it still serves')
    require_room_for_backup(settings, domain)
    return {'domain': domain, 'php_version': php, 'db_name': row['db_name'], 'config': config,
            'https': https, 'constants': defined['constants'],
            'table_prefix': defined['table_prefix'], 'wp_version': site['wp_version'],
            'release': current, 'release_wp_version': release_version[0],
            'add_to_shared': [_named(kind, path) for kind, path in missing], 'missing': missing,
            'dropins': site['dropins'], 'backup_to': settings.backups_dir,
            'own_files': docroot_swap.own_files(docroot, releases.path(settings, current))}


def site_config_file(settings, domain):
    """The wp-config.php a standalone site uses: htdocs/ first, as wp-load.php looks."""
    for candidate in (os.path.join(layout.htdocs(settings, domain), 'wp-config.php'),
                      wp_config.path(settings, domain)):
        if os.path.islink(candidate):
            raise InvalidInput('{0} is a link: convert works on plain files'.format(candidate))
        if os.path.isfile(candidate):
            return candidate
    raise InvalidInput('{0} has no wp-config.php'.format(domain))


def check_core_not_newer(domain, site, release_version):
    wp_version, db_version = release_version
    if releases.is_newer(site['wp_version'], wp_version) or site['db_version'] > db_version:
        raise InvalidInput('{0} runs WordPress {1}, newer than the shared core\'s {2}'.format(
            domain, site['wp_version'], wp_version),
            'update the shared core first: wo multitenancy update')


def check_no_must_use_plugins(domain, docroot):
    folder = os.path.join(docroot, 'wp-content', 'mu-plugins')
    found = sorted(n for n in os.listdir(folder) if n.endswith('.php')) \
        if os.path.isdir(folder) else []
    if found:
        raise InvalidInput('{0} has must-use plugins: {1}'.format(domain, ', '.join(found)),
                           'in the shared set they would run on every site; make them regular '
                           'plugins or remove them, then convert')


def missing_from_shared(settings, domain, site):
    """[(kind, path in the site)] of what a standalone site uses (`site`: what inspect
    found) that the shared wp-content lacks: active plugins, its themes, its language
    files. One that the site lists but lacks itself, or a link, is refused."""
    content = os.path.join(layout.htdocs(settings, domain), 'wp-content')
    used = [('plugins', p.split('/')[0]) for p in site['plugins']] + \
           [('themes', t) for t in site['themes'] if t] + \
           [('languages', f) for f in _files_under(os.path.join(content, 'languages'))]
    missing = []
    for kind, name in used:
        if os.path.exists(os.path.join(settings.shared_content, kind, name)):
            continue
        source = os.path.join(content, kind, name)
        if not os.path.exists(source) or _holds_links(source):
            raise InvalidInput('{0} uses {1} {2}, but {3} is missing or holds links'.format(
                domain, kind[:-1] if kind != 'languages' else 'language file', name, source),
                'deactivate it or replace the links by files, then convert')
        if kind != 'languages':
            baseline.slug_of(source)  # a name the shared set can take
        missing.append((kind, source))
    return missing


def _holds_links(path):
    """Whether `path` is a link or a folder with links in it: copied into the shared set
    by root, a link could take another site's file or writable code along."""
    if os.path.islink(path):
        return True
    return any(os.path.islink(os.path.join(top, n))
               for top, dirs, files in os.walk(path) for n in dirs + files)


def _files_under(folder):
    """Paths of the files under `folder`, relative to it."""
    found = []
    for top, _, files in os.walk(folder):
        found += [os.path.relpath(os.path.join(top, f), folder) for f in files]
    return sorted(found)


def _named(kind, path):
    return '{0} {1}'.format('language file' if kind == 'languages' else kind[:-1],
                            path.split('/wp-content/{0}/'.format(kind), 1)[1])


def require_room_for_backup(settings, domain):
    needed = fs.disk_usage(settings.site_root(domain)) // (1024 * 1024) + settings.min_free_space
    free = fs.free_mb(settings.backups_dir)
    if free < needed:
        raise InvalidInput('the backup of {0} needs about {1} MB; {2} MB are free'.format(
            domain, needed, free), 'free some space on the disk holding ' + settings.backups_dir)
