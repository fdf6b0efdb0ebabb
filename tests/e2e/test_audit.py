"""The audit trail on the real stack: who ran what, on which sites, with which result;
a killed update shows as interrupted once the next command runs; a day's summary counts
it all, and says nothing on a quiet day."""
import json
import os
import signal
import sqlite3
import subprocess
import time

from stack import WO_DB, WO_LOG, purge_site, wait_for_log, wo

DOMAIN = 'audit-mt.test'


def trail(since):
    """The events since event id `since`."""
    return [e for e in json.loads(wo('audit', '--json').stdout)['events'] if e['id'] > since]


def last_id():
    with sqlite3.connect(WO_DB) as db:
        return db.execute('SELECT COALESCE(MAX(id), 0) FROM multitenancy_audit').fetchone()[0]


def as_sudo_user(*args):
    """`wo multitenancy ARGS` as sudo runs it for the user alice (uid 4242)."""
    return subprocess.run(['wo', 'multitenancy'] + list(args), capture_output=True, text=True,
                          env=dict(os.environ, SUDO_USER='alice', SUDO_UID='4242'),
                          stdin=subprocess.DEVNULL, timeout=900)


def test_each_command_is_recorded_with_its_actor_sites_and_result(shared_core):
    purge_site(DOMAIN)
    since = last_id()
    assert as_sudo_user('create', DOMAIN, '--admin-email=owner@example.com').returncode == 0
    refused = as_sudo_user('create', 'bad_domain!')
    assert refused.returncode == 2
    wo('list')  # changes nothing: not in the trail
    assert as_sudo_user('delete', DOMAIN, '--force').returncode == 0
    created, refusal, deleted = trail(since)
    assert (created['command'], created['result'], created['exit_code'], created['sites']) == (
        'create', 'ok', 0, [DOMAIN])
    assert (created['actor'], created['uid']) == ('alice', 4242)
    assert created['arguments'] == ['create', DOMAIN, '--admin-email=owner@example.com']
    assert (refusal['result'], refusal['exit_code']) == ('refused', 2) and refusal['detail']
    assert (deleted['command'], deleted['result'], deleted['sites']) == ('delete', 'ok', [DOMAIN])
    assert all(e['ended_at'] >= e['started_at'] for e in (created, refusal, deleted))
    assert 'admin_password' not in json.dumps(created)


def test_a_killed_update_is_interrupted_once_the_next_command_runs(shared_core, release_tarball):
    since = last_id()
    log_size = os.path.getsize(WO_LOG)
    update = subprocess.Popen(['wo', 'multitenancy', 'update', '--force', '--source',
                               release_tarball],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    # killed while it stages: a sleep after its start lost the race on a quick machine
    assert wait_for_log('Staging WordPress', log_size, update), 'the update never staged'
    os.killpg(update.pid, signal.SIGKILL)
    update.wait()
    assert [e['result'] for e in started_events(since)] == ['started']
    wo('update', '--force', '--source', release_tarball)  # also finishes the killed one's work
    killed, finished = trail(since)
    assert (killed['command'], killed['result'], killed['exit_code']) == (
        'update', 'interrupted', None)
    assert (finished['command'], finished['result']) == ('update', 'ok')
    summary = json.loads(wo('audit', '--summary', '--day', time.strftime('%Y-%m-%d'),
                            '--json').stdout)
    assert summary['news'] and summary['counts']['update']['interrupted'] >= 1
    assert wo('audit', '--failed', '--since', '1h').stdout.count('interrupted') >= 1


def started_events(since):
    with sqlite3.connect(WO_DB) as db:
        db.row_factory = sqlite3.Row
        return [dict(r) for r in db.execute(
            'SELECT * FROM multitenancy_audit WHERE id > ?', (since,))]


def test_a_quiet_day_prints_nothing():
    done = wo('audit', '--summary', '--day', '2001-01-01')
    assert (done.returncode, done.stdout) == (0, '')
