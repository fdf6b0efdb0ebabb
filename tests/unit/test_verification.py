"""verify, and create's database gate, on the fake server (its MariaDB accounts are
server.accounts: (user, host) -> SHOW GRANTS)."""
import json
import os
import sqlite3

import pytest

from wo.cli.plugins import multitenancy_everyday_functions as everyday
from wo.cli.plugins import multitenancy_functions as mt
from wo.cli.plugins.multitenancy_db import MTDatabase
from wo.multitenancy import lock, mariadb, nginx, texts
from wo.multitenancy.errors import Busy, InvalidInput, MTError, PartlyFailed
from wo.multitenancy.mariadb import SITE_PRIVILEGES
from wo.multitenancy.verification import grant_problems

OWN = 'GRANT {0} ON `a_test`.* TO `a_test`@`localhost`'.format(', '.join(sorted(SITE_PRIVILEGES)))


@pytest.fixture
def site(server):
    server.init('6.5.5')
    server.create('a.test')
    return server


def checks_of(error):
    report, = error.result['sites']
    return {c['check']: c for c in report['checks']}


def test_a_created_site_passes_every_check(site):
    outcome = everyday.verify_sites(site.ctx, ['a.test'])
    report, = outcome['sites']
    assert outcome['failed'] == 0 and report['ok']
    assert [c['check'] for c in report['checks']] == [
        'database_writer', 'host_binding', 'schema_and_users', 'no_legacy_paths', 'jobs_drain',
        'serves']
    assert site.ctx.db.get_site('a.test')['db_grant_host'] == 'localhost'


def test_a_user_moved_to_another_host_fails_both_database_checks(site):
    site.accounts['a_test', '127.0.0.1'] = site.accounts.pop(('a_test', 'localhost'))
    site.runner.site('a.test').current_user = 'a_test@127.0.0.1'
    with pytest.raises(PartlyFailed) as raised:
        everyday.verify_sites(site.ctx, [], every=True)
    assert raised.value.exit_code == 3
    found = checks_of(raised.value)
    assert not found['database_writer']['ok'] and not found['host_binding']['ok']
    assert "accounts at '127.0.0.1'; the registry has 'localhost'" in found['database_writer']['detail']
    assert found['host_binding']['detail'] == (
        'MariaDB takes the site for a_test@127.0.0.1; the registry has a_test@localhost')
    assert found['serves']['ok'] and found['schema_and_users']['ok']


def test_an_anonymous_account_fails_the_writer_check(site):
    site.accounts['', 'localhost'] = []
    with pytest.raises(PartlyFailed) as raised:
        everyday.verify_sites(site.ctx, ['a.test'])
    assert "anonymous accounts at 'localhost'" in checks_of(raised.value)['database_writer']['detail']


def test_grants_must_be_wordops_set_on_its_own_database_alone():
    usage = 'GRANT USAGE ON *.* TO `a_test`@`localhost` IDENTIFIED BY PASSWORD \'*AB\''
    assert grant_problems([usage, OWN], 'a_test') == []
    assert grant_problems([usage], 'a_test') == ['no grant on `a_test`.*']
    assert grant_problems(['GRANT SELECT ON `a_test`.* TO `a_test`@`localhost`'], 'a_test') == [
        'on `a_test`.*: missing ' + ', '.join(sorted(SITE_PRIVILEGES - {'SELECT'}))]
    assert grant_problems(['GRANT FILE ON *.* TO `a_test`@`localhost`', OWN], 'a_test') == [
        'global privileges: FILE']
    assert grant_problems([OWN, 'GRANT SELECT ON `b_test`.* TO `a_test`@`localhost`'],
                          'a_test') == ['privileges on another database or table: `b_test`.*']
    assert grant_problems(['GRANT ALL PRIVILEGES ON `a_test`.* TO `a_test`@`localhost`'],
                          'a_test') == ["ALL PRIVILEGES on `a_test`.*: more than WordOps' set"]
    assert grant_problems([OWN, 'GRANT `editors` TO `a_test`@`localhost`',
                           'SET DEFAULT ROLE `editors` FOR `a_test`@`localhost`'], 'a_test') == [
        'a role: `editors`']
    assert grant_problems([OWN, 'GRANT EXECUTE, ALTER ROUTINE ON PROCEDURE `a_test`.`p` TO '
                                '`a_test`@`localhost`'], 'a_test') == []  # a routine it made
    assert grant_problems([OWN, 'GRANT EXECUTE ON PROCEDURE `b_test`.`p` TO '
                                '`a_test`@`localhost`'], 'a_test') == [
        'privileges on another database or table: `b_test`.`p`']
    assert grant_problems([OWN + ' WITH GRANT OPTION'], 'a_test') == [
        'it may grant privileges on `a_test`.*']


def grant_fails(server, monkeypatch):
    """setupdatabase as it is when its GRANT fails: the user is made without it."""
    made = server._create_database

    def grant_failed(ctl, domain, changes):
        db = made(ctl, domain, changes)
        server.accounts[db['db_user'], 'localhost'].pop()
        return db
    monkeypatch.setattr(mariadb, 'create_site_database', grant_failed)


def test_create_with_a_failed_grant_is_never_routed_and_leaves_nothing(server, monkeypatch):
    server.init('6.5.5')
    grant_fails(server, monkeypatch)
    with pytest.raises(MTError, match='a.test failed verification: database_writer: '
                                      'no grant on `a_test`.*'):
        server.create('a.test')
    assert not os.path.exists(nginx.enabled(server.settings, 'a.test'))
    assert server.databases == {} and server.accounts == {}
    assert server.ctx.db.get_site('a.test') is None


def test_verify_needs_domains_or_all_and_sites_on_the_shared_core(site):
    for domains, every in (([], False), (['a.test'], True)):
        with pytest.raises(InvalidInput, match='give the domains to verify, or --all'):
            everyday.verify_sites(site.ctx, domains, every)
    with pytest.raises(InvalidInput, match='b.test is not a site on the shared core'):
        everyday.verify_sites(site.ctx, ['b.test'])


def test_delete_drops_the_user_at_the_host_it_was_created_at(site):
    site.ctx.db.initialize_tables()
    with sqlite3.connect(site.settings.wo_database) as c:
        c.execute("UPDATE multitenancy_sites SET db_grant_host = '10.0.0.%'")
    site.accounts['a_test', '10.0.0.%'] = site.accounts.pop(('a_test', 'localhost'))
    mt.delete_site(site.ctx, 'a.test')
    assert site.accounts == {}


def test_the_new_columns_are_added_to_an_older_table(tmp_path):
    path = str(tmp_path / 'dbase.db')
    with sqlite3.connect(path) as c:
        c.execute('CREATE TABLE multitenancy_sites (id INTEGER PRIMARY KEY, domain VARCHAR)')
        c.execute("INSERT INTO multitenancy_sites (domain) VALUES ('old.test')")
    MTDatabase(path).initialize_tables()
    MTDatabase(path).initialize_tables()
    old = MTDatabase(path).get_site('old.test')
    assert (old['db_grant_host'], old['state'], old['last_verification']) == (None, 'live', None)


def test_delete_refuses_to_end_while_the_user_has_an_account_elsewhere(site):
    site.accounts['a_test', '%'] = []
    with pytest.raises(MTError, match=r"a_test still has database accounts at '%' \(the one "
                                      r"dropped was at 'localhost'\)"):
        mt.delete_site(site.ctx, 'a.test')
    site.accounts.pop(('a_test', '%'))
    mt.delete_site(site.ctx, 'a.test')
    assert site.ctx.db.get_site('a.test') is None and site.accounts == {}


def test_a_site_whose_move_stopped_fails_isolation_and_its_delete_drops_the_moves_accounts(site):
    site.ctx.db.set_move('a.test', {'to': 'sovereign', 'accounts': ['a_test']})
    site.ctx.db.note_move_account('a.test', 'a_test1234abcd')
    site.accounts['a_test1234abcd', 'localhost'] = []
    with pytest.raises(PartlyFailed) as raised:
        everyday.verify_sites(site.ctx, ['a.test'])
    found = checks_of(raised.value)['isolation']
    assert (found['ok'], found['detail'], found['hint']) == (
        False, 'a move to the sovereign model stopped part-way',
        'wo multitenancy isolate a.test finishes it')
    record = everyday.site_info(site.ctx, 'a.test')
    assert record['moving_to'] == 'sovereign'
    assert 'moving_to         sovereign (a stopped isolate' in texts.info_text(record)
    mt.delete_site(site.ctx, 'a.test')
    assert site.accounts == {}


def test_info_shows_the_record_and_the_last_verification_never_a_password(site):
    record = everyday.site_info(site.ctx, 'a.test')
    assert (record['db_user'], record['db_grant_host'], record['last_verification']) == (
        'a_test', 'localhost', None)
    assert 'verified          never (wo multitenancy verify a.test)' in texts.info_text(record)
    everyday.verify_sites(site.ctx, ['a.test'])
    record = everyday.site_info(site.ctx, 'a.test')
    assert record['last_verification']['ok'] and record['verified_at']
    assert 'secret' not in json.dumps(record)
    assert 'pass database_writer' in texts.info_text(record)
    with pytest.raises(InvalidInput, match='b.test is not a site on the shared core'):
        everyday.site_info(site.ctx, 'b.test')


def test_a_leftover_of_an_own_core_a_link_out_and_a_release_path_fail_no_legacy_paths(site):
    docroot = os.path.join(site.settings.site_root('a.test'), 'htdocs')
    os.remove(os.path.join(docroot, 'wp-cron.php'))  # a hard link of the stub
    with open(os.path.join(docroot, 'wp-cron.php'), 'w') as f:
        f.write('<?php // its own core')
    os.symlink('/etc', os.path.join(docroot, 'wp-content', 'uploads', 'etc'))
    release = os.path.join(site.settings.releases_dir, 'wp-old', 'wp-content', 'themes')
    site.runner.site('a.test').paths = {'template_root': release, 'upload_path': '',
                                        'theme_roots': {'t': '/etc'}}
    with pytest.raises(PartlyFailed) as raised:
        everyday.verify_sites(site.ctx, ['a.test'])
    found = checks_of(raised.value)
    assert [n for n, c in found.items() if not c['ok']] == ['no_legacy_paths']
    assert found['no_legacy_paths']['detail'].split('; ') == [
        docroot + '/wp-content/uploads/etc links to /etc',
        docroot + '/wp-cron.php is not the entry stub: a file of its own core',
        'option template_root holds ' + release, 'option theme_roots holds /etc']


def test_events_still_due_after_running_them_fail_jobs_drain(site, monkeypatch):
    original = site.runner._task

    def stuck(job):
        code, out, err = original(job)
        return (code, '\n{"due_before": 3, "due_after": 1}\n', err) if job['action'] == 'cron' \
            else (code, out, err)
    monkeypatch.setattr(site.runner, '_task', stuck)
    with pytest.raises(PartlyFailed) as raised:
        everyday.verify_sites(site.ctx, ['a.test'])
    assert checks_of(raised.value)['jobs_drain']['detail'] == (
        '1 of its 3 due WP-Cron events are still due after running them')


def test_a_site_answering_in_another_shape_fails_its_own_checks_not_the_others(site):
    site.create('b.test')
    site.runner.site('a.test').paths = ['not', 'a', 'dict']
    with pytest.raises(PartlyFailed) as raised:
        everyday.verify_sites(site.ctx, [], every=True)
    a, b = raised.value.result['sites']
    assert (a['domain'], a['ok'], b['domain'], b['ok']) == ('a.test', False, 'b.test', True)
    writer = {c['check']: c for c in a['checks']}['database_writer']
    assert 'its WordPress reported paths in a shape our task does not print' in writer['detail']


def test_privileges_granted_to_public_fail_the_writer_check(site):
    site.public_grants = ['GRANT SELECT ON `b_test`.* TO PUBLIC']
    with pytest.raises(PartlyFailed) as raised:
        everyday.verify_sites(site.ctx, ['a.test'])
    assert 'granted to every account (PUBLIC): GRANT SELECT ON `b_test`.* TO PUBLIC' in \
        checks_of(raised.value)['database_writer']['detail']


def test_a_link_that_leads_out_through_another_link_fails_no_legacy_paths(site):
    uploads = os.path.join(site.settings.site_root('a.test'), 'htdocs', 'wp-content', 'uploads')
    os.symlink('.', os.path.join(uploads, 'b'))
    os.symlink('b/b/b/b/b/b/b/../../../../../../../../../etc/passwd', os.path.join(uploads, 'c'))
    with pytest.raises(PartlyFailed) as raised:
        everyday.verify_sites(site.ctx, ['a.test'])
    assert checks_of(raised.value)['no_legacy_paths']['detail'] == (
        uploads + '/c links to b/b/b/b/b/b/b/../../../../../../../../../etc/passwd')


def test_an_upload_path_other_than_its_uploads_fails_no_legacy_paths(site):
    root = site.settings.site_root('a.test')
    for upload_path in ('', ' wp-content/uploads\n', root + '/htdocs/wp-content/uploads/'):
        site.runner.site('a.test').paths = {'upload_path': upload_path}
        assert everyday.verify_sites(site.ctx, ['a.test'])['failed'] == 0
    # PHP's trim() keeps \x0c and U+00A0; '..' (after a link, maybe) names another place
    for upload_path in ('files', '/var/www/other/uploads', root + '/htdocs/files',
                        '\x0cwp-content/uploads', 'wp-content/uploads\u00a0',
                        root + '/htdocs/wp/../wp-content/uploads',
                        root + '/htdocs/wp-content/uploads/link/..'):
        site.runner.site('a.test').paths = {'upload_path': upload_path}
        with pytest.raises(PartlyFailed) as raised:
            everyday.verify_sites(site.ctx, ['a.test'])
        assert checks_of(raised.value)['no_legacy_paths']['detail'] == (
            'option upload_path holds ' + upload_path)


def test_a_site_whose_database_is_not_known_fails_its_database_checks_the_others_go_on(site):
    site.create('b.test')
    with sqlite3.connect(site.settings.wo_database) as c:  # recorded before the registry
        c.execute("UPDATE multitenancy_sites SET db_name = NULL WHERE domain = 'a.test'")
        c.execute("DELETE FROM sites WHERE sitename = 'a.test'")  # as wo site delete does
    with pytest.raises(PartlyFailed) as raised:
        everyday.verify_sites(site.ctx, [], every=True)
    a, b = raised.value.result['sites']
    assert b['ok'] and not a['ok']
    assert [c['check'] for c in a['checks'] if not c['ok']] == [
        'database_writer', 'host_binding', 'schema_and_users']
    assert a['checks'][0]['detail'] == 'its database is not known'


def test_what_a_site_said_cannot_print_lines_of_its_own():
    report = {'domain': 'a.test', 'ok': False, 'checks': [{
        'check': 'database_writer', 'ok': False, 'hint': 'h',
        'detail': 'cannot connect: x\nb.test: verified\x1b[2K'}]}
    assert texts.verification_text([report]).splitlines()[1] == (
        '  FAIL database_writer   cannot connect: x?b.test: verified?[2K')


def test_keep_failed_leaves_a_site_failing_verification_unrouted_for_diagnosis(server, monkeypatch):
    server.init('6.5.5')
    grant_fails(server, monkeypatch)
    with pytest.raises(MTError) as failed:
        server.create('a.test', keep_failed=True)
    assert 'database_writer: no grant on `a_test`.*' in failed.value.message
    assert 'kept unrouted (--keep-failed): wo multitenancy info a.test' in failed.value.hint
    assert not os.path.exists(nginx.enabled(server.settings, 'a.test'))
    assert everyday.site_info(server.ctx, 'a.test')['state'] == 'failed'
    assert server.databases == {'a_test': 'a.test'}
    assert os.path.isdir(os.path.join(server.settings.site_root('a.test'), 'htdocs'))
    with pytest.raises(PartlyFailed) as unhealthy:  # nginx's default site would answer
        everyday.status(server.ctx)
    site, = unhealthy.value.result['sites']
    assert (site['ok'], site['state'], site['problem']) == (
        False, 'failed', 'not live (failed): wo multitenancy info shows why')
    with pytest.raises(PartlyFailed) as failed:
        everyday.verify_sites(server.ctx, ['a.test'])
    assert checks_of(failed.value)['serves']['detail'].startswith('not live (failed)')
    mt.delete_site(server.ctx, 'a.test')
    assert server.databases == {} and server.accounts == {}
    assert not os.path.exists(server.settings.site_root('a.test'))


def test_a_site_whose_job_goes_on_too_long_is_named_unverified_the_others_verified(site,
                                                                                  monkeypatch):
    site.create('b.test')
    busy = lock.site_job

    def site_job(settings, domain, wait=0):
        if domain == 'b.test':
            raise Busy('a job of b.test is running', 'try again')
        return busy(settings, domain, wait)
    monkeypatch.setattr(lock, 'site_job', site_job)
    with pytest.raises(PartlyFailed) as raised:
        everyday.verify_sites(site.ctx, ['a.test', 'b.test'])
    first, second = raised.value.result['sites']
    assert first['ok'] and first['domain'] == 'a.test'
    assert second == {'domain': 'b.test', 'ok': False, 'checks': [{
        'check': 'verification', 'ok': False, 'detail': 'a job of b.test is running',
        'hint': 'run wo multitenancy verify b.test again'}]}
