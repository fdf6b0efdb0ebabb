"""The system cron's logic at its seams: the database read (mariadb.option_start), the
site's WordPress (wordpress.task), the clock and sleep; locks and files in a sandbox."""
import json
import os

import pytest

from wo.multitenancy import cron, lock, mariadb, wordpress
from wo.multitenancy.errors import MTError

CRON_OPTION = ('a:3:{i:1796170000;a:1:{s:16:"wp_version_check";a:1:{s:32:"40cd750bba9870f18aada2478b24840a"'
               ';a:3:{s:8:"schedule";s:10:"twicedaily";s:4:"args";a:0:{}s:8:"interval";i:43200;}}}')


class Registry:
    def __init__(self, sites):
        self.sites, self.crons = {s['domain']: s for s in sites}, {}

    def get_site(self, domain):
        return self.sites.get(domain)

    def record_cron(self, domain, report):
        self.crons[domain] = report


class Context:
    def __init__(self, settings, sites):
        self.settings, self.ctl, self.db = settings, None, Registry(sites)


def _site(domain, state='live'):
    return {'domain': domain, 'db_name': domain.replace('.', '_'), 'php_version': '8.2',
            'state': state}


@pytest.fixture
def wordpress_of(sandbox, monkeypatch):
    """Sites' cron options (by database) and the cron tasks run, in order."""
    options, ran = {}, []
    monkeypatch.setattr(mariadb, 'option_start', lambda ctl, db, name, length:
                        options[db][:length] if name == 'cron' and db in options else None)

    def task(settings, domain, php_version, action, timeout):
        assert action == 'cron' and timeout == cron.JOB_SECONDS
        ran.append(domain)
        return {'due_before': 2, 'due_after': 0}
    monkeypatch.setattr(wordpress, 'task', task)
    os.makedirs(os.path.join(sandbox.shared_content, 'mu-plugins'))
    os.makedirs(os.path.join(sandbox.shared_root, 'config'))
    return options, ran


def test_the_next_event_is_the_first_key_of_the_cron_option(wordpress_of):
    options, _ = wordpress_of
    options['a_test'] = CRON_OPTION
    assert cron.next_event(None, _site('a.test')) == {'at': 1796170000, 'hook': 'wp_version_check'}
    options['a_test'] = 'a:1:{s:7:"version";i:2;}'  # nothing scheduled
    assert cron.next_event(None, _site('a.test')) is None
    unknown = {'at': None, 'hook': None}  # run: its WordPress tells
    assert cron.next_event(None, dict(_site('a.test'), db_name=None)) == unknown
    del options['a_test']  # no cron option: nothing scheduled
    assert cron.next_event(None, _site('a.test')) is None


def test_a_site_starts_at_its_own_second_the_same_every_minute():
    seconds = {cron.splay('site{0}.test'.format(n)) for n in range(200)}
    assert seconds <= set(range(cron.SPLAY_SECONDS)) and len(seconds) > cron.SPLAY_SECONDS // 2
    assert cron.splay('a.test') == cron.splay('a.test')


def test_only_due_sites_run_each_at_its_second(sandbox, wordpress_of):
    options, ran = wordpress_of
    due, later = 'a_test', 'b_test'
    options[due] = CRON_OPTION
    options[later] = CRON_OPTION.replace('1796170000', '1796179999')
    options['c_test'] = 'a:1:{s:7:"version";i:2;}'
    sites = [_site('a.test'), _site('b.test'), _site('c.test')]
    now, slept = [1796170100.0], []

    def sleep(seconds):
        slept.append(seconds)
        now[0] += seconds
    ctx = Context(sandbox, sites)
    reports = cron.run_due(ctx, sites, clock=lambda: now[0], sleep=sleep)
    assert ran == ['a.test'] and list(reports) == ['a.test']
    assert reports['a.test']['ok'] and reports['a.test']['ran'] == 2
    assert ctx.db.crons['a.test'] == reports['a.test']
    assert sum(slept) == max(cron.splay(s['domain']) for s in sites)  # each waited its second
    with open(cron.heartbeat_file(sandbox)) as f:
        assert int(f.read()) > 0
    assert os.path.isfile(os.path.join(sandbox.shared_content, 'mu-plugins', cron.PLUGIN))


def test_a_site_deleted_meanwhile_and_one_whose_job_runs_are_left_alone(sandbox, wordpress_of):
    options, ran = wordpress_of
    options['a_test'] = options['b_test'] = CRON_OPTION
    ctx = Context(sandbox, [_site('a.test', state='deleting'), _site('b.test')])
    with lock.site_job(sandbox, 'b.test'):
        reports = cron.run_due(ctx, [_site('a.test'), _site('b.test')], sleep=lambda s: None)
    assert ran == [] and reports['a.test']['error'] == 'no longer live'
    assert reports['b.test']['error'] == 'its job was running already'


def test_a_failing_site_is_reported_and_kept(sandbox, wordpress_of, monkeypatch):
    options, _ = wordpress_of
    options['a_test'] = CRON_OPTION

    def broken(*args, **kwargs):
        raise MTError('WordPress cron failed for a.test: Fatal error')
    monkeypatch.setattr(wordpress, 'task', broken)
    ctx = Context(sandbox, [_site('a.test')])
    report = cron.run_due(ctx, [_site('a.test')], sleep=lambda s: None)['a.test']
    assert not report['ok'] and 'Fatal error' in report['error']
    assert json.loads(json.dumps(ctx.db.crons['a.test'])) == report


def test_the_heartbeat_says_whether_the_system_cron_runs(sandbox, wordpress_of):
    assert cron.heartbeat(sandbox) == {'running': False, 'last_run': None}
    cron.install(sandbox)
    assert cron.heartbeat(sandbox)['running']
    old = os.stat(cron.heartbeat_file(sandbox)).st_mtime - cron.HEARTBEAT_STALE - 1
    os.utime(cron.heartbeat_file(sandbox), (old, old))
    assert not cron.heartbeat(sandbox)['running']


def test_a_cron_option_that_cannot_be_read_makes_the_site_run(wordpress_of, monkeypatch):
    """Its WordPress then tells; a site whose queue root cannot read is not left out."""
    options, _ = wordpress_of
    options['a_test'] = 'a:2:{s:3:"odd";i:1;}'
    assert cron.next_event(None, _site('a.test')) == {'at': None, 'hook': None}
    assert cron.is_due({'at': None, 'hook': None}, 0)

    def broken(ctl, db, name, length):
        raise RuntimeError('(1054, "Unknown column")')
    monkeypatch.setattr(mariadb, 'option_start', broken)
    assert cron.next_event(None, _site('a.test')) == {'at': None, 'hook': None}
    assert not cron.is_due(None, 0)


@pytest.mark.parametrize('printed', [{'due_before': float('inf'), 'due_after': 0},
                                     {'due_before': True, 'due_after': 0}, ['x'], None])
def test_counts_of_another_shape_fail_that_site_alone(sandbox, wordpress_of, monkeypatch,
                                                      printed):
    options, _ = wordpress_of
    options['a_test'] = options['b_test'] = CRON_OPTION
    monkeypatch.setattr(wordpress, 'task', lambda *a, **k: printed)
    ctx = Context(sandbox, [_site('a.test'), _site('b.test')])
    reports = cron.run_due(ctx, [_site('a.test'), _site('b.test')], sleep=lambda s: None)
    assert [r['ok'] for r in reports.values()] == [False, False]
    assert all('shape' in r['error'] for r in reports.values())


def test_an_unexpected_error_of_one_site_does_not_stop_the_run(sandbox, wordpress_of,
                                                               monkeypatch):
    options, ran = wordpress_of
    options['a_test'] = options['b_test'] = CRON_OPTION
    real = wordpress.task

    def task(settings, domain, *args, **kwargs):
        if domain == 'a.test':
            raise OverflowError('cannot convert float infinity to integer')
        return real(settings, domain, *args, **kwargs)
    monkeypatch.setattr(wordpress, 'task', task)
    ctx = Context(sandbox, [_site('a.test'), _site('b.test')])
    reports = cron.run_due(ctx, [_site('a.test'), _site('b.test')], sleep=lambda s: None)
    assert 'OverflowError' in reports['a.test']['error'] and reports['b.test']['ok']
    assert ran == ['b.test']
