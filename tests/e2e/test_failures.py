"""A create that fails part-way removes what it made; once the cause is fixed, the
same command succeeds."""
import configparser
import os
import shutil
import subprocess

from stack import REPO, SHARED, get, purge_site, server_state, wo

TEMPLATE_OVERRIDE = '/var/lib/wo/templates/virtualconf.mustache'
WO_CONF = '/etc/wo/wo.conf'


def fails_and_leaves_nothing(domain):
    before = server_state()
    done = wo('create', domain, check=False)
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
        message = fails_and_leaves_nothing('nginx-fail-mt.test')
    assert 'refused by nginx' in message and 'no_such_directive' in message
    subprocess.run(['nginx', '-t'], check=True)
    succeeds_after_the_fix('nginx-fail-mt.test')


def test_php_failing_during_the_install(shared_core):
    with replaced(SHARED + '/wp-content/mu-plugins/zz-fatal.php',
                  '<?php mt_this_function_does_not_exist();\n'):
        message = fails_and_leaves_nothing('php-fail-mt.test')
    assert 'WordPress install failed' in message
    assert 'mt_this_function_does_not_exist' in message
    succeeds_after_the_fix('php-fail-mt.test')


def test_mariadb_failing_after_the_database_was_made(shared_core):
    # WordOps' setupdatabase creates the database, then the user; a grant host MariaDB
    # refuses makes the second step fail with the database already there.
    conf = configparser.ConfigParser()
    conf.read(WO_CONF)
    conf['mysql']['grant-host'] = 'h' * 300
    with open(WO_CONF) as f:
        original = f.read()
    try:
        with open(WO_CONF, 'w') as f:
            conf.write(f)
        message = fails_and_leaves_nothing('db-fail-mt.test')
    finally:
        with open(WO_CONF, 'w') as f:
            f.write(original)
    assert 'creating the database of db-fail-mt.test failed' in message
    succeeds_after_the_fix('db-fail-mt.test')


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
