"""How wo multitenancy calls WordOps' own helpers (setupdatabase, WOAcme, SSL, the
template engine): they expect a controller as `self`, print to stdout and, on some
failures, end the process through `Log.error` -> `self.app.close(1)`.

`Caller` gives them what they expect, with an app whose `close` raises WordOpsExit
instead of closing the real app, so our undo runs and the controller can still report.
"""
from wo.multitenancy.errors import MTError


class WordOpsExit(MTError):
    """A WordOps helper gave up (its message is already printed and in wordops.log)."""

    def __init__(self, code):
        super().__init__('a WordOps helper stopped (exit {0})'.format(code),
                         'see /var/log/wo/wordops.log for its reason')


class _App:
    def __init__(self, app):
        self._app = app

    def __getattr__(self, name):
        return getattr(self._app, name)

    def close(self, code=None):
        raise WordOpsExit(code)


class Caller:
    """Stands in for a WordOps controller as the `self` of WordOps' helpers."""

    def __init__(self, app):
        self.app = _App(app)
