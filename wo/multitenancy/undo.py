"""Multi-step changes that undo themselves.

Each step registers its undo *before* it acts; if anything raises (an error, a
signal turned into an exception by Cement, SystemExit from a WordOps helper), the
undos run in reverse order and the exception goes on. A step that completes needs
no undo afterwards: `commit()` drops the list. A step past which the change must not
be undone (`keep()`: a secret revoked must stay revoked) makes what was done stay,
whatever fails after it. A `journal` (context.Journal), when given, is told how each
scope ended, so an interruption can say what it left.
"""
from wo.multitenancy.logs import log


class Changes:
    """A context manager collecting undo actions for one command."""

    def __init__(self, journal=None):
        self._undos = []
        self._journal = journal
        self.undone_cleanly = True  # no undo has failed
        self.kept = False  # what was done stays, whatever fails

    def on_failure(self, description, undo):
        """Register `undo()` to run if the command fails later (not once kept)."""
        if not self.kept:
            self._undos.append((description, undo))

    def commit(self):
        self._undos = []

    def keep(self):
        """From here on, what was done stays: nothing is undone, now or later."""
        self.commit()
        self.kept = True

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.commit()
        else:
            self.rollback()
        if self._journal is not None:
            self._journal.scope_ended(None if self.kept else exc)
        return False

    def rollback(self):
        """Run the registered undos in reverse; an undo that fails is logged, not raised."""
        while self._undos:
            description, undo = self._undos.pop()
            try:
                undo()
            except BaseException as e:  # one failed undo (even an exit) must not stop the others
                self.undone_cleanly = False
                log.warning('undo "%s" failed: %r', description, e)


class Kept(Changes):
    """A scope whose steps stay done when a later one fails: finishing what a killed run
    left, whose state the undos would not know. The next run finishes it again."""

    def __init__(self, journal=None):
        super().__init__(journal)
        self.keep()
