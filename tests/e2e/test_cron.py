"""WP-Cron run by the system on the real stack: the installer's cron line and the cron
daemon run `wo multitenancy cron --run` every minute, which publishes a post scheduled
on a site nobody visits; while it runs, page views do not start WP-Cron, and once its
heartbeat is stale they do again; a run that finds the last one still going does
nothing; a delete waits for a site's running job."""
import fcntl
import json
import os
import subprocess
import threading
import time

import pytest

from stack import mysql, purge_site, run_in_docroot, sovereign_and_shared, wo

from wo.multitenancy import cron, lock
from wo.multitenancy.settings import Settings

DOMAINS = ('cron-a.test', 'cron-b.test')  # sovereign, shared
CRON_FILE = '/etc/cron.d/wo-multitenancy-wp-cron'


@pytest.fixture(scope='module')
def sites(shared_core):
    with sovereign_and_shared(*DOMAINS) as made:
        yield made


def _database(domain):
    return json.loads(wo('info', domain, '--json').stdout)['db_name']


def test_the_installer_left_a_cron_line_the_daemon_runs():
    with open(CRON_FILE) as f:
        assert '* * * * * root /usr/local/bin/wo multitenancy cron --run' in f.read()
    assert subprocess.run(['pgrep', '-x', 'cron'], capture_output=True).returncode == 0


def test_posts_scheduled_on_quiet_sites_are_published_by_the_system_cron(sites):
    """WordPress publishes at once a post due within a minute: these are due in 61 s."""
    queries = {domain: _schedule_post(domain, 61) for domain in sites}
    assert all(mysql(q) == ['future'] for q in queries.values())
    deadline = time.time() + 61 + 60 + cron.SPLAY_SECONDS + 30  # then a tick, a splay, a run
    while any(mysql(q) != ['publish'] for q in queries.values()) and time.time() < deadline:
        time.sleep(2)
    assert all(mysql(q) == ['publish'] for q in queries.values())  # nobody visited meanwhile
    report = json.loads(wo('cron', '--json').stdout)
    assert report['system_cron']['running']
    for site in (s for s in report['sites'] if s['domain'] in sites):
        assert site['last_run']['ok'] and site['last_run']['ran'] >= 1
        assert site['splay_second'] == cron.splay(site['domain'])


def _schedule_post(domain, seconds):
    """A post of `domain` due in `seconds`; the query that reads its status."""
    made = run_in_docroot(domain, """<?php require __DIR__ . '/wp-load.php';
        $at = gmdate( 'Y-m-d H:i:s', time() + {0} );
        echo wp_insert_post( array( 'post_title' => 'Scheduled', 'post_status' => 'future',
            'post_content' => 'on time', 'post_date_gmt' => $at,
            'post_date' => get_date_from_gmt( $at ) ) );""".replace('{0}', str(seconds)))
    return "SELECT post_status FROM `{0}`.wp_posts WHERE ID = {1}".format(
        _database(domain), int(made.text.strip()))


def _wp_cron_disabled(domain):
    answer = run_in_docroot(domain, "<?php require __DIR__ . '/wp-load.php'; "
                                    "echo json_encode( defined( 'DISABLE_WP_CRON' ) );")
    return json.loads(answer.text)


def test_page_views_leave_wp_cron_to_the_system_while_it_runs(sites):
    heartbeat = cron.heartbeat_file(Settings())
    assert _wp_cron_disabled(sites[0]) and _wp_cron_disabled(sites[1])
    while not 5 <= time.gmtime().tm_sec <= 45:  # away from the minute's run, which renews it
        time.sleep(1)
    stale = time.time() - cron.HEARTBEAT_STALE - 60
    os.utime(heartbeat, (stale, stale))
    try:
        assert not _wp_cron_disabled(sites[0]) and not _wp_cron_disabled(sites[1])
        assert not json.loads(wo('cron', '--json').stdout)['system_cron']['running']
    finally:
        os.utime(heartbeat)


def test_a_run_that_finds_the_last_one_running_does_nothing(sites):
    path = os.path.join(Settings().control_dir, 'cron.lock')
    with open(path, 'a') as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # after the minute's run, if one is going
        done = wo('cron', '--run', '--json')
    outcome = json.loads(done.stdout)
    assert outcome['sites'] == {} and 'the last run of the system cron' in outcome['skipped']
    assert wo('cron', '--run').stdout == ''  # and quiet without --json


def test_delete_waits_for_a_running_job_of_the_site(shared_core):
    domain = 'cron-c.test'
    purge_site(domain)
    wo('create', domain)
    job = threading.Event()

    def hold_the_job():
        with lock.site_job(Settings(), domain, wait=lock.JOB_WAIT):
            job.set()
            time.sleep(4)
    holder = threading.Thread(target=hold_the_job)
    holder.start()
    job.wait(lock.JOB_WAIT)
    began = time.time()
    wo('delete', domain, '--force')
    assert time.time() - began >= 3  # it waited for the job to end
    holder.join()
    assert not os.path.exists(lock.site_job_file(Settings(), domain))
