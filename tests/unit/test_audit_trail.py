"""The audit trail: events of the commands that change something, closed with their
result, killed ones found, listed, summed up by day and pruned."""
import datetime
import json
import os

import pytest

from wo.cli.plugins import multitenancy_everyday_functions as everyday
from wo.cli.plugins import multitenancy_functions as mt
from wo.multitenancy import audit, mail, texts
from wo.multitenancy.errors import CommandFailed, InvalidInput, MTError, PartlyFailed

NOW = datetime.datetime(2026, 12, 1, 12, 0, tzinfo=datetime.timezone.utc)


def run(server, name, command, argv=(), domains=()):
    return mt.run(command, server.app, server.lines.append, name, list(argv), list(domains))


def events(server):
    return everyday.audit_events(server.ctx)['events']


def test_a_command_that_changes_something_is_recorded_with_its_result(server):
    server.init()
    run(server, 'create', lambda ctx: mt.create_site(ctx, ['a.test']), ['create', 'a.test'],
        ['a.test'])
    event, = events(server)
    assert (event['command'], event['result'], event['exit_code']) == ('create', 'ok', 0)
    assert event['sites'] == ['a.test'] and event['arguments'] == ['create', 'a.test']
    assert event['actor'] and event['seconds'] >= 0 and event['ended_at']
    assert event['state_after'] is None  # neither the release nor the baseline changed
    assert 'password' not in json.dumps(event)


def test_a_refusal_is_recorded_with_its_exit_code_and_message(server):
    def refused(ctx):
        raise InvalidInput('no such thing')
    with pytest.raises(InvalidInput):
        run(server, 'delete', refused, ['delete', 'x.test'], ['x.test'])
    event, = events(server)
    assert (event['result'], event['exit_code'], event['detail']) == ('refused', 2,
                                                                       'no such thing')


def test_sites_that_failed_in_a_run_over_many_are_named_with_their_reasons(server):
    def partly(ctx):
        raise PartlyFailed('', result={'sites': [
            {'domain': 'a.test', 'status': 'converted'},
            {'domain': 'b.test', 'status': 'refused', 'error': 'b.test has no wp-config.php'}]},
            exit_code=2)
    with pytest.raises(PartlyFailed):
        run(server, 'convert', partly, ['convert', '--all'])
    event, = events(server)
    assert (event['result'], event['detail']) == ('refused', 'b.test: b.test has no wp-config.php')


def test_a_bug_is_recorded_as_failed_not_as_killed(server):
    with pytest.raises(ZeroDivisionError):
        run(server, 'create', lambda ctx: 1 / 0, ['create', 'a.test'], ['a.test'])
    event, = events(server)
    assert (event['result'], event['exit_code']) == ('failed', 1)
    assert event['detail'] == 'ZeroDivisionError: division by zero'


def test_commands_that_change_nothing_are_not_recorded(server):
    run(server, 'list', everyday.list_sites)
    assert events(server) == []


def test_a_command_acting_on_every_site_names_them_and_the_release_it_changed(server):
    server.init()
    server.create('a.test')
    server.create('b.test')
    run(server, 'update', lambda ctx: mt.update(ctx, server.tarball('6.5.5')), ['update'])
    event, = events(server)
    assert event['sites'] == ['a.test', 'b.test']
    assert event['state_before']['release'] != event['state_after']['release']


def test_an_event_left_started_by_a_process_that_is_gone_is_interrupted(server):
    server.ctx.db.add_event({'started_at': '2026-12-01 10:00:00.000000', 'command': 'update',
                             'result': 'started', 'pid': 2 ** 22 + 1, 'pid_start': 1})
    mine = audit.begin(server.ctx, 'verify', [], [])
    killed, running = events(server)
    assert killed['result'] == 'interrupted' and 'killed' in killed['detail']
    assert running['result'] == 'started'  # this process is alive
    audit.close(server.ctx, mine, 3)
    assert events(server)[1]['result'] == 'unhealthy'


def test_secrets_never_reach_the_trail():
    assert audit.without_secrets(
        ['init', '--source', 'https://user:pa55@example.com/wp.tar.gz', '--db-password=x',
         '--token', 'abc', 'example.com']) == [
        'init', '--source', 'https://***@example.com/wp.tar.gz', '--db-password=***',
        '--token', '***', 'example.com']


@pytest.mark.parametrize('text,expected', [
    ('2h', '2026-12-01 10:00:00.000000'), ('7d', '2026-11-24 12:00:00.000000'),
    ('30m', '2026-12-01 11:30:00.000000'), ('2026-11-30T08:00:00Z', '2026-11-30 08:00:00.000000')])
def test_when_takes_an_age_or_a_time(text, expected):
    assert audit.when(text, NOW) == expected


def test_when_refuses_what_is_no_time():
    with pytest.raises(InvalidInput, match='not a date'):
        audit.when('soon')


def test_the_day_defaults_to_yesterday_and_must_be_a_date():
    assert audit.day_of(None, NOW) == datetime.date(2026, 11, 30)
    assert audit.day_of('2026-12-01') == datetime.date(2026, 12, 1)
    with pytest.raises(InvalidInput):
        audit.day_of('yesterday')


def add(server, started_at, command, result, sites=(), detail=None):
    server.ctx.db.add_event({'started_at': started_at, 'command': command, 'result': result,
                             'sites': json.dumps(list(sites)), 'detail': detail})


def test_a_quiet_day_has_no_news_and_prints_nothing(server):
    add(server, local_stamp(2026, 11, 30, 9), 'create', 'ok', ['a.test'])
    report = everyday.audit_summary(server.ctx, '2026-11-30')
    assert (report['news'], report['counts']) == (False, {'create': {'ok': 1}})
    assert texts.summary_text(report) == ''


def test_a_day_with_failures_names_them_and_mails_alert_email(server, monkeypatch):
    sent = []
    monkeypatch.setattr(mail, 'send', lambda to, subject, body: sent.append((to, subject, body)))
    server.configure(alert_email='ops@example.com')
    add(server, local_stamp(2026, 11, 30, 9), 'verify', 'unhealthy', ['a.test'])
    add(server, local_stamp(2026, 11, 30, 10), 'login-use', 'refused', ['b.test'], 'expired')
    add(server, local_stamp(2026, 11, 30, 10), 'login-use', 'refused', ['b.test'],
        'bad signature; 41 times')
    add(server, local_stamp(2026, 11, 30, 11), 'create', 'ok', ['c.test'])
    add(server, local_stamp(2026, 12, 1, 1), 'delete', 'failed', ['d.test'])  # the next day
    report = everyday.audit_summary(server.ctx, '2026-11-30')
    assert report['failed_sites'] == ['a.test', 'b.test']
    assert report['failed_verifications'] == ['a.test']
    assert report['refused_logins'] == {'expired': 1, 'bad signature': 41}
    assert report['mailed_to'] == 'ops@example.com'
    (to, subject, body), = sent
    assert to == 'ops@example.com' and '2026-11-30' in subject and 'a.test' in body


def test_the_summary_prunes_events_older_than_audit_keep_days(server):
    server.configure(audit_keep_days=30)
    add(server, '2000-01-01 00:00:00.000000', 'create', 'ok')
    add(server, audit.when('1d'), 'create', 'ok')
    assert everyday.audit_summary(server.ctx)['pruned'] == 1
    assert len(events(server)) == 1


def test_mail_goes_to_sendmail_and_its_refusal_names_the_fix(monkeypatch):
    given = []

    def sendmail(argv, input=None, timeout=None):
        given.append((argv, input))
        raise CommandFailed(argv, 75, '', 'no MTA')
    monkeypatch.setattr(mail.runner, 'run', sendmail)
    with pytest.raises(MTError, match='could not mail ops@example.com') as refused:
        mail.send('ops@example.com', 'News', 'body')
    (argv, message), = given
    assert argv == ['/usr/sbin/sendmail', '-t', '-oi']
    assert 'To: ops@example.com' in message and 'Subject: News' in message
    assert 'alert_email' in refused.value.hint


def local_stamp(*parts):
    return audit._stamp(datetime.datetime(*parts).astimezone())


def test_the_audit_table_is_roots_alone(server):
    assert os.stat(server.settings.wo_database).st_mode & 0o077 == 0
