#!/opt/wo/bin/python
"""Benchmark: updating N sites on the shared core (`wo multitenancy update`) against
updating N standalone WordPress copies the usual way (replace the core files, upgrade
the database, site after site, as `wp core update && wp core update-db` in a loop), side
by side in one run, from WordPress 6.4.5 to 6.5.5 (a database upgrade included).

    sudo /opt/wo/bin/python tests/bench_update.py --sites 10 50

Writes its own plugin configuration for the run and puts the original back; removes
every site it made. Figures and how to read them: docs/benchmarks.md.
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import standalone  # noqa: E402
import wordpress_releases  # noqa: E402
from stack import CONF, installed_php, purge_site, wo, write_conf  # noqa: E402


def shared_update(n, old, new, php):
    domains = ['bu-shared-{0}.test'.format(i) for i in range(n)]
    wo('init', '--force', '--source', old)
    for domain in domains:
        wo('create', domain, '--wpfc', '--php' + php.replace('.', ''))
    started = time.monotonic()
    result = json.loads(wo('update', '--source', new, '--json').stdout)
    result['seconds']['total'] = time.monotonic() - started
    assert result['failed'] == {} and result['sites'] == n, result
    return domains, result['seconds']


def standalone_update(n, old, new, php):
    domains = ['bu-alone-{0}.test'.format(i) for i in range(n)]
    for domain in domains:
        standalone.create(domain, old, php)
    files = database = 0.0
    for domain in domains:
        copy_s, db_s = standalone.update(domain, new, php)
        files, database = files + copy_s, database + db_s
    return domains, {'replace_files': files, 'databases': database, 'total': files + database}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--sites', type=int, nargs='+', default=[10, 50])
    args = parser.parse_args()
    php = installed_php()
    old_tar = wordpress_releases.release_tarball('6.4')
    new_tar = wordpress_releases.release_tarball('6.5')
    old_tree, new_tree = standalone.unpacked_release(old_tar), standalone.unpacked_release(new_tar)
    original = open(CONF).read()
    write_conf()
    print('| N | shared: stage | shared: canary + switch | shared: databases | shared: total '
          '| standalone: replace files | standalone: databases | standalone: total '
          '| standalone / shared |')
    print('|---|---|---|---|---|---|---|---|---|')
    try:
        for n in args.sites:
            made = []
            try:
                domains, shared = shared_update(n, old_tar, new_tar, php)
                made += domains
                domains, alone = standalone_update(n, old_tree, new_tree, php)
                made += domains
            finally:
                for domain in made:
                    purge_site(domain)
            print('| {0} | {1[stage]:.1f} s | {1[canary_and_switch]:.1f} s | {1[databases]:.1f} s '
                  '| {1[total]:.1f} s | {2[replace_files]:.1f} s | {2[databases]:.1f} s '
                  '| {2[total]:.1f} s | {3:.1f}x |'.format(n, shared, alone,
                                                           alone['total'] / shared['total']),
                  flush=True)
    finally:
        with open(CONF, 'w') as f:
            f.write(original)


if __name__ == '__main__':
    main()
