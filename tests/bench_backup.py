#!/opt/wo/bin/python
"""Benchmark: backing up N sites on the shared core twice in a row, with `backup --all`
(restic) against what an admin would otherwise script, a `tar --zstd` of each site's
wp-config.php and uploads and a `mysqldump --single-transaction` of its database
(convert's own backup), each run into a new directory: time of each run and what the
repository or the directory grows by. Then one site restored from each: `restore` (in
place) and `restore --as` a new domain, against untarring its files and loading its
dump with `mariadb`.

    sudo /opt/wo/bin/python tests/bench_backup.py --sites 20 --uploads-mb 5

Each site gets `--uploads-mb` MB of incompressible uploads (photos are). It writes its
own plugin configuration and repository for the run and puts the original back, and
removes every site it made. Figures and how to read them: docs/benchmarks.md.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wordpress_releases  # noqa: E402
from bench_sites import du  # noqa: E402
from stack import CONF, SHARED, SITES, purge_site, wo, write_conf  # noqa: E402

REPOSITORY = '/var/backups/wo-multitenancy-bench'


def fill_uploads(domain, megabytes):
    uploads = os.path.join(SITES, domain, 'htdocs', 'wp-content', 'uploads', '2026', '12')
    os.makedirs(uploads, exist_ok=True)
    owner = os.stat(os.path.dirname(os.path.dirname(uploads)))
    for number in range(megabytes):
        path = os.path.join(uploads, 'photo-{0}.jpg'.format(number))
        with open(path, 'wb') as f:
            f.write(os.urandom(1 << 20))
    for folder, _, names in os.walk(os.path.dirname(os.path.dirname(uploads))):
        for name in ['.'] + names:
            os.chown(os.path.join(folder, name), owner.st_uid, owner.st_gid)


def restic_run():
    began = time.time()
    done = json.loads(wo('backup', '--all', '--json').stdout)
    return time.time() - began, done['repository_bytes']


def tar_run(databases, target):
    """What a script would do: per site ({domain: database}) a tar of its own files and
    a dump."""
    began = time.time()
    os.makedirs(target)
    for domain, database in databases.items():
        subprocess.run(['tar', '--zstd', '-cf', os.path.join(target, domain + '.tar.zst'),
                        '-C', os.path.join(SITES, domain), 'wp-config.php',
                        'htdocs/wp-content/uploads'], check=True)
        subprocess.run(['mysqldump', '--single-transaction', '--hex-blob',
                        '--result-file=' + os.path.join(target, domain + '.sql'), database],
                       check=True)
    return time.time() - began, du(target)


def restic_restores(domain, copy):
    """Seconds of `restore` of `domain` in place, and of `restore --as copy`."""
    began = time.time()
    wo('restore', domain)
    in_place = time.time() - began
    began = time.time()
    wo('restore', domain, '--as', copy)
    return in_place, time.time() - began


def tar_restore(domain, database, target):
    """What a script would do: untar the site's files over it and load its dump."""
    began = time.time()
    subprocess.run(['tar', '--zstd', '-xf', os.path.join(target, domain + '.tar.zst'),
                    '-C', os.path.join(SITES, domain)], check=True)
    with open(os.path.join(target, domain + '.sql')) as dump:
        subprocess.run(['mariadb', database], stdin=dump, check=True)
    return time.time() - began


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--sites', type=int, default=20)
    parser.add_argument('--uploads-mb', type=int, default=5)
    args = parser.parse_args()
    tarball = wordpress_releases.release_tarball('6.5')
    domains = ['bench-backup-{0}.test'.format(i) for i in range(args.sites)]
    copy = 'bench-backup-copy.test'
    original = open(CONF).read()
    shutil.rmtree(REPOSITORY, ignore_errors=True)
    scratch = tempfile.mkdtemp(prefix='bench-backup-', dir='/var/backups')
    write_conf(backup_repository=REPOSITORY)
    try:
        for domain in domains + [copy]:
            purge_site(domain)
        if not os.path.islink(SHARED + '/current'):
            wo('init', '--source', tarball)
        for domain in domains:
            wo('create', domain)
            fill_uploads(domain, args.uploads_mb)
        others = [s['domain'] for s in json.loads(wo('list', '--json').stdout)
                  if s['domain'] not in domains]
        if others:
            sys.exit('other sites are on the shared core ({0}): --all would back them up '
                     'too'.format(', '.join(others)))
        databases = {d: json.loads(wo('info', d, '--json').stdout)['db_name'] for d in domains}
        first = restic_run()
        second = restic_run()
        tar_first = tar_run(databases, os.path.join(scratch, 'first'))
        tar_second = tar_run(databases, os.path.join(scratch, 'second'))
        restores = restic_restores(domains[0], copy)
        tar_restored = tar_restore(domains[0], databases[domains[0]],
                                   os.path.join(scratch, 'second'))
    finally:
        for domain in domains + [copy]:
            wo('delete', domain, '--force', check=False)
        with open(CONF, 'w') as f:
            f.write(original)
        shutil.rmtree(REPOSITORY, ignore_errors=True)
        shutil.rmtree(scratch, ignore_errors=True)
    print('| N = {0}, {1} MB of uploads each | backup --all (restic) | tar + mysqldump | '
          'tar / restic |'.format(args.sites, args.uploads_mb))
    print('|---|---|---|---|')
    rows = (('first run: time', first[0], tar_first[0], 's'),
            ('first run: stored', first[1] / 1e6, tar_first[1] / 1e6, 'MB'),
            ('second run right after: time', second[0], tar_second[0], 's'),
            ('second run right after: stored in addition', (second[1] - first[1]) / 1e6,
             tar_second[1] / 1e6, 'MB'),
            ('restore of one site in place: time', restores[0], tar_restored, 's'),
            ('restore of one site --as a new domain: time', restores[1], tar_restored, 's'))
    for label, ours, theirs, unit in rows:
        ratio = _ratio(theirs / ours) if ours > 0.0005 else 'n/a'
        print('| {0} | {1:.3f} {3} | {2:.3f} {3} | {4} |'.format(label, ours, theirs, unit, ratio))


def _ratio(value):
    return '{0:.{1}f}x'.format(value, 0 if value >= 10 else 1 if value >= 0.1 else 3)


if __name__ == '__main__':
    main()
