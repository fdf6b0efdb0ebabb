#!/opt/wo/bin/python
"""Benchmark: N sites on the shared core against N standalone WordPress copies laid
out as `wo site create --wp` lays them out, side by side in one run, on the real stack.

Measures per-site disk use, the time to create one site, and PHP OPcache memory after
warming every site's front page. Run as root on a machine set up with
`install-multitenancy.sh --stack`:

    sudo /opt/wo/bin/python tests/bench_sites.py --sites 20

It writes its own plugin configuration for the run and puts the original back, and
removes every site it made. Figures and how to read them: docs/benchmarks.md.
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import standalone  # noqa: E402
import wordpress_releases  # noqa: E402
from stack import CONF, SHARED, get, installed_php, purge_site, wo, write_conf  # noqa: E402

OPCACHE_PROBE = """<?php
if ( isset( $_GET['reset'] ) ) { opcache_reset(); echo 'reset'; exit; }
$s = opcache_get_status( false );
echo json_encode( array( 'used' => $s['memory_usage']['used_memory'],
    'scripts' => $s['opcache_statistics']['num_cached_scripts'],
    'strings' => $s['interned_strings_usage']['used_memory'] ) );
"""


def du(path):
    done = subprocess.run(['du', '-s', '-B1', path], capture_output=True, text=True, check=True)
    return int(done.stdout.split()[0])


def timed(action):
    start = time.monotonic()
    action()
    return time.monotonic() - start


def opcache_after_warming(domains):
    """OPcache use after one front-page request to each site, from an empty cache."""
    probe = '/var/www/{0}/htdocs/mt-opcache.php'.format(domains[0])
    with open(probe, 'w') as f:
        f.write(OPCACHE_PROBE)
    try:
        get(domains[0], '/mt-opcache.php?reset=1')
        time.sleep(1)
        for domain in domains:
            assert get(domain, '/?warm={0}'.format(time.time())).status_code == 200, domain
        return get(domains[0], '/mt-opcache.php').json()
    finally:
        os.unlink(probe)


def measure(kind, domains, make):
    times = [timed(lambda d=d: make(d)) for d in domains]
    print('  created {0} {1} sites'.format(len(domains), kind), file=sys.stderr)
    return {'create_s': statistics.median(times),
            'site_bytes': statistics.median(du('/var/www/' + d) for d in domains),
            'opcache': opcache_after_warming(domains)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--sites', type=int, default=20)
    args = parser.parse_args()
    php = installed_php()
    tarball = wordpress_releases.release_tarball('6.5')
    tree = standalone.unpacked_release(tarball)
    shared_sites = ['bench-shared-{0}.test'.format(i) for i in range(args.sites)]
    alone_sites = ['bench-alone-{0}.test'.format(i) for i in range(args.sites)]
    original = open(CONF).read()
    write_conf()
    try:
        for domain in shared_sites + alone_sites:
            purge_site(domain)
        if not os.path.islink(SHARED + '/current'):
            wo('init', '--source', tarball)
        shared = measure('shared-core', shared_sites,
                         lambda d: wo('create', d, '--wpfc', '--php' + php.replace('.', '')))
        alone = measure('standalone', alone_sites, lambda d: standalone.create(d, tree, php))
        # The core counts once: the current release and the shared wp-content. Older
        # releases kept for rollback are reported apart.
        shared['core_bytes'] = du(os.path.realpath(SHARED + '/current')) + du(SHARED + '/wp-content')
        report(args.sites, shared, alone)
    finally:
        for domain in shared_sites + alone_sites:
            purge_site(domain)
        with open(CONF, 'w') as f:
            f.write(original)


def report(n, shared, alone):
    mb = 1024 * 1024
    total_shared = n * shared['site_bytes'] + shared['core_bytes']
    total_alone = n * alone['site_bytes']
    rows = [
        ('disk per site (median)', '{0:.2f} MB'.format(shared['site_bytes'] / mb),
         '{0:.1f} MB'.format(alone['site_bytes'] / mb), alone['site_bytes'] / shared['site_bytes']),
        ('disk for {0} sites, shared core included'.format(n),
         '{0:.1f} MB'.format(total_shared / mb), '{0:.1f} MB'.format(total_alone / mb),
         total_alone / total_shared),
        ('time to create one site (median)', '{0:.2f} s'.format(shared['create_s']),
         '{0:.2f} s'.format(alone['create_s']), alone['create_s'] / shared['create_s']),
        ('OPcache memory after warming {0} sites'.format(n),
         '{0:.1f} MB'.format(shared['opcache']['used'] / mb),
         '{0:.1f} MB'.format(alone['opcache']['used'] / mb),
         alone['opcache']['used'] / shared['opcache']['used']),
        ('OPcache cached scripts', str(shared['opcache']['scripts']),
         str(alone['opcache']['scripts']), alone['opcache']['scripts'] / shared['opcache']['scripts']),
    ]
    print('| N = {0} | shared core | standalone copies | standalone / shared |'.format(n))
    print('|---|---|---|---|')
    for name, ours, theirs, ratio in rows:
        print('| {0} | {1} | {2} | {3:.1f}x |'.format(name, ours, theirs, ratio))


if __name__ == '__main__':
    main()
