"""One wo multitenancy command changes the server at a time."""
import fcntl
import os
from contextlib import contextmanager

from wo.multitenancy.errors import Busy


@contextmanager
def exclusive(path):
    """Hold the lock file at `path` for the duration; raise Busy if another command has it.

    The kernel drops the lock when the holder dies, even by SIGKILL.
    """
    os.makedirs(os.path.dirname(path), exist_ok=True)
    # root's alone: flock() works on a descriptor opened for reading, so anyone who can
    # open the file could hold the lock and stop every command.
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, 'r+') as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or 'unknown'
            raise Busy('another wo multitenancy command is running (pid {0})'.format(holder),
                       'wait for it to finish, then run this command again')
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
