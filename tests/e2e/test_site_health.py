"""WordPress' own Site Health on a shared-core site and on a standalone WordOps site side
by side: no test is worse on the shared core, and where it differs by design (updates
made by the server) Site Health says so."""
import json
import os
import subprocess

from stack import REPO, SITES, installed_php, wo

RANK = {'critical': 0, 'recommended': 1, 'good': 2}
SCRIPT = os.path.join(REPO, 'tests', 'site_health.php')


def site_health(domain, *flags):
    done = subprocess.run(['runuser', '-u', 'www-data', '--', '/usr/bin/php' + installed_php(),
                           SCRIPT, os.path.join(SITES, domain, 'htdocs'), domain] + list(flags),
                          capture_output=True, text=True, check=True, timeout=300)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_no_site_health_test_is_worse_on_the_shared_core(make_site, make_standalone):
    make_site('health-shared.test', '--isolation', 'shared')
    make_standalone('health-alone.test')
    wo('cron', '--run')  # the system cron's tick (each minute): what a visit does standalone
    shared, alone = site_health('health-shared.test'), site_health('health-alone.test')
    assert set(shared['tests']) >= set(alone['tests'])
    worse = {name: (shared['tests'][name], result) for name, result in alone['tests'].items()
             if RANK[shared['tests'][name][0]] < RANK[result[0]]}
    assert worse == {}
    assert shared['tests']['background_updates'] == ['good', 'Updates are managed by the server']
    assert shared['tests']['update_temp_backup_writable'][0] == 'good'
    assert shared['tests']['wordpress_version'][1].endswith(', the release the server runs')
    assert shared['can_update_plugins'] is False and alone['can_update_plugins'] is True
    behind = site_health('health-shared.test', 'behind')['tests']['wordpress_version']
    assert behind[0] != 'good' and '9.9.9' in behind[1]  # a server behind is not hidden
