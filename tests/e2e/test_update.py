"""update and rollback: every site moves at once, under load, and nothing half-done
survives a broken release, a second update or a SIGKILL."""
import hashlib
import http.server
import os
import signal
import subprocess
import threading
import time
from functools import partial

import pytest
import wordpress_releases
from load import Saturated
from stack import SHARED, WO_LOG, fresh_php_fpm, get, purge_site, wait_for_log, wo

SITES = ('upd-a.test', 'upd-b.test', 'upd-c.test')  # upd-a is the canary (first by name)
SOVEREIGN = 'upd-b.test'  # in its own pool: every test here holds for both models
OLD, NEW = '6.4.5', '6.5.5'


@pytest.fixture(scope='module')
def sites_on_old(shared_core, older_tarball):
    for domain in SITES:
        purge_site(domain)
    wo('init', '--force', '--source', older_tarball)
    for domain in SITES:
        wo('create', domain, '--wpfc', '--isolation',
           'sovereign' if domain == SOVEREIGN else 'shared')
    yield SITES
    for domain in SITES:
        purge_site(domain)


@pytest.fixture
def on_old(sites_on_old, older_tarball):
    """Every site on the older release before the test."""
    if versions() != {OLD}:
        wo('update', '--force', '--source', older_tarball)
    assert versions() == {OLD}
    return sites_on_old


def version_of(domain):
    page = get(domain, '/?version={0}'.format(time.time()))
    assert page.status_code == 200, (domain, page.status_code)
    return page.text.split('<meta name="generator" content="WordPress ')[1].split('"')[0]


def versions():
    return {version_of(d) for d in SITES}


def needs_no_database_upgrade(domain):
    admin = get(domain, '/wp-admin/')
    return admin.status_code == 302 and 'wp-login.php' in admin.headers['Location']


def current():
    return os.readlink(SHARED + '/current')


def test_update_and_rollback_with_php_saturated_fail_no_request(on_old, release_tarball):
    """Two sites (the canary, shared, and a sovereign one) under wrk -c8 each, PHP's
    workers all busy: the update and the rollback succeed, and no request of the load
    fails or takes longer than wrk's 10 s timeout."""
    fresh_php_fpm()
    with Saturated(SITES[:2]) as load:
        time.sleep(3)
        wo('update', '--source', release_tarball)
        assert versions() == {NEW}
        wo('rollback')
        assert versions() == {OLD}
    assert load.failures() == {}
    assert all(r['requests'] > 100 for r in load.results.values()), load.results


def test_after_update_and_rollback_no_site_needs_a_database_upgrade(on_old, release_tarball):
    wo('update', '--source', release_tarball)
    assert versions() == {NEW} and all(needs_no_database_upgrade(d) for d in SITES)
    done = wo('rollback')
    assert 'Rolled back 3 site(s)' in done.stdout
    assert 'WordPress cannot downgrade a database' in done.stdout
    assert versions() == {OLD} and all(needs_no_database_upgrade(d) for d in SITES)


def test_nothing_to_do_is_silent_with_exit_0(on_old, older_tarball):
    before = current()
    done = wo('update', '--source', older_tarball)
    assert (done.returncode, done.stdout, done.stderr) == (0, '', '')
    assert current() == before


@pytest.fixture
def fatal_release(tmp_path, release_tarball):
    """The newer release with a PHP fatal error in wp-settings.php."""
    return wordpress_releases.with_php_fatal(release_tarball, tmp_path / 'broken')


def refused_before_any_switch(*args):
    before, kept = current(), sorted(os.listdir(SHARED + '/releases'))
    done = wo(*args, check=False)
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert done.stderr.startswith('Error: ') and len(done.stderr.strip().splitlines()) == 1
    assert current() == before
    assert sorted(os.listdir(SHARED + '/releases')) == kept
    assert versions() == {OLD} and all(needs_no_database_upgrade(d) for d in SITES)
    return done.stderr


def test_a_release_with_a_php_fatal_fails_on_the_canary(on_old, fatal_release):
    message = refused_before_any_switch('update', '--source', fatal_release)
    assert 'canary site upd-a.test' in message and 'no other site was switched' in message


def test_a_truncated_archive_is_refused(on_old, release_tarball, tmp_path):
    truncated = str(tmp_path / 'wordpress-6.5.5.tar.gz')
    with open(release_tarball, 'rb') as src, open(truncated, 'wb') as dst:
        dst.write(src.read()[:5 * 1024 * 1024])
    assert 'cannot unpack' in refused_before_any_switch('update', '--source', truncated)


@pytest.fixture
def served(tmp_path):
    """serve(name, data, sha1) -> URL of `data` on a real HTTP server on loopback."""
    servers = []

    def serve(name, data, sha1):
        (tmp_path / name).write_bytes(data)
        (tmp_path / (name + '.sha1')).write_text(sha1)
        handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
        handler.log_message = lambda *a: None
        server = http.server.ThreadingHTTPServer(('127.0.0.3', 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return 'http://127.0.0.3:{0}/{1}'.format(server.server_address[1], name)

    yield serve
    for server in servers:
        server.shutdown()


def test_a_checksum_mismatch_is_refused(on_old, release_tarball, served):
    data = open(release_tarball, 'rb').read()
    url = served('wordpress-6.5.5.tar.gz', data, hashlib.sha1(b'other').hexdigest())
    assert 'checksum mismatch' in refused_before_any_switch('update', '--source', url)


def test_a_download_with_its_checksum_updates(on_old, release_tarball, served):
    data = open(release_tarball, 'rb').read()
    wo('update', '--source', served('wordpress-6.5.5.tar.gz', data, hashlib.sha1(data).hexdigest()))
    assert versions() == {NEW}


def test_an_update_while_another_runs_is_refused_with_exit_4(on_old, release_tarball):
    before = current()
    log_size = os.path.getsize(WO_LOG)
    first = subprocess.Popen(['wo', 'multitenancy', 'update', '--source', release_tarball],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert wait_for_log('Staging WordPress', log_size, first), 'the first update never started'
    second = wo('update', '--source', release_tarball, check=False)
    assert second.returncode == 4, (second.stdout, second.stderr)
    assert 'another wo multitenancy command is running (pid {0})'.format(first.pid) in second.stderr
    assert first.wait() == 0, first.stderr.read()
    releases = [r for r in os.listdir(SHARED + '/releases') if r > before.split('/')[-1]]
    assert len(releases) == 1, releases
    assert versions() == {NEW}


@pytest.mark.parametrize('step', ['Staging WordPress', 'Proving WordPress', 'Switching every site',
                                  'database of'])
def test_an_update_killed_at_any_step_is_finished_by_the_next_run(on_old, release_tarball, step):
    log_size = os.path.getsize(WO_LOG)
    run = subprocess.Popen(['wo', 'multitenancy', 'update', '--source', release_tarball],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert wait_for_log(step, log_size, run), 'the update never reached: ' + step
    os.kill(run.pid, signal.SIGKILL)
    run.wait()
    for domain in SITES:  # every site answers, each on one whole release
        assert version_of(domain) in (OLD, NEW)
    wo('update', '--source', release_tarball)
    assert versions() == {NEW} and all(needs_no_database_upgrade(d) for d in SITES)
    assert not [n for n in os.listdir(SHARED + '/releases') if n.startswith('.')]
