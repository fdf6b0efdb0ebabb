"""What every step of a command is handed (the Context), and the Journal of how far
the command got: the step it last reported and how its undo scopes ended, from which
an interruption or an unexpected OSError is told with what it left behind."""
import re
import signal
from dataclasses import dataclass

from wo.multitenancy.errors import Interrupted, MTError
from wo.multitenancy.undo import Changes


_STEP = re.compile(r'^((?:\[\d+/\d+\] )?)([A-Z])(?=[a-z])')  # "Staging ..." -> "staging ..."


class Journal:
    """How far one command got. `show(text)` prints and logs one progress line."""

    def __init__(self, show):
        self.show = show
        self.step = None  # the step it is in: the last one reported
        self.kept = False  # an undo scope finished: its changes stay
        self._undone = None  # the exception whose undo ran

    def report(self, text):
        """A step begins: `text` is shown and becomes the step the command is in."""
        self.step = _STEP.sub(lambda m: m.group(1) + m.group(2).lower(), text)
        self.show(text)

    def during(self, phase):
        """The command is in `phase` (whose progress lines are outcomes, not steps)."""
        self.step = phase

    def scope_ended(self, exc):
        """An undo scope ended: cleanly (exc None), or with `exc` after its undos ran."""
        if exc is None:
            self.kept = True
        else:
            self._undone = exc

    def interrupted(self, signum, exc):
        """The Interrupted error for signal `signum` (raised as `exc`)."""
        where = ' while ' + self.step if self.step else ' before its first step'
        if self.step is None and not self.kept and self._undone is not exc:
            return Interrupted(signum, 'interrupted by {0}{1}'.format(
                signal.Signals(signum).name, where), 'run the same command again')
        return Interrupted(signum, 'interrupted by {0}{1}: {2}'.format(
            signal.Signals(signum).name, where, self._left(exc)), self._next(exc))

    def unexpected(self, error):
        """The MTError for an OSError (a full disk, a permission) no step expected."""
        where = ' while ' + self.step if self.step else ''
        return MTError('{0}{1}'.format(error, where), '{0}; fix the cause (disk space, '
                       'permissions) and {1}'.format(self._left(error), self._next(error)))

    def _left(self, exc):
        if self._undone is not exc:
            return 'what was done stays'
        if self.kept:
            return 'its changes were undone; what was finished before stays'
        return 'its changes were undone'

    def _next(self, exc):
        if self._undone is not exc or self.kept:
            return 'run the same command again: it finishes the rest'
        return 'run the same command again'


@dataclass
class Context:
    """What every command needs: the `self` WordOps' helpers expect (a
    wordops.Caller), the settings, our state (an MTDatabase), and its Journal."""
    ctl: object
    settings: object
    db: object
    journal: Journal

    def report(self, text):
        """One progress line: the step the command begins."""
        self.journal.report(text)

    def changes(self):
        """A new undo scope (undo.Changes) that tells the journal how it ended."""
        return Changes(self.journal)
