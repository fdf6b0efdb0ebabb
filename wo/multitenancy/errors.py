"""The errors of wo multitenancy: one base class, a hint for the user, an exit code each.

Helpers raise; only the controller turns an error into a message and an exit code
(listed in README.md, "Exit codes").
"""

EXIT_FAILED = 1
EXIT_REFUSED = 2
EXIT_UNHEALTHY = 3
EXIT_BUSY = 4


class MTError(Exception):
    """Base class: `message` says what went wrong, `hint` what to do next; `result`,
    when not None, is what the command did before it ended (printed first)."""

    exit_code = EXIT_FAILED
    result = None

    def __init__(self, message, hint=''):
        super().__init__(message)
        self.message = message
        self.hint = hint


class InvalidInput(MTError):
    """The command was refused before it changed anything."""

    exit_code = EXIT_REFUSED


class Busy(MTError):
    """Another wo multitenancy command holds the lock."""

    exit_code = EXIT_BUSY


class PartlyFailed(MTError):
    """A command that finished with some of its work not done: `result` is what it did,
    `exit_code` how it ended. An empty message: the result says it all (convert's line
    per site, status's UNHEALTHY)."""

    def __init__(self, message, hint='', result=None, exit_code=EXIT_FAILED):
        super().__init__(message, hint)
        self.result = result
        self.exit_code = exit_code


class Interrupted(MTError):
    """A signal (Ctrl-C, SIGTERM) ended the command: exit status 128 + its number."""

    def __init__(self, signum, message, hint=''):
        super().__init__(message, hint)
        self.exit_code = 128 + signum


class CommandFailed(MTError):
    """An external program exited non-zero; carries its argv and output."""

    def __init__(self, argv, returncode, stdout='', stderr='', hint=''):
        detail = (stderr or stdout or '').strip().splitlines()
        last = detail[-1] if detail else 'no output'
        super().__init__('{0} exited with {1}: {2}'.format(argv[0], returncode, last), hint)
        self.argv = list(argv)
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
