"""The one place programs are started: real, harmless programs."""
import os
import subprocess

import pytest

from wo.multitenancy import runner
from wo.multitenancy.errors import CommandFailed


def test_argv_items_become_text_and_output_is_captured():
    done = runner.run(['printf', '%s-%s', 1, 'two'])
    assert (done.args, done.returncode, done.stdout) == (['printf', '%s-%s', '1', 'two'], 0, '1-two')


def test_input_goes_to_stdin():
    assert runner.run(['cat'], input='{"action": "x"}').stdout == '{"action": "x"}'


def test_a_non_zero_exit_raises_with_the_output():
    with pytest.raises(CommandFailed) as failed:
        runner.run(['sh', '-c', 'echo partial; echo broken >&2; exit 3'])
    error = failed.value
    assert (error.argv, error.returncode) == (['sh', '-c', 'echo partial; echo broken >&2; exit 3'], 3)
    assert (error.stdout, error.stderr) == ('partial\n', 'broken\n')
    assert error.message == 'sh exited with 3: broken'


def test_check_false_returns_the_failure():
    assert runner.run(['sh', '-c', 'exit 5'], check=False).returncode == 5


def test_user_runs_it_through_runuser():
    done = runner.run(['id', '-un'], user='www-data')
    assert done.args == ['runuser', '-u', 'www-data', '--', 'id', '-un']
    assert done.stdout == 'www-data\n'


def test_output_is_read_as_text_mode_reads_it():
    """Universal newlines, as subprocess' text mode: curl's headers end in \\r\\n."""
    done = runner.run(['printf', 'HTTP/1.1 200 OK\\r\\nA: b\\r\\n\\r\\nbody\\rend\\xff'])
    assert done.stdout == 'HTTP/1.1 200 OK\nA: b\n\nbody\nend\ufffd'


def test_a_timeout_is_a_failure_with_124():
    with pytest.raises(CommandFailed) as failed:
        runner.run(['sleep', '30'], timeout=0.2)
    assert failed.value.returncode == 124
    assert failed.value.message == 'sleep exited with 124: timed out after 0.2s'


def test_a_missing_program_is_a_failure_with_127():
    with pytest.raises(CommandFailed) as failed:
        runner.run(['/nonexistent/wo-mt-program', '-v'])
    assert failed.value.returncode == 127
    assert failed.value.argv == ['/nonexistent/wo-mt-program', '-v']


def test_a_site_user_gets_no_terminal_stdin_or_environment_of_roots(monkeypatch):
    """A site's PHP could type into root's terminal (TIOCSTI) or read root's secrets from
    its environment: it runs in a session of its own, with stdin empty and SITE_ENV."""
    monkeypatch.setenv('CF_Token', 'root-secret')
    done = runner.run(['sh', '-c', 'ps -o sid= -p $$; cat; env'], user='www-data')
    session, *env = done.stdout.split('\n')
    assert int(session) != os.getsid(0)
    assert 'CF_Token=root-secret' not in env and 'LANG=C.UTF-8' in env


def test_a_timeout_kills_what_the_site_user_started():
    with pytest.raises(CommandFailed):
        runner.run(['sh', '-c', 'sleep 30 & echo $! > /tmp/wo-mt-runner-child; wait'],
                   user='www-data', timeout=0.5)
    with open('/tmp/wo-mt-runner-child') as f:
        child = int(f.read())
    os.unlink('/tmp/wo-mt-runner-child')
    assert not os.path.exists('/proc/{0}'.format(child)) or \
        open('/proc/{0}/stat'.format(child)).read().split()[2] == 'Z'


def test_of_a_site_users_output_only_the_last_bytes_are_read(monkeypatch):
    monkeypatch.setattr(runner, 'SITE_OUTPUT', 4096)
    done = runner.run(['sh', '-c', 'head -c 100000 /dev/zero; echo "{}"'], user='www-data')
    assert len(done.stdout) == 4096 and done.stdout.endswith('\x00{}\n')
    assert len(runner.run(['head', '-c', '100000', '/dev/zero']).stdout) == 100000  # root's


def test_a_process_the_site_detaches_keeps_nothing_waiting():
    """setsid leaves the process group a timeout kills; it holds no pipe of ours."""
    try:  # its stderr is ours: a pipe would be held open for the 31 s it sleeps
        done = runner.run(['sh', '-c', 'setsid sleep 31 >/dev/null & echo started'],
                          user='www-data', timeout=5)
    finally:
        subprocess.run(['pkill', '-u', 'www-data', '-f', 'sleep 31'])
    assert done.stdout == 'started\n'
