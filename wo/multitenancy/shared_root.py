"""The shared root (<shared_root>/): its directories, whether it is set up (a
`current` release that exists), the baseline seeded into it at `init`, and the free
space a command needs on a disk before it writes."""
import os

from wo.multitenancy import baseline, fs, layout, releases
from wo.multitenancy.errors import InvalidInput, MTError


MANAGED_UPDATES = os.path.join(os.path.dirname(__file__), 'php', 'wo-managed-updates.php')


def install_managed_updates(settings):
    """Our MU-plugin that tells each site's dashboard and Site Health that the server
    updates its core, plugins and themes (and takes away the buttons that cannot work)."""
    layout.install_mu_plugin(settings, MANAGED_UPDATES)


def create_dirs(settings, changes):
    """Make the shared root's directories; the undo removes the root if it is new."""
    if not os.path.isdir(settings.shared_root):
        changes.on_failure('remove ' + settings.shared_root,
                           lambda: fs.remove(settings.shared_root))
    for path in (settings.releases_dir, settings.backups_dir,
                 os.path.dirname(settings.baseline_file)):
        fs.make_dir(path)
    for name in layout.SHARED_DIRS:
        fs.make_dir(os.path.join(settings.shared_content, name))


def seed_baseline(settings, release_dir, changes):
    """Make the baseline theme and plugins present in the shared wp-content and write
    baseline.json when there is none (an existing one is kept). Returns notes on what
    was done instead of what the configuration asked: a first baseline whose theme
    cannot be had (offline, not in the release) takes the theme the release falls back
    to. Raises MTError naming every baseline plugin that cannot be had, and how to go
    on without them."""
    existing = baseline.read(settings)
    wanted = dict(existing or baseline.initial(settings))
    notes = []
    try:
        baseline.ensure(settings, 'themes', wanted['theme'], release_dir, changes)
    except MTError as e:
        fallback = None if existing else baseline.default_theme(release_dir)
        if not fallback:
            raise
        baseline.ensure(settings, 'themes', fallback, release_dir, changes)
        notes.append('the baseline theme is {0}, the default theme of this release: {1} '
                     'is not in it and could not be downloaded ({2})'.format(
                         fallback, wanted['theme'], e.message))
        wanted['theme'] = fallback
    _seed_plugins(settings, wanted['plugins'], release_dir, changes)
    if existing is None:
        baseline.write(settings, wanted, changes)
    return notes


def _seed_plugins(settings, plugins, release_dir, changes):
    missing = {}
    for plugin in plugins:
        try:
            baseline.ensure(settings, 'plugins', plugin, release_dir, changes)
        except MTError as e:
            missing[plugin] = e
    if missing:
        first = next(iter(missing.values()))
        raise MTError('baseline plugin(s) {0}: not in this release and not to be had from '
                      'wordpress.org ({1})'.format(', '.join(missing), first.message),
                      'set baseline_plugins in /etc/wo/plugins.d/multitenancy.conf to plugins '
                      'this release bundles ({0}) or to nothing, and run init again; add the '
                      'others later from their .zip: wo multitenancy baseline --add-plugin '
                      './{1}.zip'.format(', '.join(baseline.bundled(release_dir, 'plugins'))
                                         or 'none', next(iter(missing))))


def initialized_release(settings):
    """The current release, or None when `current` is missing or points nowhere."""
    name = releases.current(settings)
    return name if name and os.path.isdir(releases.path(settings, name)) else None


def require_initialized(settings):
    """The current release; raises InvalidInput when the shared core is not set up."""
    name = initialized_release(settings)
    if not name:
        raise InvalidInput('the shared core is not set up yet', 'run: wo multitenancy init')
    return name


def require_free_space(settings, path):
    """Raises InvalidInput when the disk holding `path` has less than min_free_space."""
    free = fs.free_mb(path)
    if free < settings.min_free_space:
        raise InvalidInput('only {0} MB free on the disk holding {1}; min_free_space is {2} MB'
                           .format(free, path, settings.min_free_space),
                           'free some space, or lower min_free_space in '
                           '/etc/wo/plugins.d/multitenancy.conf')


def kept_releases(settings, current):
    """Each release under releases/: its name, WordPress version, disk use, and
    whether it is `current`."""
    return [{'release': name, 'wp_version': releases.version(settings, name)[0],
             'current': name == current,
             'disk_bytes': fs.disk_usage(releases.path(settings, name))}
            for name in releases.names(settings)]
