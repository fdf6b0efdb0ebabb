"""verify on the real stack: a created site passes; each way its database grant breaks
fails the check that names it."""
import json
import os
import sqlite3
import subprocess

import pytest

from stack import WO_DB, mysql, php_user, purge_site, wo
from wo.multitenancy.mariadb import SITE_PRIVILEGES

DOMAIN = 'verify-mt.test'


@pytest.fixture(scope='module')
def account(shared_core):
    """The database name and user of a site made for this module."""
    purge_site(DOMAIN)
    wo('create', DOMAIN, '--json')
    with sqlite3.connect(WO_DB) as db:
        yield db.execute('SELECT db_name, db_user FROM sites WHERE sitename = ?',
                         (DOMAIN,)).fetchone()
    purge_site(DOMAIN)


def sql(statement):
    subprocess.run(['mariadb', '-e', statement], check=True)


def verify():
    done = wo('verify', DOMAIN, '--json', check=False)
    report, = json.loads(done.stdout)['sites']
    return done.returncode, {c['check']: c for c in report['checks']}


def failed(checks):
    return sorted(name for name, c in checks.items() if not c['ok'])


def test_a_created_site_passes_every_check(account):
    code, checks = verify()
    assert (code, failed(checks)) == (0, [])
    assert sorted(checks) == ['database_writer', 'host_binding', 'isolation', 'jobs_drain',
                              'no_legacy_paths', 'schema_and_users', 'serves']  # sovereign: the default
    text = wo('verify', '--all').stdout
    assert DOMAIN + ': verified' in text and 'pass database_writer' in text


def test_a_revoked_grant_fails_the_writer_check(account):
    name, user = account
    sql('REVOKE ALL PRIVILEGES ON `{0}`.* FROM `{1}`@`localhost`'.format(name, user))
    try:
        code, checks = verify()
    finally:
        sql('GRANT {0} ON `{1}`.* TO `{2}`@`localhost`'.format(
            ', '.join(SITE_PRIVILEGES), name, user))
    assert code == 3 and 'database_writer' in failed(checks)
    assert 'no grant on `{0}`.*'.format(name) in checks['database_writer']['detail']
    # WordPress cannot use its database either
    assert 'printed no result: Cannot select database' in checks['database_writer']['detail']


def test_a_user_at_another_host_fails_writer_and_host_binding(account):
    _, user = account
    sql("RENAME USER `{0}`@`localhost` TO `{0}`@`127.0.0.1`".format(user))
    try:
        code, checks = verify()
    finally:
        sql("RENAME USER `{0}`@`127.0.0.1` TO `{0}`@`localhost`".format(user))
    assert code == 3 and failed(checks) == ['database_writer', 'host_binding', 'jobs_drain',
                                            'schema_and_users', 'serves']
    assert "accounts at '127.0.0.1'; the registry has 'localhost'" in \
        checks['database_writer']['detail']


def test_other_accounts_with_grants_on_its_database_fail_the_writer_check(account):
    """What a stopped isolate would leave (the account it replaced), or any account
    given a way into the site's data: a database pattern taking it in, or one table."""
    name, _ = account
    sql("CREATE USER 'mt_pattern'@'localhost', 'mt_table'@'localhost'")
    try:
        sql('GRANT SELECT ON `{0}%`.* TO mt_pattern@localhost'.format(name[:6]))
        sql('GRANT SELECT ON `{0}`.`wp_users` TO mt_table@localhost'.format(name))
        code, checks = verify()
    finally:
        sql("DROP USER 'mt_pattern'@'localhost', 'mt_table'@'localhost'")
    assert code == 3 and failed(checks) == ['database_writer']
    assert 'other accounts have grants on {0}: mt_pattern@localhost, mt_table@localhost'.format(
        name) in checks['database_writer']['detail']


def test_an_anonymous_account_fails_the_writer_check(account):
    sql("CREATE USER ''@'localhost'")
    try:
        code, checks = verify()
    finally:
        sql("DROP USER ''@'localhost'")
    assert code == 3 and failed(checks) == ['database_writer']
    assert "anonymous accounts at 'localhost'" in checks['database_writer']['detail']
    assert mysql("SELECT COUNT(*) FROM mysql.user WHERE User = ''") == ['0']


def test_info_shows_the_registry_and_the_last_verification_never_a_password(account):
    name, user = account
    wo('verify', DOMAIN)
    record = json.loads(wo('info', DOMAIN, '--json').stdout)
    assert (record['db_name'], record['db_user'], record['db_grant_host']) == (
        name, user, 'localhost')
    assert record['last_verification']['ok'] and record['verified_at']
    with sqlite3.connect(WO_DB) as db:
        password, = db.execute('SELECT db_password FROM sites WHERE sitename = ?',
                               (DOMAIN,)).fetchone()
    assert password not in json.dumps(record) and password not in wo('info', DOMAIN).stdout


def test_a_link_out_of_the_site_fails_no_legacy_paths(account):
    link = '/var/www/{0}/htdocs/wp-content/uploads/elsewhere'.format(DOMAIN)
    subprocess.run(['runuser', '-u', php_user(DOMAIN), '--', 'ln', '-s', '/etc', link],
                   check=True)
    try:
        code, checks = verify()
    finally:
        os.unlink(link)
    assert code == 3 and failed(checks) == ['no_legacy_paths']
    assert checks['no_legacy_paths']['detail'] == link + ' links to /etc'
    assert checks['jobs_drain']['ok'], checks['jobs_drain']
    assert verify()[0] == 0
