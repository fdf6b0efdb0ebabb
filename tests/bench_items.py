#!/opt/wo/bin/python
"""Benchmark: moving N sites to a new version of a theme (Twenty Twenty-Four 1.0 of
WordPress 6.4.5 to 1.1 of 6.5.5) with `wo multitenancy theme update` against what N
standalone sites do (WordPress' upgrader on each: its copy of the theme replaced by the
new one, site after site), side by side in one run: time, and the disk the theme takes.

    sudo /opt/wo/bin/python tests/bench_items.py --sites 10 30

The shared run includes what the standalone one does not: the canary, the upgrader hook
on every site using the theme, the page-cache purge and an HTTP probe of every site.
Writes its own plugin configuration for the run and puts the original back; removes
every site it made. Figures and how to read them: docs/benchmarks.md.
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
import standalone  # noqa: E402
import wordpress_releases  # noqa: E402
from stack import CONF, SHARED, SITES, installed_php, purge_site, wo, write_conf  # noqa: E402

THEME = 'twentytwentyfour'


def disk_mb(paths):
    """MB the paths take on disk, each inode counted once (du)."""
    done = subprocess.run(['du', '-scm'] + paths, capture_output=True, text=True, check=True)
    return float(done.stdout.split()[-2])


def shared_update(n, php, old_theme, new_theme):
    domains = ['bi-shared-{0}.test'.format(i) for i in range(n)]
    for domain in domains:
        wo('create', domain, '--wpfc', '--php' + php.replace('.', ''))
    wo('theme', 'update', THEME, '--source', old_theme)
    started = time.monotonic()
    result = json.loads(wo('theme', 'update', THEME, '--source', new_theme, '--json').stdout)
    seconds = time.monotonic() - started
    item = result['items'][0]
    assert item['version'] == '1.1' and len(item['sites_using']) == n and not item['failed'], item
    versions = os.path.join(SHARED, 'wp-content', '.versions', 'themes', THEME)
    return domains, seconds, disk_mb([versions])


def standalone_update(n, php, release_tree, new_theme):
    domains = ['bi-alone-{0}.test'.format(i) for i in range(n)]
    for domain in domains:
        standalone.create(domain, release_tree, php)
    themes = [os.path.join(SITES, d, 'htdocs', 'wp-content', 'themes', THEME) for d in domains]
    started = time.monotonic()
    for target in themes:  # as Theme_Upgrader: the old folder out, the new one in
        shutil.rmtree(target)
        shutil.copytree(new_theme, target)
        subprocess.run(['chown', '-R', 'www-data:www-data', target], check=True)
    return domains, time.monotonic() - started, disk_mb(themes)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--sites', type=int, nargs='+', default=[10, 30])
    args = parser.parse_args()
    php = installed_php()
    old_tar = wordpress_releases.release_tarball('6.4')
    new_tar = wordpress_releases.release_tarball('6.5')
    scratch = tempfile.mkdtemp()
    old_theme = wordpress_releases.bundled_theme(old_tar, THEME, os.path.join(scratch, 'old'))
    new_theme = wordpress_releases.bundled_theme(new_tar, THEME, os.path.join(scratch, 'new'))
    old_tree = standalone.unpacked_release(old_tar)
    original = open(CONF).read()
    write_conf()
    wo('init', '--source', new_tar)  # set up already: nothing happens
    print('| N | shared: theme update | shared: theme on disk (both versions) '
          '| standalone: replace N copies | standalone: theme on disk | time standalone / shared '
          '| disk standalone / shared |')
    print('|---|---|---|---|---|---|---|')
    try:
        for n in args.sites:
            made = []
            try:
                domains, shared_s, shared_mb = shared_update(n, php, old_theme, new_theme)
                made += domains
                domains, alone_s, alone_mb = standalone_update(n, php, old_tree, new_theme)
                made += domains
            finally:
                for domain in made:
                    purge_site(domain)
            print('| {0} | {1:.1f} s | {2:.1f} MB | {3:.1f} s | {4:.1f} MB | {5:.2f}x | {6:.1f}x |'
                  .format(n, shared_s, shared_mb, alone_s, alone_mb, alone_s / shared_s,
                          alone_mb / shared_mb), flush=True)
    finally:
        with open(CONF, 'w') as f:
            f.write(original)
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == '__main__':
    main()
