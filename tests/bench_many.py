#!/opt/wo/bin/python
"""Benchmark: many sovereign sites on one machine, the limits a user with hundreds of
sites would hit. Creates N sovereign sites one after another and measures how the time
of one `create` grows with N (and of each of its steps, the first create against the
last), then with N pools: the memory of the sovereign sites'
PHP-FPM, its `-t` and reload time, the time of `status`, and of an `update` (its
phases apart, the database phase among them). Run as root on a machine set up with
`install-multitenancy.sh --stack`:

    sudo /opt/wo/bin/python tests/bench_many.py --sites 200

It removes every site it made. Figures and how to read them: docs/benchmarks.md.
"""
import argparse
import json
import os
import pty
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wordpress_releases  # noqa: E402
from bench_sites import fpm_memory, masters, timed  # noqa: E402
from stack import (CONF, SHARED, fresh_php_fpm, installed_php, purge_site, wo,  # noqa: E402
                   write_conf)

from wo.multitenancy import phpfpm, pools  # noqa: E402
from wo.multitenancy.settings import Settings  # noqa: E402


def reload_seconds(php, domain):
    """Seconds from the reload signal until the pool of `domain` answers FastCGI again."""
    start = time.monotonic()
    pools.reload(Settings(), php)
    time.sleep(0.2)  # the master re-executes itself; its sockets stay open meanwhile
    phpfpm.fastcgi(pools.fpm_socket(Settings(), domain), phpfpm.OPCACHE_SCRIPT,
                   'reach the pool of ' + domain, timeout=60)
    return time.monotonic() - start


def create_phases(domain):
    """Create `domain`; the seconds of each of its steps, by its progress lines (shown
    on a terminal only: its stderr is one), and its total."""
    reader, writer = pty.openpty()
    start = time.monotonic()
    create = subprocess.Popen(['wo', 'multitenancy', 'create', domain, '--wpfc'], stderr=writer,
                              stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    os.close(writer)
    marks, pending = [], b''
    while True:
        try:
            chunk = os.read(reader, 4096)
        except OSError:  # EIO: the command closed the terminal
            break
        if not chunk:
            break
        pending += chunk
        while b'\n' in pending:
            line, pending = pending.split(b'\n', 1)
            if line.rstrip().endswith(b' ...'):  # ours: not WordOps' own lines
                marks.append((time.monotonic(), line.decode().strip(' .\r')))
    os.close(reader)
    if create.wait() != 0:
        raise AssertionError('create {0} exited {1}: {2}'.format(domain, create.returncode, marks))
    end = time.monotonic()
    phases = [(text, (marks[i + 1][0] if i + 1 < len(marks) else end) - at)
              for i, (at, text) in enumerate(marks)]
    return [('before the first step', (marks[0][0] if marks else end) - start)] + phases, \
        end - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--sites', type=int, default=200)
    args = parser.parse_args()
    php = installed_php()
    tarball = wordpress_releases.release_tarball('6.5')
    domains = ['many-{0:03d}.test'.format(i) for i in range(args.sites)]
    original = open(CONF).read()
    write_conf(isolation='sovereign')
    try:
        for domain in domains:
            purge_site(domain)
        if not os.path.islink(SHARED + '/current'):
            wo('init', '--source', tarball)
        fresh_php_fpm()  # an OPcache other benchmarks filled is not what a server has
        times, phases = [], {}
        for number, domain in enumerate(domains, 1):
            if number in (1, len(domains)):
                phases[number - 1], seconds = create_phases(domain)
                times.append(seconds)
            else:
                times.append(timed(lambda: wo('create', domain, '--wpfc')))
            if number % 20 == 0:
                print('  created {0} sites'.format(number), file=sys.stderr)
        master = masters(php)['sovereign']
        with open(master) as f:
            master_pid = f.read().strip()
        found = {
            'create_first': statistics.median(times[:10]),
            'create_last': statistics.median(times[-10:]),
            'master_rss': int(open('/proc/{0}/status'.format(master_pid)).read().split(
                'VmRSS:')[1].split()[0]) * 1024,
            'fpm_memory': fpm_memory(master),
            'fpm_test': timed(lambda: pools.check_config(Settings(), php)),
            'nginx_test': timed(lambda: subprocess.run(['nginx', '-t'], check=True,
                                                       capture_output=True)),
            'reload': statistics.median(reload_seconds(php, domains[-1]) for _ in range(3)),
            'status': timed(lambda: wo('status', '--json')),
        }
        start = time.monotonic()
        update = json.loads(wo('update', '--force', '--source', tarball, '--json').stdout)
        found['update'] = time.monotonic() - start
        found['update_phases'] = update.get('seconds', {})
        report(args.sites, found)
        report_create_growth(times)
        report_create_phases(phases)
    finally:
        for domain in domains:
            purge_site(domain)
        with open(CONF, 'w') as f:
            f.write(original)
        subprocess.run(['nginx', '-s', 'reload'], check=False)


def report(n, found):
    mb = 1024 * 1024
    print('| N = {0} sovereign sites | |'.format(n))
    print('|---|---|')
    for name, value in (
            ('create, median of the first 10', '{0:.2f} s'.format(found['create_first'])),
            ('create, median of the last 10', '{0:.2f} s ({1:.2f}x)'.format(
                found['create_last'], found['create_last'] / found['create_first'])),
            ('PHP-FPM master RSS with {0} pools'.format(n),
             '{0:.1f} MB'.format(found['master_rss'] / mb)),
            ('PHP-FPM RSS / PSS, master and workers', '{0:.1f} MB / {1:.1f} MB'.format(
                found['fpm_memory'][0] / mb, found['fpm_memory'][1] / mb)),
            ('php-fpm -t', '{0:.2f} s'.format(found['fpm_test'])),
            ('nginx -t with {0} vhosts'.format(n), '{0:.2f} s'.format(found['nginx_test'])),
            ('reload until a pool answers (median of 3)', '{0:.2f} s'.format(found['reload'])),
            ('wo multitenancy status', '{0:.2f} s'.format(found['status'])),
            ('wo multitenancy update (same release, --force)', '{0:.1f} s'.format(
                found['update'])),
            ('update phases', ', '.join('{0} {1:.1f} s'.format(k, v) for k, v in
                                        found['update_phases'].items()))):
        print('| {0} | {1} |'.format(name, value))


def report_create_growth(times, group=20):
    """The median time of one `create` for each `group` sites made before it."""
    groups = range(0, len(times), group)
    print()
    print('| sites there already | ' + ' | '.join(
        '{0}–{1}'.format(i, min(i + group, len(times)) - 1) for i in groups) + ' |')
    print('|---|' + '---|' * len(groups))
    print('| one `create` | ' + ' | '.join(
        '{0:.1f} s'.format(statistics.median(times[i:i + group])) for i in groups) + ' |')


def report_create_phases(phases):
    """Each step of the first and the last `create`, side by side."""
    first, last = phases[min(phases)], phases[max(phases)]
    print()
    print('| step of one `create` | with 0 sites | with {0} | last / first |'.format(max(phases)))
    print('|---|---|---|---|')
    for (step, before), (_, after) in zip(first, last):
        print('| {0} | {1:.2f} s | {2:.2f} s | {3:.2f}x |'.format(
            step, before, after, after / before if before else float('nan')))


if __name__ == '__main__':
    main()
