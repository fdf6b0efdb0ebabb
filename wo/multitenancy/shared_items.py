"""Versions of the shared plugins and themes on disk, kept as core releases are.

    <shared_content>/.versions/<kind>/<slug>/<version>/   one version, root's, read-only
    <shared_content>/<kind>/<slug>  -> ../.versions/<kind>/<slug>/<version>, the one in use
    <shared_content>/.canary/<kind>/  the set a canary site sees while a version is proven

Every site reaches a plugin or theme through <kind>/<slug>, so moving that link in one
rename moves every site. But OPcache (revalidate_path off, as PHP ships it) answers an
include of a path it has seen with the script it compiled then, without looking at the
disk again, and it checks that script's file only by its mtime (in seconds). So every
file of a version gets the second it was staged, later than any kept before, and the
caller drops the version a site leaves from OPcache (item_switching.py) once its link
has moved: the next include resolves the path anew.

A plugin or theme still a plain directory there (what `baseline` and `init` put in
place) is adopted first: copied into its version, then exchanged with a link to it.
"""
import os
import re
import time

from wo.multitenancy import fs, sources
from wo.multitenancy.errors import InvalidInput, MTError

KINDS = ('plugins', 'themes')
DOWNLOAD = {'plugins': 'https://downloads.wordpress.org/plugin/{0}.{1}.zip',
            'themes': 'https://downloads.wordpress.org/theme/{0}.{1}.zip'}
_SLUG = re.compile(r'^[a-z0-9][a-z0-9_.-]*\Z')
_VERSION = re.compile(r'^[0-9A-Za-z][0-9A-Za-z._+-]{0,63}\Z')
_HEADER = {'plugins': 'Plugin Name', 'themes': 'Theme Name'}


def check_slug(kind, slug):
    if not _SLUG.match(slug or '') or slug.endswith(('.php', '.zip')) or '.mt-' in slug:
        raise InvalidInput('{0!r} is not a {1} slug'.format(slug, kind[:-1]),
                           'name it as its folder in the shared wp-content/{0}'.format(kind))


def check_source(source):
    """Refuse a --source that is not a .zip, a folder or an http(s) URL."""
    if source is None or sources.is_url(source) or os.path.isdir(source) or \
            source.endswith('.zip') and os.path.isfile(source):
        return
    raise InvalidInput('--source {0}: not a .zip, a folder or an http(s) URL'.format(source),
                       'give the plugin\'s or theme\'s .zip (as wordpress.org ships it), '
                       'its unpacked folder, or a URL')


def slugs(settings, kind):
    """The plugins or themes of the shared set that are folders (a one-file plugin such
    as hello.php has no versions)."""
    folder = os.path.join(settings.shared_content, kind)
    names = os.listdir(folder) if os.path.isdir(folder) else []
    return sorted(n for n in names if _SLUG.match(n) and not n.endswith('.php')
                  and '.mt-' not in n and os.path.isdir(os.path.join(folder, n)))


def require_shared(settings, kind, slug):
    """Raises InvalidInput unless `slug` is a folder of the shared set."""
    check_slug(kind, slug)
    if slug not in slugs(settings, kind):
        raise InvalidInput('{0} {1} is not in the shared set'.format(kind[:-1], slug),
                           'add it with wo multitenancy baseline --add-{0} {1}; shared now: {2}'
                           .format(kind[:-1], slug, ', '.join(slugs(settings, kind)) or 'none'))


def link_path(settings, kind, slug):
    return os.path.join(settings.shared_content, kind, slug)


def version_path(settings, kind, slug, version):
    return os.path.join(settings.shared_content, '.versions', kind, slug, version)


def kept(settings, kind, slug):
    """The versions kept of `slug`, oldest first (by version number)."""
    folder = os.path.dirname(version_path(settings, kind, slug, 'x'))
    names = os.listdir(folder) if os.path.isdir(folder) else []
    return sorted((n for n in names if _VERSION.match(n)), key=version_key)


def version_key(version):
    """Orders '1.10' after '1.9', '2.0' after '2.0-beta' and before '2.0.1', as PHP's
    version_compare does for the versions plugins name."""
    parts = [(1, int(p), '') if p.isdigit() else (0, 0, p) for p in re.split(r'[._+-]', version)]
    return parts + [(0.5, 0, '')]


def in_use(settings, kind, slug):
    """The version every site runs, or None while `slug` is not adopted yet."""
    link = link_path(settings, kind, slug)
    if not os.path.islink(link):
        return None
    return os.path.basename(os.readlink(link))


def plain_version(text):
    """Whether `text` is a version name (what a Version: header may say, and a folder of
    a kept version is named)."""
    return bool(_VERSION.match(text or ''))


def due_updates(settings, kind, pins):
    """([(slug, version)] of the shared plugins (or themes) to update: those `pins`
    ({slug: version}) name another version than the one in use, and those wordpress.org
    offers a newer version of; {slug: why} of those it cannot update: one wordpress.org
    has none of (your own) or has closed, pinned or not, or whose version cannot be
    told). Raises MTError when wordpress.org does not answer."""
    newer, left = [], {}
    for slug in slugs(settings, kind):
        try:
            used = version_in_use(settings, kind, slug)
        except MTError as e:
            left[slug] = e.message
            continue
        updater = _update_uri(link_path(settings, kind, slug), kind)
        if updater:
            left[slug] = 'its Update URI {0!r} names another updater than wordpress.org'.format(updater)
            continue
        offered = sources.latest_item_version(kind, slug)
        if offered == sources.CLOSED:  # pinned or not: its users should know
            left[slug] = 'closed on wordpress.org (often for a security problem): replace or remove it'
        elif offered is None:
            left[slug] = 'wordpress.org has no {0} of that name'.format(kind[:-1])
        elif slug in pins:
            newer += [(slug, pins[slug])] if pins[slug] != used else []
        elif not plain_version(offered):
            left[slug] = 'wordpress.org names version {0!r}, which is none'.format(offered)
        elif version_key(offered) > version_key(used):
            newer.append((slug, offered))
    return newer, left


def _update_uri(directory, kind):
    """The Update URI its main file declares when it names a host other than wordpress.org
    (WordPress 5.8 and later then leave it to that updater: a premium plugin in a folder
    named as a free one, say), else None."""
    mains = main_files(directory, kind)
    uri = _header(os.path.join(directory, mains[0]), 'Update URI') if mains else None
    host = re.sub(r'^[a-z]+://', '', (uri or '').lower()).split('/')[0]
    return uri if uri and host not in ('w.org', 'wordpress.org') else None


def version_in_use(settings, kind, slug):
    """The version every site runs: the one linked, or what a folder not adopted yet
    declares (MTError when it declares none)."""
    return in_use(settings, kind, slug) or header_version(link_path(settings, kind, slug), kind)


def header_version(directory, kind):
    """The Version: its main file (a plugin) or style.css (a theme) declares. Raises
    MTError when there is no such file or no usable version in it."""
    mains = main_files(directory, kind)
    if not mains:
        raise MTError('{0} holds no {1}: no file with a "{2}:" header'.format(
            directory, kind[:-1], _HEADER[kind]), 'give the {0}\'s .zip or folder'.format(kind[:-1]))
    version = _header(os.path.join(directory, mains[0]), 'Version')
    if not plain_version(version):
        raise MTError('{0}/{1} names no usable Version: ({2!r})'.format(directory, mains[0], version))
    return version


def main_files(directory, kind):
    """The files WordPress takes for the plugin's (or theme's) head: top-level .php files
    with a Plugin Name: header, or style.css with a Theme Name:."""
    candidates = ['style.css'] if kind == 'themes' else sorted(
        n for n in os.listdir(directory) if n.endswith('.php'))
    return [n for n in candidates if os.path.isfile(os.path.join(directory, n))
            and not os.path.islink(os.path.join(directory, n))
            and _header(os.path.join(directory, n), _HEADER[kind])]


def _header(path, name):
    """A header field as WordPress' get_file_data reads it: in the first 8 KB."""
    with open(path, encoding='utf-8', errors='replace') as f:
        found = re.search(r'^[ \t/*#@]*' + re.escape(name) + r':(.*)$', f.read(8192),
                          re.MULTILINE | re.IGNORECASE)
    return found.group(1).strip() if found else None


def adopt(settings, kind, slug, forget):
    """Turn a plugin or theme kept as a plain folder into a version and a link to it;
    returns the version in use. Sites see the same files before and after. forget(dir)
    drops what PHP compiled from the folder: once it is a link, a path under it names
    the version's file, and OPcache could not find the folder's scripts by it."""
    link = link_path(settings, kind, slug)
    fs.remove(link + '.mt-adopt')  # what an adoption killed after its exchange left
    current = in_use(settings, kind, slug)
    if current:
        return current
    version = header_version(link, kind)
    target = version_path(settings, kind, slug, version)
    fs.make_dir(os.path.dirname(target))
    fs.remove(target)  # a copy an interrupted adoption left
    try:
        fs.copy_plain_tree(link, target)
    except MTError:
        fs.remove(target)
        raise
    fs.lock_down(target, stamp=_new_stamp(settings, kind, slug))
    beside = link + '.mt-adopt'
    fs.symlink(_relative_target(kind, slug, version), beside)
    forget(link)
    fs.exchange(beside, link)  # the folder and the link change places: never nothing there
    fs.remove(beside)
    return version


def stage(settings, kind, slug, source, version, changes):
    """Stage `slug` from `source` (a .zip, a folder, a URL; None: wordpress.org, at
    `version` or its latest) as a kept version; returns (version, whether it is new).
    A version kept already is not staged twice. Raises MTError when the download or
    the tree is bad; nothing is left behind then."""
    parent = os.path.dirname(version_path(settings, kind, slug, 'x'))
    fs.make_dir(parent)
    scratch = sources.scratch_dir(parent)
    try:
        tree = _unpacked(kind, slug, source, version, scratch)
        staged = header_version(tree, kind)
        if version and staged != version:
            raise MTError('{0} {1} from {2} is version {3}, not {4}'.format(
                kind[:-1], slug, source or 'wordpress.org', staged, version))
        if source is None:
            _check_same_item(settings, kind, slug, tree)
        if source is None and kind == 'plugins':
            check_published_sums(tree, sources.plugin_checksums(slug, staged))
        target = version_path(settings, kind, slug, staged)
        if os.path.isdir(target):
            return staged, False
        _check_replaces(settings, kind, slug, tree)
        fs.lock_down(tree, stamp=_new_stamp(settings, kind, slug))
        changes.on_failure('remove {0} {1} {2}'.format(kind[:-1], slug, staged),
                           lambda: in_use(settings, kind, slug) == staged or fs.remove(target))
        fs.rename(tree, target)
        return staged, True
    finally:
        fs.remove(scratch)


def check_published_sums(tree, published):
    """Raises MTError unless the files of `tree` are exactly those `published`
    ({path: [sha256, ...]}, sources.plugin_checksums) with those contents."""
    found = {}
    for top, _, files in os.walk(tree):
        for name in files:
            path = os.path.join(top, name)
            found[os.path.relpath(path, tree)] = fs.sha256(path)
    wrong = sorted(p for p, digest in found.items() if digest not in published.get(p, ()))
    missing = sorted(set(published) - set(found))
    if wrong or missing:
        raise MTError('the download does not match the checksums wordpress.org publishes: {0}'
                      .format(', '.join(['changed or unknown: ' + p for p in wrong[:5]] +
                                        ['missing: ' + p for p in missing[:5]])),
                      'the download is damaged or was tampered with; nothing was changed')


def _unpacked(kind, slug, source, version, scratch):
    """The folder of the plugin or theme `source` holds, unpacked under `scratch`."""
    if source is None:
        source = DOWNLOAD[kind].format(slug, version or 'latest-stable')
    if sources.is_url(source):
        source = sources.download(source, scratch)
    tree = os.path.join(scratch, 'tree')
    if os.path.isdir(source):
        fs.copy_plain_tree(_single_top(source, slug, kind), tree)
    elif source.endswith('.zip') and os.path.isfile(source):
        unzipped = os.path.join(scratch, 'unzipped')
        fs.extract_archive(source, unzipped)
        fs.copy_plain_tree(_single_top(unzipped, slug, kind), tree)
    else:
        raise InvalidInput('--source {0}: not a .zip, a folder or a URL'.format(source))
    return tree


def _single_top(folder, slug, kind):
    """The plugin's folder: `folder` itself when it holds the plugin, else its one
    subfolder (a wordpress.org .zip holds <slug>/)."""
    if main_files(folder, kind):
        return folder
    entries = [e for e in os.listdir(folder) if os.path.isdir(os.path.join(folder, e))]
    if len(entries) == 1 and not os.path.islink(os.path.join(folder, entries[0])):
        return os.path.join(folder, entries[0])
    raise MTError('{0} does not hold the {1} {2}: no "{3}:" header at its top or in its one '
                  'folder'.format(folder, kind[:-1], slug, _HEADER[kind]))


def _check_replaces(settings, kind, slug, tree):
    """A new version must keep the main files of the one in use: sites name a plugin by
    its main file ('akismet/akismet.php'), and WordPress deactivates one it cannot find."""
    link = link_path(settings, kind, slug)
    if not os.path.isdir(link):
        return
    lost = sorted(set(main_files(link, kind)) - set(main_files(tree, kind)))
    if lost:
        raise MTError('the new {0} {1} has no {2}: the sites using it would lose it'.format(
            kind[:-1], slug, ', '.join(lost)), 'nothing was switched')


def _check_same_item(settings, kind, slug, tree):
    """wordpress.org's plugin (or theme) `slug` must be the one in use: one of its name,
    author, their addresses (Plugin URI or Theme URI, Author URI) the same. Any may change
    in a new version, seldom all (a plugin may rename itself and its author in one
    release and keep its addresses); a folder named as one on wordpress.org may hold
    another (your own, or a premium one that names no Update URI), which wordpress.org's
    would replace on every site."""
    link = link_path(settings, kind, slug)
    mains = [main_files(d, kind) if os.path.isdir(d) else [] for d in (link, tree)]
    if not all(mains):
        return
    fields = (_HEADER[kind], 'Author', _HEADER[kind].split()[0] + ' URI', 'Author URI')
    heads = [{f: _header(os.path.join(d, m[0]), f) or '' for f in fields}
             for d, m in zip((link, tree), mains)]
    same = [f for f in fields if heads[0][f] and
            heads[0][f].lower().rstrip('/') == heads[1][f].lower().rstrip('/')]
    if not same:
        raise MTError("wordpress.org's {0} {1} ({2} by {3}) is not the one in use ({4} by {5})"
                      .format(kind[:-1], slug, heads[1][fields[0]] or '?', heads[1]['Author'] or '?',
                              heads[0][fields[0]] or '?', heads[0]['Author'] or '?'),
                      'nothing was switched; keep it as it is with wo multitenancy baseline '
                      '--pin-{0} {1}=VERSION, or give its own --source'.format(kind[:-1], slug))


def require_runs_on(settings, kind, slug, version, php_versions, wp_version):
    """Refuse (MTError) `version` of `slug` when its main file asks for a newer PHP than
    one of `php_versions` (those of the sites using it: WordPress itself refuses to
    activate it on the others) or a newer WordPress than `wp_version`, the core every
    site runs: its `Requires PHP:` and `Requires at least:`, as WordPress reads them."""
    tree = version_path(settings, kind, slug, version)
    mains = main_files(tree, kind)
    main = os.path.join(tree, mains[0]) if mains else None
    needs = [(name, _header(main, field) if main else None, have) for name, field, have in (
        ('PHP', 'Requires PHP', min(php_versions, key=version_key, default=None)),
        ('WordPress', 'Requires at least', wp_version))]
    short = ['{0} {1} (has {2})'.format(name, need, have) for name, need, have in needs
             if need and have and plain_version(need) and version_key(have) < version_key(need)]
    if short:
        raise MTError('{0} {1} {2} needs {3}'.format(kind[:-1], slug, version, ', '.join(short)),
                      'nothing was switched; the sites using it need that PHP, or the core '
                      'that WordPress (wo multitenancy update), first; or keep it where it is: '
                      'wo multitenancy baseline --pin-{0} {1}=VERSION'.format(kind[:-1], slug))


def _new_stamp(settings, kind, slug):
    """The mtime for a new version's files: now, and a second later than any kept."""
    kept_stamps = [os.stat(version_path(settings, kind, slug, v)).st_mtime
                   for v in kept(settings, kind, slug)]
    return max([int(time.time())] + [int(t) + 1 for t in kept_stamps])


def switch(settings, kind, slug, version):
    """Point every site at `version` of `slug` in one rename."""
    if version not in kept(settings, kind, slug):
        raise MTError('{0} {1} {2} is not kept'.format(kind[:-1], slug, version))
    fs.symlink(_relative_target(kind, slug, version), link_path(settings, kind, slug))


def _relative_target(kind, slug, version):
    return os.path.join('..', '.versions', kind, slug, version)


def canary_set(settings, kind, slug, version):
    """A folder of links like <shared_content>/<kind>, but `slug` at `version`: what a
    canary site's wp-content/<kind> points at while the version is proven."""
    view = os.path.join(settings.shared_content, '.canary', kind)
    fs.remove(view)
    fs.make_dir(os.path.dirname(view))
    fs.make_dir(view)
    shared = os.path.join(settings.shared_content, kind)
    for name in os.listdir(shared):
        if '.mt-' not in name:
            fs.symlink(os.path.join(shared, name), os.path.join(view, name))
    fs.symlink(version_path(settings, kind, slug, version), os.path.join(view, slug))
    return view


def remove_canary_set(settings, kind):
    fs.remove(os.path.join(settings.shared_content, '.canary', kind))


def prune(settings, kind, slug, keep, protected):
    """Remove the oldest versions of `slug` beyond `keep`, never one in `protected`;
    returns the removed ones."""
    versions = kept(settings, kind, slug)
    removed = [v for v in versions[:max(0, len(versions) - keep)] if v not in protected]
    for version in removed:
        fs.remove(version_path(settings, kind, slug, version))
    return removed


def copy_set(settings, kind, destination):
    """Copy the shared plugins or themes to `destination` as plain folders, each at the
    version in use (for a site leaving the shared core)."""
    shared = os.path.join(settings.shared_content, kind)
    fs.make_dir(destination)
    for name in os.listdir(shared):
        source = os.path.join(shared, name)
        if '.mt-' in name:
            continue
        if os.path.islink(source) and name in slugs(settings, kind):
            fs.copy_tree(os.path.realpath(source), os.path.join(destination, name))
        elif os.path.isdir(source) and not os.path.islink(source):
            fs.copy_tree(source, os.path.join(destination, name))
        elif os.path.isfile(source) and not os.path.islink(source):
            with open(source, 'rb') as f:
                fs.write_bytes(os.path.join(destination, name), f.read())
