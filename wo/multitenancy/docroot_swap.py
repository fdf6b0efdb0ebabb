"""Moving a site's document root between the standalone layout (`wo site create --wp`:
its own copy of the core in htdocs/) and the shared-core layout (layout.py), with no
moment in which the site does not answer.

The new document root is built beside the old one, at <site>/.htdocs.mt-swap; one
renameat2(RENAME_EXCHANGE) swaps the two, so .htdocs.mt-swap then holds the old one.
The site's own files (uploads/, cache/, robots.txt and anything else that is neither
WordPress nor shared) follow by rename right after (same filesystem: no copy), and the
old tree is removed once the command is done with it. Which steps are done can be read
off the files alone, so a run killed anywhere is finished by the next one.
"""
import os
import stat

from wo.multitenancy import fs, layout, shared_items, site_files
from wo.multitenancy.errors import MTError

SWAP = '.htdocs.mt-swap'
# In a document root: what belongs to WordPress or to our layout, not to the site.
OURS = ('wp', layout.ENTRY_STUB, 'wp-config.php', 'wp-content')
# In wp-content: code (shared, or drop-ins copied when the tree is built) and scratch.
NOT_OWN_CONTENT = layout.SHARED_DIRS + ('upgrade', 'index.php')
# WordPress' drop-ins (_get_dropins()): the only wp-content/*.php files copied over.
DROPINS = ('advanced-cache.php', 'db.php', 'db-error.php', 'install.php', 'maintenance.php',
           'object-cache.php', 'php-error.php', 'fatal-error-handler.php')


def swap_dir(settings, domain):
    return os.path.join(settings.site_root(domain), SWAP)


def is_shared(settings, docroot):
    """Whether `docroot` is laid out on the shared core: a directory of root's whose `wp`
    links to the core (`current`, or a release for a canary). A link named wp that a
    site makes in a tree of its own is not that."""
    try:
        st = os.lstat(docroot)
        target = os.readlink(os.path.join(docroot, 'wp'))
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode) and st.st_uid == 0 and (
        target == settings.current_link or os.path.dirname(target) == settings.releases_dir)


def uploads(docroot):
    return os.path.join(docroot, 'wp-content', 'uploads')


def own_files(docroot, release_dir):
    """Paths, relative to `docroot`, of the site's own files there: the top-level
    entries that are not WordPress' (robots.txt, a verification file ...) and what in
    wp-content is neither code nor a shared folder (uploads/, cache/, gallery/ ...)."""
    if not os.path.isdir(docroot):
        return []
    core = set(os.listdir(release_dir)) | set(OURS)
    found = [n for n in sorted(os.listdir(docroot)) if n not in core and not n.startswith('.mt-')]
    content = os.path.join(docroot, 'wp-content')
    if os.path.isdir(content) and not os.path.islink(content):
        found += ['wp-content/' + n for n in sorted(os.listdir(content))
                  if n not in NOT_OWN_CONTENT and not _is_dropin(content, n)]
    return found


def discard_unswapped(settings, domain):
    """Remove a tree built beside the site by a run that stopped before the swap. It
    never holds uploads (they move only after the swap); if it does, it is left alone."""
    spare = swap_dir(settings, domain)
    if os.path.islink(spare) or os.path.isfile(spare):  # planted by the site, not ours
        os.unlink(spare)
    if not os.path.isdir(spare):
        return
    if _holds_uploads(spare):
        raise MTError('{0} holds uploads: a stopped run left it, and it is not ours to remove'
                      .format(spare), 'move its wp-content/uploads back by hand, then run again')
    remove_old(settings, domain)


def build_shared(settings, domain, dropins):
    """Build the shared-core document root beside the site, with root's copies of the
    site's drop-ins (`dropins`: names in its wp-content, such as object-cache.php)."""
    spare = swap_dir(settings, domain)
    layout.fill_docroot(settings, spare)
    _copy_dropins(settings, domain, dropins)


def build_standalone(settings, domain, release_dir, dropins):
    """Build a standalone document root beside the site: a copy of `release_dir` (the
    core) whose wp-content holds copies of the shared plugins, themes and languages and
    the site's drop-ins, all the web user's, as WordOps lays a site out."""
    spare = swap_dir(settings, domain)
    fs.copy_tree(release_dir, spare)
    fs.remove(os.path.join(spare, 'wp-config.php'))  # the release's router
    content = os.path.join(spare, 'wp-content')
    for name in ('plugins', 'themes', 'languages'):
        fs.remove(os.path.join(content, name))
        if os.path.isdir(os.path.join(settings.shared_content, name)):
            shared_items.copy_set(settings, name, os.path.join(content, name))
    fs.make_dir(uploads(spare))
    _copy_dropins(settings, domain, dropins)
    site_files.give_tree(spare, fs.ids((settings.web_user, settings.web_user)))


def swap(settings, domain):
    """Exchange the site's document root and the tree beside it."""
    fs.exchange(swap_dir(settings, domain), layout.htdocs(settings, domain))


def swap_back(settings, domain, to_shared):
    """Undo of a swap that went `to_shared` (or to standalone): exchange again only if
    the document root is laid out as that swap left it (a failed swap changed nothing)."""
    if is_shared(settings, layout.htdocs(settings, domain)) == to_shared and \
            os.path.isdir(swap_dir(settings, domain)):
        swap(settings, domain)


def move_own_files(settings, domain, release_dir, moved):
    """Move the site's own files from the tree beside it (the old document root) into
    the document root, each over an empty placeholder if there is one; appends each to
    `moved` as it goes. What moved already is not looked at again. No link in either
    tree is followed (site_files.move)."""
    root = settings.site_root(domain)
    for name in own_files(swap_dir(settings, domain), release_dir):
        site_files.move(root, os.path.join(SWAP, name), os.path.join('htdocs', name))
        moved.append(name)


def move_back(settings, domain, moved):
    """Undo of move_own_files: the files in `moved` back into the tree beside the site."""
    root = settings.site_root(domain)
    for name in reversed(moved):
        if site_files.exists(root, os.path.join('htdocs', name)):
            site_files.move(root, os.path.join('htdocs', name), os.path.join(SWAP, name))


def remove_spare(settings, domain, shared):
    """Remove the tree beside the site if it is laid out as `shared` says and holds no
    uploads (the undo of a build must never take the site's old document root)."""
    spare = swap_dir(settings, domain)
    if os.path.isdir(spare) and is_shared(settings, spare) == shared and not _holds_uploads(spare):
        remove_old(settings, domain)


def remove_old(settings, domain):
    """Remove the tree beside the site. It may be the site's (its old document root, one
    it planted): first it is moved into a directory of root's made for it alone (0700,
    a fresh name), so the site can no longer reach it while it is removed."""
    root = settings.site_root(domain)
    if not site_files.exists(root, SWAP):
        return
    away = site_files.make_private_dir(root, '.mt-removing-')
    site_files.move(root, SWAP, os.path.join(away, SWAP))
    site_files.remove_tree(os.path.join(root, away))


def _holds_uploads(tree):
    """Whether `tree` has a wp-content/uploads with something in it (no link followed)."""
    steps = (tree, os.path.join(tree, 'wp-content'), uploads(tree))
    return all(os.path.isdir(p) and not os.path.islink(p) for p in steps) \
        and bool(os.listdir(uploads(tree)))


def _is_dropin(content, name):
    return name.endswith('.php') and os.path.isfile(os.path.join(content, name))


def _copy_dropins(settings, domain, dropins):
    """Root's copies, in the tree beside the site, of its drop-ins (`dropins`: names the
    site reported, so only WordPress' own drop-in names, each a plain file, are taken)."""
    root = settings.site_root(domain)
    for name in dropins:
        if name not in DROPINS:
            raise MTError('{0} reports a drop-in {1!r}, which is not one of WordPress\''
                          .format(domain, name))
        source = os.path.join('htdocs', 'wp-content', name)
        if site_files.exists(root, source):
            fs.write_bytes(os.path.join(swap_dir(settings, domain), 'wp-content', name),
                           site_files.read_file(root, source))
