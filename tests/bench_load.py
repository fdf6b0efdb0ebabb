#!/opt/wo/bin/python
"""Benchmark: `wo multitenancy update` and `rollback` with PHP saturated, against the same
commands on an idle server, and the load's p99 latency before and during them.

    sudo /opt/wo/bin/python tests/bench_load.py --runs 5

Two sites on the shared core (WordPress 6.4.5 <-> 6.5.5, a database upgrade included),
each under `wrk -t1 -c8 --timeout 10s` on its uncached front page (tests/load.py). First
the load alone for 30 s twice, on WordOps' own vhost settings and with the include our
sites get (conf/nginx/wo-multitenancy.conf), side by side; then `--runs` updates and
rollbacks on the idle server, then as many under the load. Every request's duration
comes from nginx's log. PHP-FPM is reloaded first, while nothing runs, so OPcache starts
empty (as after a server's start) rather than full of the test suite's sites. Writes its own plugin configuration for the run and puts the
original back; removes the sites it made. Figures and how to read them:
docs/benchmarks.md.
"""
import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wordpress_releases  # noqa: E402
from load import Saturated, p99  # noqa: E402
from stack import CONF, fresh_php_fpm, purge_site, wo, write_conf  # noqa: E402

from wo.multitenancy import nginx  # noqa: E402
from wo.multitenancy import settings as mt_settings  # noqa: E402

SITES = ('bl-a.test', 'bl-b.test')
SETTINGS = mt_settings.from_mapping({})
SETTLE = 10  # seconds of load before a command: the "before" window


def timed(*args):
    started = time.time()
    wo(*args)
    return started, time.time()


def load_alone(seconds, stock):
    """The load with nothing else running, on WordOps' own vhost settings (`stock`:
    without our include) or ours: requests answered and failures per site."""
    for domain in SITES:
        if stock:
            os.unlink(nginx.site_include(SETTINGS, domain))
        else:
            nginx.write_site_include(SETTINGS, domain)
    nginx.reload()
    time.sleep(2)
    with Saturated(SITES) as load:
        time.sleep(seconds)
    return load


def under_load(new_tar):
    """One update and one rollback under the load: wall times, p99s, failures."""
    with Saturated(SITES) as load:
        time.sleep(SETTLE)
        update = timed('update', '--source', new_tar)
        time.sleep(3)
        rollback = timed('rollback')
        time.sleep(3)
    before = load.requests(load.started + 3, update[0])
    return {'update': update[1] - update[0], 'rollback': rollback[1] - rollback[0],
            'p99_before': p99(before), 'p99_update': p99(load.requests(*update)),
            'p99_rollback': p99(load.requests(*rollback)), 'failures': load.failures(),
            'requests': sum(r['requests'] for r in load.results.values())}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--runs', type=int, default=5)
    args = parser.parse_args()
    old_tar = wordpress_releases.release_tarball('6.4')
    new_tar = wordpress_releases.release_tarball('6.5')
    original = open(CONF).read()
    write_conf()
    try:
        wo('init', '--force', '--source', old_tar)
        for domain in SITES:
            purge_site(domain)
            wo('create', domain, '--wpfc')
        fresh_php_fpm()
        report_load_alone()
        idle = [(timed('update', '--source', new_tar), timed('rollback')) for _ in range(args.runs)]
        loaded = [under_load(new_tar) for _ in range(args.runs)]
        report(idle, loaded)
    finally:
        for domain in SITES:
            purge_site(domain)
        with open(CONF, 'w') as f:
            f.write(original)


def report_load_alone():
    print('| load alone, 30 s | {0} requests | {1} requests | failed requests |'.format(*SITES))
    print('|---|---|---|---|')
    for stock in (True, False):
        load = load_alone(30, stock)
        counts = [load.results[d]['requests'] for d in SITES]
        failed = sum(sum(v for k, v in r.items() if k != 'requests')
                     for r in load.results.values())
        print('| {0} | {1} | {2} | {3} wrk, {4} over 10 s or not 2xx/3xx in nginx\'s log |'.format(
            "WordOps' vhost (fastcgi_keep_conn on)" if stock else 'with our include',
            counts[0], counts[1], failed, len(load.failures().get('nginx', []))), flush=True)


def report(idle, loaded):
    idle_update = statistics.median(u[1] - u[0] for u, _ in idle)
    idle_rollback = statistics.median(r[1] - r[0] for _, r in idle)
    print('\n| run | update: loaded (idle {0:.1f} s) | rollback: loaded (idle {1:.1f} s) '
          '| p99 before | p99 during update | p99 during rollback | requests | failed |'
          .format(idle_update, idle_rollback))
    print('|---|---|---|---|---|---|---|---|')
    for n, run in enumerate(loaded, 1):
        print('| {0} | {1[update]:.1f} s ({2:.1f}x) | {1[rollback]:.1f} s ({3:.1f}x) '
              '| {1[p99_before]:.2f} s | {1[p99_update]:.2f} s ({4:.1f}x) '
              '| {1[p99_rollback]:.2f} s ({5:.1f}x) | {1[requests]} | {6} |'.format(
                  n, run, run['update'] / idle_update, run['rollback'] / idle_rollback,
                  run['p99_update'] / run['p99_before'], run['p99_rollback'] / run['p99_before'],
                  run['failures'] or 0), flush=True)


if __name__ == '__main__':
    main()
