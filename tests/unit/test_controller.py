"""The controller prints what a command decided: its result, then one Error line on
stderr and the exit code; a signal or an unexpected OSError ends a command the same
way, after its undo."""
import errno
import json
import signal

import pytest
from cement.core.exc import CaughtSignal

from wo.cli.plugins import multitenancy as controllers
from wo.cli.plugins import multitenancy_everyday as everyday
from wo.cli.plugins import multitenancy_everyday_functions as everyday_functions
from wo.cli.plugins import multitenancy_functions as mt
from wo.multitenancy import nginx
from wo.multitenancy.errors import Interrupted, InvalidInput, MTError

CREATE = dict(domain=['a.test'], letsencrypt=False, hsts=False, dns=None, admin_email=None,
              admin_user='admin', isolation=None, keep_failed=False, json=False)


@pytest.fixture
def initialized(server):
    server.init('6.5.5')
    return server


def ended(command):
    """Run a controller's command; its exit code (None: it did not exit)."""
    try:
        command.default()
    except SystemExit as e:
        assert command.app.closed == [e.code]
        return e.code
    return None


def error_lines(capsys):
    err = capsys.readouterr().err
    assert err.endswith('\n')
    return err.splitlines()


def interrupt(signum):
    def raise_signal(job):
        raise CaughtSignal(signum, None)
    return raise_signal


@pytest.mark.parametrize('signum, code', [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_during_create_undoes_it_and_exits_128_plus_its_number(initialized, capsys,
                                                                        signum, code):
    initialized.runner.on_task['install', 'a.test'] = interrupt(signum)
    assert ended(initialized.controller(controllers.CreateController, **CREATE)) == code
    assert error_lines(capsys) == ['Error: interrupted by {0} while installing WordPress: its '
                                   'changes were undone -- run the same command again'
                                   .format(signal.Signals(signum).name)]
    assert not initialized.ctx.db.get_site('a.test') and initialized.databases == {}
    assert not nginx.serves(initialized.settings, 'a.test',
                            initialized.settings.site_root('a.test') + '/htdocs')


def test_a_signal_after_the_switch_keeps_it_and_says_the_next_run_finishes(initialized):
    initialized.create('a.test')
    initialized.create('b.test')
    initialized.runner.on_task['upgrade', 'b.test'] = interrupt(signal.SIGTERM)
    with pytest.raises(Interrupted) as stopped:
        initialized.run(lambda ctx: mt.update(ctx, source=initialized.tarball('6.6'), force=True))
    new = mt.releases.current(initialized.settings)
    assert stopped.value.exit_code == 143
    assert stopped.value.message == ('interrupted by SIGTERM while bringing the databases to '
                                     '{0}: what was done stays'.format(new))
    assert stopped.value.hint == 'run the same command again: it finishes the rest'
    assert mt.releases.version(initialized.settings, new)[0] == '6.6'


def test_an_unexpected_os_error_is_one_line_and_exit_1(initialized, capsys):
    def disk_full(job):
        raise OSError(errno.ENOSPC, 'No space left on device', '/var/www/a.test/htdocs')
    initialized.runner.on_task['install', 'a.test'] = disk_full
    assert ended(initialized.controller(controllers.CreateController, **CREATE)) == 1
    assert error_lines(capsys) == [
        "Error: [Errno 28] No space left on device: '/var/www/a.test/htdocs' while installing "
        "WordPress -- its changes were undone; fix the cause (disk space, permissions) and run "
        "the same command again"]
    assert not initialized.ctx.db.get_site('a.test')


def test_a_refusal_ends_the_command_even_where_close_does_not_exit(initialized, capsys):
    command = initialized.controller(controllers.DeleteController, domain=['a.test', 'b.test'],
                                     force=True, json=False)
    assert ended(command) == 2
    assert error_lines(capsys) == ['Error: give exactly one domain (got a.test b.test) -- '
                                   'wo multitenancy delete example.com']
    assert capsys.readouterr().out == ''


def test_refuse_never_returns(capsys):
    from fake_server import FakeApp
    app = FakeApp()
    with pytest.raises(SystemExit) as stopped:
        controllers.refuse(app, InvalidInput('nothing was changed', 'answer y to go on'))
    assert (stopped.value.code, app.closed) == (2, [2])
    assert capsys.readouterr().err == 'Error: nothing was changed -- answer y to go on\n'


def test_a_dry_run_is_kept_out_of_the_audit_trail_and_a_real_run_is_not(initialized):
    for dry_run in (True, False):
        assert ended(initialized.controller(
            controllers.ConvertController, domain=['missing.test'], every=False, force=False,
            dry_run=dry_run, isolation=None, json=True)) == 2
    event, = everyday_functions.audit_events(initialized.ctx)['events']
    assert (event['command'], event['result']) == ('convert', 'refused')


def test_convert_prints_every_site_then_exits_with_the_outcome(initialized, capsys):
    command = initialized.controller(controllers.ConvertController, domain=['missing.test'],
                                     every=False, force=False, dry_run=False, isolation=None,
                                     json=False)
    assert ended(command) == 2
    captured = capsys.readouterr()
    assert captured.out == ('refused    missing.test: missing.test is not a WordOps site -- '
                            'see wo site list\n1 site(s): 1 refused\n')
    assert captured.err == ''


def test_sites_not_finished_print_the_result_then_one_error_line(initialized, capsys):
    initialized.create('a.test')
    initialized.runner.fail['upgrade', 'a.test'] = 'the database went away'
    command = initialized.controller(controllers.UpdateController, source=None,
                                     wp_version=None, force=True, json=False,
                                     core_only=False, plugins_only=False)
    initialized.tarball(initialized.web.latest)
    assert ended(command) == 1
    captured = capsys.readouterr()
    assert captured.out.startswith('Updated 1 site(s) to wp-')
    assert captured.err.splitlines() == [
        'Error: 1 site(s) not on the new release: a.test: WordPress upgrade failed for a.test: '
        'wp-runner: the database went away -- fix the cause and run the same command again: it '
        'finishes them']


def test_an_unhealthy_site_prints_the_status_and_exits_3(initialized, capsys):
    initialized.create('a.test')
    initialized.runner.broken['a.test'] = 'Fatal error'
    assert ended(initialized.controller(everyday.StatusController, json=False)) == 3
    captured = capsys.readouterr()
    assert 'a.test' in captured.out and 'UNHEALTHY HTTP 500' in captured.out
    assert captured.err == ''


def test_a_command_that_succeeds_prints_its_result_and_does_not_exit(initialized, capsys):
    assert ended(initialized.controller(controllers.CreateController, **CREATE)) is None
    assert capsys.readouterr().out.startswith('Site ready: http://a.test/\n')


def test_mt_errors_go_on_through_run_untouched(server):
    error = MTError('x')

    def fails(ctx):
        raise error
    with pytest.raises(MTError) as raised:
        server.run(fails)
    assert raised.value is error


def test_init_twice_says_it_is_already_initialized(initialized, capsys):
    assert ended(initialized.controller(controllers.InitController, source=None,
                                        force=False, json=False)) is None
    assert capsys.readouterr().out.startswith('already initialized on wp-')
    assert ended(initialized.controller(controllers.InitController, source=None,
                                        force=False, json=True)) is None
    assert json.loads(capsys.readouterr().out)['changed'] is False


def test_rollback_to_an_unknown_release_exits_2_naming_the_kept_ones(initialized, capsys):
    kept = mt.releases.current(initialized.settings)
    command = initialized.controller(controllers.RollbackController, to='wp-1', force=False,
                                     json=False)
    assert ended(command) == 2
    assert error_lines(capsys) == ['Error: no release wp-1 to roll back to -- releases kept: '
                                   + kept + ' (6.5.5)']


def test_remove_shows_the_plan_then_refuses_while_sites_exist(initialized, capsys):
    initialized.create('a.test')
    assert ended(initialized.controller(controllers.RemoveController, force=False,
                                        json=False)) == 2
    assert error_lines(capsys) == [
        'This removes {0} and 1 site(s): a.test'.format(initialized.settings.shared_root),
        'Error: 1 site(s) still run on the shared core -- delete them first, or pass --force '
        'to delete them too']
    assert initialized.ctx.db.get_site('a.test')


def test_list_revert_and_baseline_print_their_results(initialized, capsys):
    initialized.create('a.test')
    assert ended(initialized.controller(everyday.ListController, json=False)) is None
    assert capsys.readouterr().out.startswith('a.test ')
    assert ended(initialized.controller(everyday.BaselineController, add_plugin=[],
                                        remove_plugin=[], theme=None, pin_plugin=[],
                                        pin_theme=[], json=True)) is None
    assert json.loads(capsys.readouterr().out)['plugins'] == ['nginx-helper', 'redis-cache']
    assert ended(initialized.controller(controllers.RevertController, domain=['a.test'],
                                        json=False)) is None
    assert capsys.readouterr().out == 'a.test runs on its own core again.\n'
