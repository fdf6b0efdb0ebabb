#!/opt/wo/bin/python
"""Benchmark: converting N standalone WordPress sites (laid out as `wo site create --wp`
lays them out) onto the shared core, on the real stack: each site's disk use before and
after, the backups convert keeps, the time one `convert` of all N takes, and the
availability of every site while it runs (a request to each site in a loop).

    sudo /opt/wo/bin/python tests/bench_convert.py --sites 20

It writes its own plugin configuration for the run and puts the original back, and
removes every site and backup it made. Figures and how to read them: docs/benchmarks.md.
"""
import argparse
import glob
import os
import shutil
import statistics
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import standalone  # noqa: E402
import wordpress_releases  # noqa: E402
from bench_sites import du  # noqa: E402
from stack import CONF, SHARED, get, installed_php, purge_site, wo, write_conf  # noqa: E402


def own_bytes(domain):
    """The site root, uploads not counted (they move, they are not copied)."""
    root = '/var/www/' + domain
    return du(root) - du(root + '/htdocs/wp-content/uploads')


def watch(domains, stop, answers):
    """Request every site's front page in turn until `stop` is set; note each status."""
    while not stop.is_set():
        for domain in domains:
            try:
                answers.append(get(domain, '/?watch={0}'.format(time.time())).status_code)
            except Exception as e:  # a refused connection counts as a failed request
                answers.append(repr(e))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--sites', type=int, default=20)
    args = parser.parse_args()
    php = installed_php()
    tarball = wordpress_releases.release_tarball('6.5')
    tree = standalone.unpacked_release(tarball)
    domains = ['bench-convert-{0}.test'.format(i) for i in range(args.sites)]
    original = open(CONF).read()
    write_conf()
    try:
        for domain in domains:
            purge_site(domain)
        if not os.path.islink(SHARED + '/current'):
            wo('init', '--source', tarball)
        for domain in domains:
            standalone.create(domain, tree, php)
            standalone.populate(domain, php)
        before = [own_bytes(d) for d in domains]
        stop, answers = threading.Event(), []
        watcher = threading.Thread(target=watch, args=(domains, stop, answers))
        watcher.start()
        started = time.monotonic()
        wo('convert', *domains)
        seconds = time.monotonic() - started
        stop.set()
        watcher.join()
        after = [own_bytes(d) for d in domains]
        backups = sum(du(b) for d in domains for b in glob.glob(SHARED + '/backups/' + d + '-*'))
        core = du(os.path.realpath(SHARED + '/current')) + du(SHARED + '/wp-content')
        report(args.sites, before, after, core, backups, seconds, answers)
    finally:
        for domain in domains:
            purge_site(domain)
            for backup in glob.glob(SHARED + '/backups/' + domain + '-*'):
                shutil.rmtree(backup)
        with open(CONF, 'w') as f:
            f.write(original)


def report(n, before, after, core, backups, seconds, answers):
    mb = 1024 * 1024
    good = sum(1 for a in answers if a == 200)
    print('| N = {0} | standalone (before) | shared core (after) | before / after |'.format(n))
    print('|---|---|---|---|')
    print('| disk per site besides uploads (median) | {0:.1f} MB | {1:.2f} MB | {2:.0f}x |'.format(
        statistics.median(before) / mb, statistics.median(after) / mb,
        statistics.median(before) / statistics.median(after)))
    print('| disk of {0} sites besides uploads | {1:.1f} MB | {2:.1f} MB | {3:.0f}x |'.format(
        n, sum(before) / mb, sum(after) / mb, sum(before) / sum(after)))
    print('| disk of {0} sites besides uploads, the shared core counted once | {1:.1f} MB | '
          '{2:.1f} MB | {3:.1f}x |'.format(n, sum(before) / mb, (sum(after) + core) / mb,
                                           sum(before) / (sum(after) + core)))
    print()
    print('- backups kept by convert: {0:.1f} MB ({1:.1f} MB per site)'.format(
        backups / mb, backups / mb / n))
    print('- `wo multitenancy convert` of {0} sites: {1:.1f} s ({2:.2f} s per site)'.format(
        n, seconds, seconds / n))
    print('- requests to the sites while it ran: {0}, answered 200: {1}, other: {2}'.format(
        len(answers), good, sorted(set(str(a) for a in answers if a != 200)) or 'none'))


if __name__ == '__main__':
    main()
