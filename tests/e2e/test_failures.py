"""A create that fails part-way removes what it made; once the cause is fixed, the
same command succeeds."""
import configparser
import contextlib
import json
import os
import shutil
import signal
import subprocess

import pytest

from stack import REPO, SHARED, WO_LOG, get, purge_site, server_state, wait_for_log, wo

TEMPLATE_OVERRIDE = '/var/lib/wo/templates/virtualconf.mustache'
WO_CONF = '/etc/wo/wo.conf'


def fails_and_leaves_nothing(domain, *flags):
    before = server_state()
    done = wo('create', domain, *flags, check=False)
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert [l for l in done.stderr.splitlines() if l.startswith('Error: ')], done.stderr
    assert server_state() == before
    return done.stderr


def succeeds_after_the_fix(domain):
    try:
        wo('create', domain)
        assert get(domain, '/?after-fix').status_code == 200
    finally:
        purge_site(domain)


class replaced:
    """Put `text` in `path` for the duration and the original file (or none) back after."""

    def __init__(self, path, text):
        self.path, self.text, self.saved = path, text, path + '.mt-test-saved'

    def __enter__(self):
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        if os.path.exists(self.path):
            shutil.copy2(self.path, self.saved)
        with open(self.path, 'w') as f:
            f.write(self.text)

    def __exit__(self, *exc):
        if os.path.exists(self.saved):
            os.replace(self.saved, self.path)
        else:
            os.unlink(self.path)


def test_nginx_refusing_the_vhost(shared_core):
    # a broken local override of WordOps' vhost template
    with replaced(TEMPLATE_OVERRIDE, 'server { server_name {{site_name}}; no_such_directive on; }\n'):
        message = fails_and_leaves_nothing('nginx-fail-mt.test', '--isolation', 'shared')
    assert 'refused by nginx' in message and 'no_such_directive' in message
    subprocess.run(['nginx', '-t'], check=True)
    succeeds_after_the_fix('nginx-fail-mt.test')


def test_a_sovereign_site_failing_late_leaves_no_user_pool_or_socket(shared_core):
    # A template override without WordOps' includes: its vhost cannot be routed to its
    # pool, which exists by then (as its user, files and database do).
    with replaced(TEMPLATE_OVERRIDE, 'server { server_name {{site_name}}; }\n'):
        message = fails_and_leaves_nothing('sov-fail-mt.test', '--isolation', 'sovereign')
    assert 'the vhost template includes common/wpfc-php' in message


def test_php_failing_before_the_install(shared_core):
    # The site's WordPress first runs to report on its database account, before the install.
    with replaced(SHARED + '/wp-content/mu-plugins/zz-fatal.php',
                  '<?php mt_this_function_does_not_exist();\n'):
        message = fails_and_leaves_nothing('php-fail-mt.test')
    assert 'database_writer: its WordPress could not report: WordPress verify failed' in message
    assert 'mt_this_function_does_not_exist' in message
    succeeds_after_the_fix('php-fail-mt.test')


@contextlib.contextmanager
def grant_host(host):
    """WordOps' wo.conf with [mysql] grant-host = `host` for the duration."""
    conf = configparser.ConfigParser()
    conf.read(WO_CONF)
    conf['mysql']['grant-host'] = host
    with open(WO_CONF) as f:
        original = f.read()
    try:
        with open(WO_CONF, 'w') as f:
            conf.write(f)
        yield
    finally:
        with open(WO_CONF, 'w') as f:
            f.write(original)


def test_mariadb_failing_after_the_database_was_made(shared_core):
    # WordOps' setupdatabase creates the database, then the user; a grant host MariaDB
    # refuses makes the second step fail with the database already there.
    with grant_host('h' * 300):
        message = fails_and_leaves_nothing('db-fail-mt.test')
    assert 'creating the database of db-fail-mt.test failed' in message
    succeeds_after_the_fix('db-fail-mt.test')


def test_a_user_at_a_host_the_site_does_not_connect_from_is_never_routed(shared_core):
    # DB_HOST is localhost (a socket): MariaDB takes the site for user@localhost, so a
    # user made at 127.0.0.1 cannot connect. Verification stops the create before nginx.
    with grant_host('127.0.0.1'):
        message = fails_and_leaves_nothing('grant-mt.test')
    assert 'grant-mt.test failed verification: database_writer:' in message
    assert 'Error establishing a database connection' in message
    assert 'host_binding: not tried: its WordPress could not report' in message
    succeeds_after_the_fix('grant-mt.test')


def test_keep_failed_keeps_a_site_failing_verification_unrouted_until_deleted(shared_core):
    before = server_state()
    try:
        with grant_host('127.0.0.1'):
            done = wo('create', 'keep-mt.test', '--keep-failed', check=False)
        assert done.returncode == 1 and 'kept unrouted (--keep-failed)' in done.stderr
        record = json.loads(wo('info', 'keep-mt.test', '--json').stdout)
        assert (record['state'], record['db_grant_host']) == ('failed', '127.0.0.1')
        assert not os.path.exists('/etc/nginx/sites-enabled/keep-mt.test')
        assert 'keep-mt.test' in wo('list').stdout
        wo('delete', 'keep-mt.test', '--force')
        assert server_state() == before
    finally:
        purge_site('keep-mt.test')


def test_mariadb_down(shared_core):
    before = server_state()
    subprocess.run(['mariadb-admin', 'shutdown'], check=True)
    try:
        done = wo('create', 'db-down-mt.test', check=False)
    finally:
        subprocess.run([os.path.join(REPO, 'install-multitenancy.sh'), '--stack'], check=True,
                       stdout=subprocess.DEVNULL)
    assert done.returncode == 1
    assert 'MariaDB does not answer' in done.stderr
    assert server_state() == before
    succeeds_after_the_fix('db-down-mt.test')


@pytest.mark.parametrize('signum, code', [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_undoes_the_create_and_exits_128_plus_its_number(shared_core, signum, code):
    """Ctrl-C or SIGTERM while WordPress is being installed: the undo runs, the exit status
    says a signal ended it (cron and shell loops must not read success), and one line on
    stderr says what happened and how to go on."""
    domain = 'signal-{0}.test'.format(code)
    purge_site(domain)
    before = server_state()
    log_size = os.path.getsize(WO_LOG)
    run = subprocess.Popen(['wo', 'multitenancy', 'create', domain], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    assert wait_for_log('Installing WordPress', log_size, run), 'create never got there'
    run.send_signal(signum)
    _, stderr = run.communicate(timeout=120)
    assert run.returncode == code, stderr
    errors = [line for line in stderr.splitlines() if line.startswith('Error: ')]
    assert errors == [stderr.strip().splitlines()[-1]], stderr  # one, and the last word
    assert errors[0] == ('Error: interrupted by {0} while installing WordPress: its changes '
                         'were undone -- run the same command again'.format(
                             signal.Signals(signum).name))
    assert server_state() == before
