"""wordpress.task reads what the site's own PHP printed: it may print anything."""
import subprocess

import pytest

from wo.multitenancy import runner, wordpress
from wo.multitenancy.errors import MTError


@pytest.fixture
def printed(monkeypatch, sandbox):
    def answer(stdout):
        monkeypatch.setattr(runner, 'run', lambda argv, **kwargs: subprocess.CompletedProcess(
            argv, 0, stdout, ''))
        return wordpress.task(sandbox, 'a.test', '8.2', 'verify')
    return answer


def test_the_last_line_is_the_result(printed):
    assert printed('notice\n{"ok": true}\n') == {'ok': True}


def test_a_page_wordpress_died_with_is_named_by_its_heading(printed):
    with pytest.raises(MTError, match=r'printed no result: Error establishing a database '
                                      r'connection\Z'):
        printed('<html><body><h1 class="x">Error establishing\n a database connection</h1>'
                '<p>more</p></body></html>')


def test_nesting_deeper_than_python_parses_is_no_result(printed):
    with pytest.raises(MTError, match='printed no result'):
        printed('[' * 200000)
