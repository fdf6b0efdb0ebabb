"""Whether a standalone WordOps site can move onto the shared core, and the plan of
its conversion: pure checks, nothing changes. Each check raises InvalidInput naming
what stands in the way and what to do about it."""
import os
import re
import stat

from wo.multitenancy import (docroot_swap, fs, health, layout, nginx, phpfpm,
                             releases, site_files, sites, wordpress, wp_config)
from wo.multitenancy.errors import InvalidInput

_NAME = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.-]*\Z')  # a plugin or theme folder, a file


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
    site = check_report(domain, wordpress.task(settings, domain, php, 'inspect', core=docroot))
    current = releases.current(settings)
    release_version = releases.version(settings, current)
    check_core_not_newer(domain, site, release_version)
    if site['multisite']:
        raise InvalidInput('{0} is a multisite network'.format(domain))
    check_no_must_use_plugins(domain, docroot)
    check_uploads_in_place(settings, domain, site['upload_path'])
    missing = missing_from_shared(settings, domain, site)
    if missing and not force:
        raise InvalidInput('{0} uses what the shared set lacks: {1}'.format(
            domain, ', '.join(_named(kind, name) for kind, name in missing)),
            '--force adds its plugins and themes to the shared set from the release or '
            'wordpress.org, never the site\'s own copy, and converts it without its own '
            'language files (they would be every site\'s translations, and its scripts): '
            'add those from wordpress.org\'s language packs to the shared set yourself')
    check_site_dirs(settings, domain)
    sites.require_nothing_mounted(settings, domain, 'convert')
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
            'add_to_shared': [_named(k, n) for k, n in missing if k != 'languages'],
            'left_out': [_named(k, n) for k, n in missing if k == 'languages'],
            'missing': [(k, n) for k, n in missing if k != 'languages'],
            'dropins': site['dropins'], 'backup_to': settings.backups_dir,
            'own_files': docroot_swap.own_files(docroot, releases.path(settings, current))}


def check_report(domain, site):
    """`site`, what the site's WordPress reported about itself (the inspect task), if it
    has the shape that task prints; the site's own code ran, so it is checked."""
    shapes = {'wp_version': str, 'db_version': int, 'multisite': bool, 'plugins': list,
              'themes': list, 'dropins': list, 'upload_path': str}
    wrong = [k for k, kind in shapes.items() if not isinstance(site.get(k), kind)
             or (kind is int and isinstance(site[k], bool))]
    wrong += [k for k in ('plugins', 'dropins') if k not in wrong
              and not all(isinstance(v, str) for v in site[k])]
    if 'themes' not in wrong and not all(isinstance(v, str) or v is False for v in site['themes']):
        wrong.append('themes')
    if wrong:
        raise InvalidInput('{0}\'s WordPress reported {1} in a shape it does not have'.format(
            domain, ', '.join(wrong)), 'look at the site\'s must-use and drop-in code')
    return site


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


def check_uploads_in_place(settings, domain, upload_path):
    if layout.uploads_elsewhere(settings, domain, upload_path):
        raise InvalidInput('{0} keeps its uploads in {1} (its option upload_path): on the '
                           'shared core they live in its wp-content/uploads'.format(
                               domain, upload_path),
                           'move them into wp-content/uploads, empty the option (wp option '
                           'update upload_path "") and change the links to them in its '
                           'content (wp search-replace), then run the same convert again')


def check_no_must_use_plugins(domain, docroot):
    folder = os.path.join(docroot, 'wp-content', 'mu-plugins')
    found = sorted(n for n in os.listdir(folder) if n.endswith('.php')) \
        if os.path.isdir(folder) else []
    if found:
        raise InvalidInput('{0} has must-use plugins: {1}'.format(domain, ', '.join(found)),
                           'in the shared set they would run on every site; make them regular '
                           'plugins or remove them, then convert')


def missing_from_shared(settings, domain, site):
    """[(kind, name)] of what a standalone site uses (`site`: what inspect found) that the
    shared wp-content lacks: its active plugins and its themes (slugs), and its language
    files (paths under languages/, never copied: see conversion.add_to_shared). The
    names come from the site's database, so each must be a plain folder name
    (InvalidInput otherwise)."""
    used = [('plugins', _plugin_slug(domain, p)) for p in site['plugins']] + \
           [('themes', _plain_name(domain, 'theme', t)) for t in site['themes'] if t] + \
           [('languages', f) for f in _language_files(layout.htdocs(settings, domain))]
    return [(kind, name) for kind, name in used
            if not _in_shared(os.path.join(settings.shared_content, kind), kind, name)]


def _plugin_slug(domain, plugin):
    """'akismet' of 'akismet/akismet.php', 'hello' of 'hello.php'."""
    folder = plugin.split('/')[0]
    if '/' not in plugin and folder.endswith('.php'):
        folder = folder[:-len('.php')]
    return _plain_name(domain, 'plugin', folder)


def _plain_name(domain, kind, name):
    """`name` if it is a plain folder name; .php and .zip endings are refused too (the
    shared set would take them for a file or an archive to unpack)."""
    if not _NAME.match(name) or '..' in name or name.endswith(('.php', '.zip')):
        raise InvalidInput('{0} names an active {1} {2!r}, which is not a plain folder name'
                           .format(domain, kind, name),
                           'a site names its plugins and themes in its database: fix the '
                           'name there, or deactivate it, then convert')
    return name


def _in_shared(folder, kind, name):
    candidates = [name] if kind == 'languages' else [name, name + '.php']
    return any(os.path.lexists(os.path.join(folder, c)) for c in candidates)


def _language_files(docroot):
    """The files of a site's languages/, relative to it."""
    folder = os.path.join(docroot, 'wp-content', 'languages')
    return sorted(os.path.relpath(os.path.join(top, name), folder)
                  for top, _, files in os.walk(folder) for name in files)


def check_site_dirs(settings, domain):
    """nginx includes a site's conf/nginx/*.conf as root: after the conversion only root
    may change conf/ and logs/, so each must be a real directory, conf/ hold no link (it
    would keep pointing at what the site controls) and neither a hard link (taking it
    would copy what it links to; site_files.take_tree refuses it). Walked without
    following a link: the site still owns them."""
    root = settings.site_root(domain)
    for name in ('conf', 'logs'):
        path = os.path.join(root, name)
        if os.path.islink(path):
            raise InvalidInput('{0} is a link'.format(path),
                               'make it a directory of its own, then convert')
        if not os.path.isdir(path):
            continue
        with site_files.opened_dir(settings.sites_root, os.path.join(domain, name)) as fd:
            for dir_fd, where, _, others in site_files.walk(fd, path):
                for entry in others:
                    _check_site_dir_entry(dir_fd, os.path.join(where, entry), name == 'conf')


def _check_site_dir_entry(dir_fd, path, links_refused):
    try:
        st = os.stat(os.path.basename(path), dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:  # gone meanwhile
        return
    if links_refused and stat.S_ISLNK(st.st_mode):
        raise InvalidInput('{0} is a link'.format(path),
                           'replace it by the file it points to, then convert')
    if stat.S_ISREG(st.st_mode) and st.st_nlink > 1:
        raise InvalidInput('{0} is a hard link'.format(path),
                           'replace it by a copy of its own, then convert')


def _named(kind, name):
    return '{0} {1}'.format('language file' if kind == 'languages' else kind[:-1], name)


def require_room_for_backup(settings, domain):
    needed = fs.disk_usage(settings.site_root(domain)) // (1024 * 1024) + settings.min_free_space
    free = fs.free_mb(settings.backups_dir)
    if free < needed:
        raise InvalidInput('the backup of {0} needs about {1} MB; {2} MB are free'.format(
            domain, needed, free), 'free some space on the disk holding ' + settings.backups_dir)
