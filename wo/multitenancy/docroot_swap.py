"""Moving a site's document root between the standalone layout (`wo site create --wp`:
its own copy of the core in htdocs/) and the shared-core layout (layout.py), with no
moment in which the site does not answer.

The new document root is built beside the old one, at <site>/.htdocs.mt-swap; one
renameat2(RENAME_EXCHANGE) swaps the two, so .htdocs.mt-swap then holds the old one.
uploads/ follows by rename right after (same filesystem: no copy), and the old tree
is removed once the command is done with it. Which steps are done can be read off the
files alone, so a run killed anywhere is finished by the next one.
"""
import os

from wo.multitenancy import fs, layout
from wo.multitenancy.errors import MTError

SWAP = '.htdocs.mt-swap'
DROPIN_SUFFIX = '.php'


def swap_dir(settings, domain):
    return os.path.join(settings.site_root(domain), SWAP)


def is_shared(docroot):
    """Whether `docroot` is laid out on the shared core (its `wp` is the core link)."""
    return os.path.islink(os.path.join(docroot, 'wp'))


def uploads(docroot):
    return os.path.join(docroot, 'wp-content', 'uploads')


def discard_unswapped(settings, domain):
    """Remove a tree built beside the site by a run that stopped before the swap. It
    never holds uploads (they move only after the swap); if it does, it is left alone."""
    spare = swap_dir(settings, domain)
    if not os.path.isdir(spare):
        return
    if os.path.isdir(uploads(spare)) and os.listdir(uploads(spare)):
        raise MTError('{0} holds uploads: a stopped run left it, and it is not ours to remove'
                      .format(spare), 'move its wp-content/uploads back by hand, then run again')
    fs.remove(spare)


def build_shared(settings, domain, dropins):
    """Build the shared-core document root beside the site, with copies of the site's
    drop-ins (`dropins`: names in its wp-content, such as object-cache.php)."""
    spare = swap_dir(settings, domain)
    layout.fill_docroot(settings, spare)
    _copy_dropins(layout.htdocs(settings, domain), spare, dropins)


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
            fs.copy_tree(os.path.join(settings.shared_content, name), os.path.join(content, name))
    fs.make_dir(uploads(spare))
    _copy_dropins(layout.htdocs(settings, domain), spare, dropins)
    fs.give_tree(spare, (settings.web_user, settings.web_user))


def swap(settings, domain):
    """Exchange the site's document root and the tree beside it."""
    fs.exchange(swap_dir(settings, domain), layout.htdocs(settings, domain))


def move_uploads(settings, domain):
    """Move uploads/ from the tree beside the site (the old document root) into the
    document root, over its empty placeholder. Done already: nothing happens."""
    source, target = uploads(swap_dir(settings, domain)), uploads(layout.htdocs(settings, domain))
    if not os.path.isdir(source):
        return
    if os.path.isdir(target) and not os.listdir(target):
        os.rmdir(target)
    if os.path.exists(target):
        raise MTError('{0} is not empty: uploads arrived while the site moved'.format(target),
                      'merge them into {0} by hand, remove {1}, then run again'.format(source, target))
    fs.rename(source, target)


def move_uploads_back(settings, domain):
    """Undo of move_uploads: uploads/ back into the tree beside the site."""
    source, target = uploads(layout.htdocs(settings, domain)), uploads(swap_dir(settings, domain))
    if os.path.isdir(source) and not os.path.exists(target):
        fs.rename(source, target)
        fs.make_dir(source, owner=(settings.web_user, settings.web_user))


def remove_old(settings, domain):
    fs.remove(swap_dir(settings, domain))


def _copy_dropins(docroot, spare, dropins):
    for name in dropins:
        source = os.path.join(docroot, 'wp-content', name)
        if os.path.isfile(source) and name.endswith(DROPIN_SUFFIX) and '/' not in name:
            fs.copy_file(source, os.path.join(spare, 'wp-content', name))
