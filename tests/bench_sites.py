#!/opt/wo/bin/python
"""Benchmark: N sites on the shared core, shared (WordOps' www-data pools) and
sovereign (a user and pool each), against N standalone WordPress copies laid out as
`wo site create --wp` lays them out, side by side in one run, on the real stack.

Measures per-site disk use, the time to create one site, PHP OPcache memory and
PHP-FPM memory (idle and after warming every site's front page), requests/s of one site
under load, and the first request to an idle site. Run as root on a machine set up with
`install-multitenancy.sh --stack`:

    sudo /opt/wo/bin/python tests/bench_sites.py --sites 20

It writes its own plugin configuration for the run and puts the original back, and
removes every site it made. Figures and how to read them: docs/benchmarks.md.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import standalone  # noqa: E402
import wordpress_releases  # noqa: E402
from stack import (CONF, PROBE, SHARED, fresh_php_fpm, get, installed_php,  # noqa: E402
                   purge_site, wo, write_conf)

from wo.multitenancy import phpfpm, pools  # noqa: E402
from wo.multitenancy.settings import Settings  # noqa: E402

MODELS = ('shared', 'sovereign', 'standalone')
IDLE = 12  # seconds: ondemand pools end an idle worker after 10


def du(path):
    done = subprocess.run(['du', '-s', '-B1', path], capture_output=True, text=True, check=True)
    return int(done.stdout.split()[0])


def timed(action):
    start = time.monotonic()
    action()
    return time.monotonic() - start


def masters(php):
    """The pid files of WordOps' PHP-FPM and of the sovereign sites' one."""
    return {'wordops': '/run/php/php{0}-fpm.pid'.format(php),
            'sovereign': os.path.join(Settings().control_dir, 'php{0}-fpm.pid'.format(php))}


def fresh_caches(php):
    """Both PHP-FPMs reloaded: their OPcache empty, their workers gone."""
    fresh_php_fpm()
    pools.reload(Settings(), php)
    time.sleep(2)
    opcache_status(php, 'sovereign')


def opcache_status(php, master):
    """{'scripts', 'used'} of the OPcache of `master` (php/opcache.php in our pool)."""
    sockets = dict(zip(('wordops', 'sovereign'), phpfpm.control_sockets(Settings(), php)))
    answer = phpfpm.fastcgi(sockets[master], phpfpm.OPCACHE_SCRIPT, 'read OPcache',
                            {'WO_MT_ACTION': 'status'}, timeout=30)
    return json.loads(answer.split('\r\n\r\n', 1)[-1])


def fpm_memory(pid_file):
    """(RSS, PSS) in bytes of a PHP-FPM master and its workers."""
    with open(pid_file) as f:
        master = int(f.read().strip())
    rss = pss = 0
    for pid in filter(str.isdigit, os.listdir('/proc')):
        try:
            with open('/proc/{0}/stat'.format(pid)) as f:
                ppid = int(f.read().rsplit(')', 1)[1].split()[1])
            if int(pid) != master and ppid != master:
                continue
            with open('/proc/{0}/smaps_rollup'.format(pid)) as f:
                text = f.read()
        except (OSError, ValueError):
            continue
        rss += int(re.search(r'^Rss:\s+(\d+)', text, re.M).group(1)) * 1024
        pss += int(re.search(r'^Pss:\s+(\d+)', text, re.M).group(1)) * 1024
    return rss, pss


def requests_per_second(domain):
    """wrk -t1 -c8 for 10 s on an uncached page of `domain` (a query string)."""
    done = subprocess.run(['wrk', '-t1', '-c8', '-d10s', '--timeout', '10s',
                           '-H', 'Host: ' + domain, 'http://{0}/?load=1'.format(PROBE)],
                          capture_output=True, text=True, check=True)
    return float(re.search(r'Requests/sec:\s+([\d.]+)', done.stdout).group(1))


def first_request(domain):
    """Seconds of a request to an idle site (no PHP worker left), and of the next."""
    time.sleep(IDLE)
    return [timed(lambda: get(domain, '/?first={0}'.format(time.time()))) for _ in range(2)]


def measure(kind, domains, make, php):
    times = [timed(lambda d=d: make(d)) for d in domains]
    print('  created {0} {1} sites'.format(len(domains), kind), file=sys.stderr)
    master = masters(php)['sovereign' if kind == 'sovereign' else 'wordops']
    fresh_caches(php)
    time.sleep(IDLE)
    idle = fpm_memory(master)
    for domain in domains:
        assert get(domain, '/?warm={0}'.format(time.time())).status_code == 200, domain
    found = {'create_s': statistics.median(times), 'fpm_idle': idle, 'fpm_warm': fpm_memory(master),
             'site_bytes': statistics.median(du('/var/www/' + d) for d in domains),
             'opcache': opcache_status(php, 'sovereign' if kind == 'sovereign' else 'wordops'),
             'rps': requests_per_second(domains[0]), 'first': first_request(domains[-1])}
    print('  measured {0}'.format(kind), file=sys.stderr)
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--sites', type=int, default=20)
    args = parser.parse_args()
    php = installed_php()
    tarball = wordpress_releases.release_tarball('6.5')
    tree = standalone.unpacked_release(tarball)
    names = {m: ['bench-{0}-{1}.test'.format(m, i) for i in range(args.sites)] for m in MODELS}
    every = [d for m in MODELS for d in names[m]]
    flag = '--php' + php.replace('.', '')
    makers = {'shared': lambda d: wo('create', d, '--wpfc', flag, '--isolation', 'shared'),
              'sovereign': lambda d: wo('create', d, '--wpfc', flag, '--isolation', 'sovereign'),
              'standalone': lambda d: standalone.create(d, tree, php)}
    original = open(CONF).read()
    write_conf()
    try:
        for domain in every:
            purge_site(domain)
        if not os.path.islink(SHARED + '/current'):
            wo('init', '--source', tarball)
        found = {m: measure(m, names[m], makers[m], php) for m in MODELS}
        # The core counts once: the current release and the shared wp-content. Older
        # releases kept for rollback are reported apart.
        found['core_bytes'] = du(os.path.realpath(SHARED + '/current')) + du(SHARED + '/wp-content')
        report(args.sites, found)
    finally:
        for domain in every:
            purge_site(domain)
        with open(CONF, 'w') as f:
            f.write(original)


def report(n, found):
    mb = 1024 * 1024
    shared, sovereign, alone = (found[m] for m in MODELS)
    rows = [
        ('disk per site (median)', lambda r: r['site_bytes'] / mb, '{0:.2f} MB'),
        ('disk for {0} sites, shared core included'.format(n), lambda r: (
            n * r['site_bytes'] + (0 if r is alone else found['core_bytes'])) / mb, '{0:.1f} MB'),
        ('time to create one site (median)', lambda r: r['create_s'], '{0:.2f} s'),
        ('OPcache memory after warming {0} sites'.format(n),
         lambda r: r['opcache']['used'] / mb, '{0:.1f} MB'),
        ('OPcache cached scripts', lambda r: r['opcache']['scripts'], '{0}'),
        ('PHP-FPM RSS, idle', lambda r: r['fpm_idle'][0] / mb, '{0:.1f} MB'),
        ('PHP-FPM PSS, idle', lambda r: r['fpm_idle'][1] / mb, '{0:.1f} MB'),
        ('PHP-FPM RSS after warming', lambda r: r['fpm_warm'][0] / mb, '{0:.1f} MB'),
        ('PHP-FPM PSS after warming', lambda r: r['fpm_warm'][1] / mb, '{0:.1f} MB'),
        ('requests/s of one site, wrk -c8, uncached', lambda r: r['rps'], '{0:.1f}'),
        ('first request to an idle site', lambda r: r['first'][0], '{0:.3f} s'),
        ('the request after it', lambda r: r['first'][1], '{0:.3f} s'),
    ]
    print('| N = {0} | shared | sovereign | standalone | sovereign / shared | '
          'standalone / shared |'.format(n))
    print('|---|---|---|---|---|---|')
    for name, value, form in rows:
        values = [value(r) for r in (shared, sovereign, alone)]
        print('| {0} | {1} | {2} | {3} | {4} | {5} |'.format(
            name, *[form.format(v) for v in values],
            *['{0:.2f}x'.format(v / values[0]) if values[0] else '-' for v in values[1:]]))


if __name__ == '__main__':
    main()
