"""The files of one site on the shared core, under <sites_root>/<domain>/.

    wp-config.php          the site's configuration (wp_config.py)
    htdocs/wp              -> <shared_root>/current
    htdocs/.wo-mt-entry.php  the one entry stub (php/site-entry.php), hard-linked as
                           index.php, wp-*.php, xmlrpc.php and wp-admin/**/*.php
    htdocs/wp-includes, wp-admin/{css,js,images,includes}  -> wp/...
    htdocs/wp-content/     root's; uploads/ and cache/ in it are the site PHP's,
                           plugins, themes, mu-plugins, languages -> shared
    logs/                  links to /var/log/nginx/<domain>.*.log, as WordOps does
    conf/nginx/            the site's extra nginx includes (ssl.conf ...)
    tmp/{uploads,sessions}/  a sovereign site's PHP's temporary files, its alone

The site's PHP is the web user's, or a sovereign site's own user's (pools.php_user).
"""
import os

from wo.multitenancy import fs, pools, releases, site_files
from wo.multitenancy.errors import MTError

HERE = os.path.dirname(__file__)
SHARED_DIRS = ('plugins', 'themes', 'mu-plugins', 'languages')
ENTRY_STUB = '.wo-mt-entry.php'
ADMIN_ASSET_DIRS = ('css', 'js', 'images', 'includes')  # no entry points: one link each
OWN_DIRS = ('uploads', 'cache')
_PHP_TRIM = ' \t\n\r\0\x0b'  # what PHP's trim() strips, as wp_upload_dir() does


def htdocs(settings, domain):
    return os.path.join(settings.site_root(domain), 'htdocs')


def uploads_elsewhere(settings, domain, upload_path):
    """Whether WordPress, given option `upload_path`, keeps the site's uploads anywhere
    but its wp-content/uploads, the one place of them this layout makes its own (and a
    sovereign site's user may write), in a form that names it alone (no `..`, no link
    on the way): a relative path is relative to the core, the shared one once converted
    (wp_upload_dir)."""
    own = os.path.join(htdocs(settings, domain), 'wp-content', 'uploads')
    return upload_path.strip(_PHP_TRIM) not in ('', 'wp-content/uploads', own, own + '/')


def build(settings, domain, changes):
    """Create the site's tree; undone by removing it.

    Raises MTError when the site root exists: what someone else made is
    never taken over, nor removed by the undo.
    """
    root = settings.site_root(domain)
    fs.create_dir(root)
    changes.on_failure('remove ' + root, lambda: fs.remove(root))
    fs.make_dir(os.path.join(root, 'conf', 'nginx'))
    fs.make_dir(os.path.join(root, 'logs'))
    for kind in ('access', 'error'):
        fs.symlink('/var/log/nginx/{0}.{1}.log'.format(domain, kind),
                   os.path.join(root, 'logs', kind + '.log'))
    user = pools.php_user(settings, domain)
    fill_docroot(settings, htdocs(settings, domain), own_dirs(settings, user))
    if pools.sovereign(settings, domain):
        pools.make_temp_dirs(settings, domain)


def own_dirs(settings, php_user):
    """(uid, gid, mode) of a site's uploads/ and cache/ for its PHP user: the web user's
    0755, or a sovereign site's user's with nginx's group 0750 (nginx serves them, no
    other site's PHP lists or reads them)."""
    if php_user == settings.web_user:
        return fs.ids((php_user, php_user)) + (0o755,)
    return fs.ids((php_user, settings.socket_group)) + (0o750,)


def fill_docroot(settings, docroot, own=None):
    """Make `docroot` a document root on the shared core: the core linked, wp-content
    root's with the shared plugins, themes, mu-plugins and languages linked in, and
    empty uploads/ and cache/ as `own` says (layout.own_dirs; default: the web user's)."""
    uid, gid, mode = own or own_dirs(settings, settings.web_user)
    fs.make_dir(docroot)
    _link_docroot(settings, docroot)
    # wp-content stays root's: a drop-in (db.php, object-cache.php) is code, and a
    # shared site runs as the same web user as every other.
    content = os.path.join(docroot, 'wp-content')
    fs.make_dir(content)
    for name in SHARED_DIRS:
        fs.symlink(os.path.join(settings.shared_content, name), os.path.join(content, name))
    for name in OWN_DIRS:
        fs.make_dir_ids(os.path.join(content, name), mode, (uid, gid))


def install_mu_plugin(settings, source):
    """Put our MU-plugin `source` (a php/ file) into the shared mu-plugins, where every
    site loads it, unless it is there already as it is."""
    with open(source, encoding='utf-8') as f:
        fs.write_if_changed(os.path.join(settings.shared_content, 'mu-plugins',
                                         os.path.basename(source)), f.read())


def take_site_dirs(settings, domain):
    """Make the site's conf/ (nginx includes conf/nginx/*.conf as root) and logs/ root's
    alone, as a created site's are, and conf/nginx/ present. WordOps made them the web
    user's; so did the conversions of earlier versions of this plugin. A tree already
    root's is left as it is. Raises MTError (site_files.take_tree) for a link in conf/,
    or conf/ or logs/ that is a link."""
    root = settings.site_root(domain)
    for name, keep_links in (('conf', False), ('logs', True)):
        path = os.path.join(root, name)
        if os.path.lexists(path) and not site_files.roots_alone(path):
            site_files.take_tree(path, keep_links)
    fs.make_dir(os.path.join(root, 'conf', 'nginx'))


def link_core(settings, domain, release=None):
    """Link the site's document root to the shared core: to `current` (idempotent), or,
    for a canary, pinned to release `release` alone."""
    _link_docroot(settings, htdocs(settings, domain), release)


def _link_docroot(settings, docroot, release=None):
    """PHP entry points become hard links of one stub that resolves the core per
    request; everything else is a link into wp/. `docroot` must be a directory of root's
    (root writes in it by path)."""
    if not site_files.roots_alone(docroot):
        raise MTError('{0} is not a directory only root may change: it is not linked to the '
                      'shared core'.format(docroot), 'see wo multitenancy status')
    target = releases.path(settings, release) if release else settings.current_link
    fs.symlink(target, os.path.join(docroot, 'wp'))
    stub = os.path.join(docroot, ENTRY_STUB)
    fs.write_file(stub, _read('php', 'site-entry.php'))
    release_dir = releases.path(settings, release or releases.current(settings))
    for entry in ['index.php'] + releases.core_entries(release_dir):
        _link_entry(release_dir, docroot, entry, stub)


def _link_entry(release_dir, docroot, entry, stub):
    """Mirror release entry `entry` under docroot: a PHP file is the stub, a directory
    holding PHP entry points (wp-admin and its network/, user/, maint/) is a real
    directory mirrored the same way, anything else a link into wp/."""
    source, here = os.path.join(release_dir, entry), os.path.join(docroot, entry)
    if entry.endswith('.php'):
        fs.hard_link(stub, here)
    elif entry.split('/')[0] == 'wp-admin' and os.path.isdir(source) and \
            entry.split('/')[-1] not in ADMIN_ASSET_DIRS:
        fs.replace_with_dir(here)
        for name in sorted(os.listdir(source)):
            _link_entry(release_dir, docroot, entry + '/' + name, stub)
    else:
        depth = entry.count('/')
        fs.symlink(os.path.join('../' * depth + 'wp', entry), here)


def pinned_release(settings, domain):
    """The release a canary site is pinned to, or None when it follows `current`."""
    target = os.readlink(os.path.join(htdocs(settings, domain), 'wp'))
    return None if target == settings.current_link else os.path.basename(target)


def own_disk_usage(settings, domain):
    """Bytes the site itself uses on disk, uploads not counted."""
    root = settings.site_root(domain)
    uploads = os.path.join(htdocs(settings, domain), 'wp-content', 'uploads')
    return fs.disk_usage(root) - fs.disk_usage(uploads)


def _read(*parts):
    with open(os.path.join(HERE, *parts), encoding='utf-8') as f:
        return f.read()
