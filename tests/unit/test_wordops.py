import pytest

from wo.multitenancy.errors import MTError
from wo.multitenancy.wordops import Caller, WordOpsExit


class App:
    config = 'the config'
    closed = False

    def close(self, code=None):
        self.closed = True

    def render(self, data, template, out=None):
        return template


def test_a_helpers_exit_becomes_an_error_and_the_app_stays_open():
    app = App()
    with pytest.raises(WordOpsExit) as stopped:
        Caller(app).app.close(1)
    assert isinstance(stopped.value, MTError) and stopped.value.exit_code == 1
    assert stopped.value.message == 'a WordOps helper stopped (exit 1)'
    assert stopped.value.hint == 'see /var/log/wo/wordops.log for its reason'
    assert app.closed is False


def test_everything_else_is_the_apps():
    app = App()
    caller = Caller(app)
    assert caller.app.config == 'the config'
    assert caller.app.render({}, 'virtualconf.mustache') == 'virtualconf.mustache'
