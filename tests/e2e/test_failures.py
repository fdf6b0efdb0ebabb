"""A create that fails part-way removes what it made; once the cause is fixed, the
same command succeeds."""
import os
import subprocess

from stack import REPO, SHARED, get, purge_site, server_state, wo

TEMPLATE_OVERRIDE = '/var/lib/wo/templates/virtualconf.mustache'


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


def test_nginx_refusing_the_vhost(shared_core):
    os.makedirs(os.path.dirname(TEMPLATE_OVERRIDE), exist_ok=True)
    with open(TEMPLATE_OVERRIDE, 'w') as f:  # a broken local override of WordOps' template
        f.write('server { server_name {{site_name}}; no_such_directive on; }\n')
    try:
        message = fails_and_leaves_nothing('nginx-fail-mt.test')
    finally:
        os.unlink(TEMPLATE_OVERRIDE)
    assert 'refused by nginx' in message and 'no_such_directive' in message
    subprocess.run(['nginx', '-t'], check=True)
    succeeds_after_the_fix('nginx-fail-mt.test')


def test_php_failing_during_the_install(shared_core):
    fatal = SHARED + '/wp-content/mu-plugins/zz-fatal.php'
    with open(fatal, 'w') as f:
        f.write('<?php mt_this_function_does_not_exist();\n')
    try:
        message = fails_and_leaves_nothing('php-fail-mt.test')
    finally:
        os.unlink(fatal)
    assert 'WordPress install failed' in message
    assert 'mt_this_function_does_not_exist' in message
    succeeds_after_the_fix('php-fail-mt.test')


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
