"""The baseline: the theme and plugins every site must have, kept in
<shared_root>/config/baseline.json and enforced on every site by an MU-plugin.

Plugins and themes come from the shared wp-content, seeded from the release's own
bundle, a local .zip or directory, or wordpress.org.

Its `versions` ({'plugins': {slug: version}, 'themes': {...}}) pin shared plugins and
themes: `update` brings a pinned one to its version and no further; every other one
follows wordpress.org's latest. A pin is not applied to the sites' databases, so
changing one does not bump the baseline's version.
"""
import json
import os
import re

from wo.multitenancy import fs, layout, shared_items, sources
from wo.multitenancy.errors import InvalidInput, MTError

ENFORCER = 'wo-baseline-enforcer.php'
ENFORCER_SOURCE = os.path.join(os.path.dirname(__file__), 'php', ENFORCER)
DOWNLOAD = {'plugins': 'https://downloads.wordpress.org/plugin/{0}.latest-stable.zip',
            'themes': 'https://downloads.wordpress.org/theme/{0}.latest-stable.zip'}
_SLUG = re.compile(r'^[a-z0-9][a-z0-9_.-]*\Z')
LATEST = 'latest'  # a pin's version that unpins


def read(settings):
    """The baseline as a dict: version, theme, plugins, auto_activate."""
    try:
        with open(settings.baseline_file, encoding='utf-8') as f:
            return json.load(f)
    except FileNotFoundError:
        return None
    except ValueError as e:
        raise MTError('{0} is not valid JSON: {1}'.format(settings.baseline_file, e),
                      'fix or remove it, then run wo multitenancy init --force')


def write(settings, baseline, changes):
    """Write baseline.json; the undo puts the previous text back."""
    previous = read(settings)
    changes.on_failure('restore baseline.json', lambda: _restore(settings, previous))
    _save(settings, baseline)


def initial(settings):
    return {'version': 1, 'theme': settings.baseline_theme,
            'plugins': list(settings.baseline_plugins), 'auto_activate': settings.auto_activate}


def changed(baseline, add_plugins=(), remove_plugins=(), theme=None):
    """The baseline with the changes applied and its version bumped; the same
    baseline when the changes change nothing."""
    plugins = [p for p in baseline['plugins'] if p not in remove_plugins]
    plugins += [p for p in add_plugins if p not in plugins]
    theme = theme or baseline['theme']
    if plugins == baseline['plugins'] and theme == baseline['theme']:
        return baseline
    return dict(baseline, version=baseline['version'] + 1, plugins=plugins, theme=theme)


def pins(current, kind):
    """{slug: version} of the shared plugins (or themes) the baseline `current` pins."""
    return dict(((current or {}).get('versions') or {}).get(kind) or {})


def parse_pin(text):
    """(slug, version or LATEST) of a pin given as SLUG=VERSION; InvalidInput otherwise."""
    slug, _, version = text.partition('=')
    if not (_SLUG.match(slug) and (version == LATEST or shared_items.plain_version(version))):
        raise InvalidInput('{0!r} is not a pin such as akismet=5.3.1 or akismet=latest'.format(
            text))
    return slug, version


def pinned(current, kind, wanted):
    """The baseline `current` with each of `wanted` ({slug: version or LATEST}) pinned to
    that version (LATEST: unpinned)."""
    versions = {k: pins(current, k) for k in shared_items.KINDS}
    for slug, version in wanted.items():
        versions[kind].pop(slug, None)
        if version != LATEST:
            versions[kind][slug] = version
    versions = {k: v for k, v in versions.items() if v}
    kept = {k: v for k, v in current.items() if k != 'versions'}
    return dict(kept, versions=versions) if versions else kept


def version_allowed(settings, kind, slug, version):
    """The version `slug` is to be brought to: `version` (None: the latest), or the pin
    the baseline holds for it. Raises InvalidInput when `version` contradicts the pin."""
    pin = pins(read(settings), kind).get(slug)
    if pin and version and version != pin:
        raise InvalidInput('the baseline pins {0} {1} to {2}, not {3}'.format(
            kind[:-1], slug, pin, version),
            'change the pin first: wo multitenancy baseline --pin-{0} {1}={2} (or {1}=latest '
            'to follow wordpress.org)'.format(kind[:-1], slug, version))
    return version or pin


def slug_of(item):
    """The slug a plugin/theme argument names: 'akismet', './akismet.zip' -> 'akismet'.

    An argument that looks like a path (a / or .zip) must exist: a typo must not
    quietly fetch the wordpress.org plugin of the same name.
    """
    if ('/' in item or item.endswith('.zip')) and not os.path.exists(item):
        raise InvalidInput('{0}: no such file or directory'.format(item),
                           'give an existing .zip or directory, or a wordpress.org slug')
    name = os.path.basename(item.rstrip('/'))
    name = re.sub(r'(\.latest-stable)?\.zip$', '', name)
    if not _SLUG.match(name):
        raise InvalidInput('{0!r} is not a plugin or theme slug, .zip or directory'.format(item))
    return name


def default_theme(release_dir):
    """The theme WordPress falls back to in this release (its WP_DEFAULT_THEME), when
    the release ships it; else None."""
    try:
        with open(os.path.join(release_dir, 'wp-includes', 'default-constants.php'),
                  encoding='utf-8') as f:
            named = re.search(r"define\(\s*'WP_DEFAULT_THEME',\s*'([^']+)'", f.read())
    except OSError:
        return None
    return named.group(1) if named and named.group(1) in bundled(release_dir, 'themes') else None


def bundled(release_dir, kind):
    """Slugs of the plugins or themes a release carries in its wp-content/<kind>."""
    folder = os.path.join(release_dir, 'wp-content', kind)
    names = os.listdir(folder) if os.path.isdir(folder) else []
    return sorted(n[:-4] if n.endswith('.php') else n for n in names
                  if n != 'index.php' and (n.endswith('.php') or
                                           os.path.isdir(os.path.join(folder, n))))


def install_enforcer(settings):
    layout.install_mu_plugin(settings, ENFORCER_SOURCE)


def ensure(settings, kind, item, release_dir, changes):
    """Make plugin or theme `item` -- the operator's argument: a slug, or a .zip, a
    directory or a one-file plugin's .php -- present in the shared wp-content/<kind>;
    return its slug. Already present: nothing changes."""
    if os.path.isdir(item) or item.endswith(('.zip', '.php')) and os.path.isfile(item):
        slug = slug_of(item)
        if not _present(os.path.join(settings.shared_content, kind), slug):
            _add(os.path.join(settings.shared_content, kind), slug, item, kind, changes)
        return slug
    return ensure_by_slug(settings, kind, slug_of(item), release_dir, changes)


def ensure_by_slug(settings, kind, slug, release_dir, changes):
    """Make plugin or theme `slug` present in the shared wp-content/<kind>, from the
    release's bundle or wordpress.org: never from a path, so a name a site chose is
    never looked up beside wherever root runs. Raises InvalidInput for a name that is
    not a slug."""
    if not _SLUG.match(slug):
        raise InvalidInput('{0!r} is not a plugin or theme slug'.format(slug))
    target_dir = os.path.join(settings.shared_content, kind)
    if not _present(target_dir, slug):
        _add(target_dir, slug, _present(os.path.join(release_dir, 'wp-content', kind), slug),
             kind, changes)
    return slug


def _present(directory, slug):
    for candidate in (os.path.join(directory, slug), os.path.join(directory, slug + '.php')):
        if os.path.exists(candidate):
            return candidate
    return None


def _add(target_dir, slug, origin, kind, changes):
    scratch = sources.scratch_dir(target_dir)
    try:
        if origin is None:
            origin = _download(kind, slug, target_dir, scratch)
        if origin.endswith('.zip'):
            fs.extract_archive(origin, os.path.join(scratch, 'unzipped'))
            origin = _single_top(os.path.join(scratch, 'unzipped'), slug)
        target = os.path.join(target_dir, os.path.basename(origin) if origin.endswith('.php') else slug)
        changes.on_failure('remove ' + target, lambda: fs.remove(target))
        if os.path.isdir(origin):
            fs.copy_plain_tree(origin, target)
            fs.lock_down(target)
        else:
            with open(origin, encoding='utf-8') as f:
                fs.write_file(target, f.read())
    finally:
        fs.remove(scratch)


def _download(kind, slug, target_dir, scratch):
    try:
        return sources.fetch(DOWNLOAD[kind].format(slug), scratch)
    except MTError as e:
        raise MTError('{0} {1} is not in the shared set and could not be downloaded: {2}'
                      .format(kind[:-1], slug, e.message),
                      'copy it into {0}/, or give its .zip or directory, or leave it out of'
                      ' the baseline'.format(target_dir))


def _single_top(unzipped, slug):
    entries = os.listdir(unzipped)
    if len(entries) == 1:
        return os.path.join(unzipped, entries[0])
    raise MTError('the archive for {0} does not hold one folder'.format(slug))


def _restore(settings, previous):
    if previous is None:
        fs.remove(settings.baseline_file)
    else:
        _save(settings, previous)


def _save(settings, baseline):
    fs.write_file(settings.baseline_file, json.dumps(baseline, indent=2, sort_keys=True) + '\n')
