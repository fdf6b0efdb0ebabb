"""Probes over a fake runner's curl output."""
import pytest

from wo.multitenancy import health, runner
from wo.multitenancy.errors import CommandFailed

FRONT = ('HTTP/1.1 200 OK\nContent-Type: text/html\n\n<html><meta name="generator" '
         'content="WordPress 6.5.5" /><p>{0}</p></html>')
ADMIN = 'HTTP/1.1 302 Found\nLocation: http://a.test/{0}\n\n'


@pytest.fixture
def answers(monkeypatch):
    """answers[path] = what curl prints for it (a CommandFailed: curl fails)."""
    given, asked = {}, []

    def curl(argv, **kw):
        asked.append(argv)
        path = argv[-1].split('a.test', 1)[1].split('?')[0]
        if isinstance(given[path], CommandFailed):
            raise given[path]
        return type('Done', (), {'stdout': given[path]})
    monkeypatch.setattr(runner, 'run', curl)
    given['asked'] = asked
    return given


def test_a_good_front_page(answers):
    answers['/'] = FRONT.format('hello')
    assert health.probe('a.test') == {'ok': True, 'status': 200, 'version': '6.5.5',
                                      'problem': None}
    argv = answers['asked'][0]
    assert argv[argv.index('--resolve') + 1] == 'a.test:80:127.0.0.2'
    assert argv[-1].startswith('http://a.test/?mt-probe=')


def test_https_probes_port_443(answers):
    answers['/'] = FRONT.format('hello')
    assert health.probe('a.test', https=True)['ok']
    argv = answers['asked'][0]
    assert argv[argv.index('--resolve') + 1] == 'a.test:443:127.0.0.2'
    assert argv[-1].startswith('https://a.test/?mt-probe=')


@pytest.mark.parametrize('page, problem', [
    ('HTTP/1.1 500 Internal Server Error\n\nboom', 'HTTP 500'),
    (FRONT.format('There has been a critical error on this website.'),
     'There has been a critical error'),
    (FRONT.format('Error establishing a database connection'), 'Error establishing a database'),
    ('curl: (7) Failed to connect', 'HTTP 0'),
])
def test_what_makes_a_site_unhealthy(answers, page, problem):
    answers['/'] = page
    assert health.probe('a.test')['problem'] == problem


def test_a_page_cut_short_fails_where_the_whole_page_is_asked_for(answers):
    answers['/'] = FRONT.format('footer')[:-len('</html>')]
    assert health.probe('a.test')['ok']
    assert health.probe('a.test', whole=True)['problem'] == \
        'the page stops before </html>: PHP failed part-way'


def test_curl_failing_is_a_problem_not_an_exception(answers):
    answers['/'] = CommandFailed(['curl'], 28, stderr='curl: (28) Operation timed out')
    assert health.probe('a.test') == {'ok': False, 'status': 0, 'version': None,
                                      'problem': 'curl exited with 28: curl: (28) Operation timed out'}


def test_a_release_runs_cleanly_when_the_version_matches_and_admin_asks_for_login(answers):
    answers['/'] = FRONT.format('hello')
    answers['/wp-admin/'] = ADMIN.format('wp-login.php?redirect_to=x')
    assert health.release_problem('a.test', False, '6.5.5') is None


@pytest.mark.parametrize('admin, wanted, problem', [
    (ADMIN.format('wp-login.php'), '6.6', 'serves WordPress 6.5.5, not 6.6'),
    (ADMIN.format('wp-admin/upgrade.php'), '6.5.5',
     '/wp-admin/ answers 302 http://a.test/wp-admin/upgrade.php'),
    ('HTTP/1.1 200 OK\n\n', '6.5.5', '/wp-admin/ answers 200 '),
])
def test_why_a_release_does_not_run_cleanly(answers, admin, wanted, problem):
    answers['/'] = FRONT.format('hello')
    answers['/wp-admin/'] = admin
    assert health.release_problem('a.test', False, wanted) == problem
