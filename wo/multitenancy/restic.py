"""The one place restic runs: the backup repository (`backup_repository`: a local
directory by default, or any repository restic takes: sftp:, s3:, rest: ...), opened
with a password only root can read (<control_dir>/restic-password, made with the
repository). restic deduplicates, encrypts and checks what it stores.

Snapshots of a site carry the tags `wo-multitenancy` and `site=<domain>`.
"""
import json
import os
import secrets

from wo.multitenancy import fs, runner
from wo.multitenancy.errors import CommandFailed, MTError

TAG = 'wo-multitenancy'
BACKUP_SECONDS = 3600  # one site's snapshot at most (the lock is held meanwhile)


def password_file(settings):
    return os.path.join(settings.control_dir, 'restic-password')


def site_tag(domain):
    return 'site=' + domain


def ensure_repository(settings):
    """Make the password and the repository when there are none yet."""
    if not os.path.exists(password_file(settings)):
        fs.make_dir(settings.control_dir, mode=0o700)
        fs.write_file(password_file(settings), secrets.token_urlsafe(32) + '\n', mode=0o600,
                      exclusive=True)
    if _run(settings, ['cat', 'config', '--no-lock'], check=False).returncode != 0:
        _run(settings, ['init'])


def backup(settings, domain, paths):
    """A snapshot of `paths` (links stored as links, never followed; one filesystem)
    tagged for `domain`; its summary ({'snapshot_id', 'data_added', ...}). A file that
    went while restic read the tree (its exit 3: the snapshot is made) is no failure."""
    argv = ['backup', '--json', '--one-file-system', '--tag', TAG, '--tag', site_tag(domain)]
    done = _run(settings, argv + list(paths), check=False, timeout=BACKUP_SECONDS)
    if done.returncode not in (0, 3):
        raise MTError('restic backup of {0} failed: {1}'.format(domain, done.stderr.strip()[-500:]))
    for line in reversed(done.stdout.splitlines()):
        message = _json(line)
        if message.get('message_type') == 'summary':
            return message
    raise MTError('restic printed no summary for the backup of ' + domain)


def snapshots(settings, domain):
    """The snapshots of `domain`, oldest first: [{'id', 'short_id', 'time', 'paths'}]."""
    done = _run(settings, ['snapshots', '--json', '--tag', site_tag(domain)])
    return [s for s in (_json(done.stdout) or []) if TAG in s.get('tags', [])]


def restore(settings, snapshot_id, target):
    """Restore snapshot `snapshot_id` under `target` (its paths below it, owners kept)."""
    _run(settings, ['restore', snapshot_id, '--target', target], timeout=6 * 3600)


def read_file(settings, snapshot_id, path):
    """The text of the file `path` in snapshot `snapshot_id`."""
    return _run(settings, ['dump', snapshot_id, path]).stdout


def restore_size(settings, snapshot_id):
    """The bytes restoring snapshot `snapshot_id` writes."""
    done = _run(settings, ['stats', '--json', '--mode', 'restore-size', snapshot_id],
                timeout=3600)
    return int((_json(done.stdout) or {}).get('total_size') or 0)


def prune(settings):
    """Free what no snapshot needs any more."""
    _run(settings, ['prune'], timeout=6 * 3600)


def forget(settings, domain, keep):
    """Apply the retention `keep` ({'daily': n, ...}) to the snapshots of `domain` (prune
    frees their data); [ids forgotten]."""
    argv = ['forget', '--json', '--tag', site_tag(domain)]
    for period, count in keep.items():
        argv += ['--keep-' + period, str(count)]
    done = _run(settings, argv, timeout=6 * 3600)
    removed = []
    for group in _json(done.stdout.splitlines()[0] if done.stdout else '') or []:
        removed += [s['short_id'] for s in group.get('remove') or []]
    return removed


def stats(settings):
    """{'total_size', 'total_file_count'} of the repository's stored data."""
    return _json(_run(settings, ['stats', '--json', '--mode', 'raw-data'],
                      timeout=3600).stdout) or {}


def _run(settings, argv, check=True, timeout=600):
    env = dict(os.environ, RESTIC_REPOSITORY=settings.backup_repository,  # and its credentials
               RESTIC_PASSWORD_FILE=password_file(settings),
               RESTIC_CACHE_DIR=os.path.join(settings.control_dir, 'restic-cache'))
    try:
        return runner.run(['restic', '--quiet'] + argv, env=env, check=check, timeout=timeout)
    except CommandFailed as e:
        raise MTError('restic {0} failed: {1}'.format(argv[0], e),
                      'is restic installed (apt install restic) and {0} reachable?'.format(
                          settings.backup_repository))


def _json(text):
    try:
        return json.loads(text)
    except ValueError:
        return {}
