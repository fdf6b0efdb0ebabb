"""One wo multitenancy command changes the server at a time; one job of a site runs at
a time (the system cron's, verify's), and delete waits for none."""
import fcntl
import os
import time
from contextlib import contextmanager

from wo.multitenancy.errors import Busy

JOB_WAIT = 130  # seconds verify waits for a site's running job (cron.JOB_SECONDS and some)


@contextmanager
def exclusive(path, holder='another wo multitenancy command', wait=0):
    """Hold the lock file at `path` for the duration, waiting at most `wait` seconds;
    raise Busy naming `holder` (and its pid) if it is held still.

    The kernel drops the lock when the holder dies, even by SIGKILL.
    """
    os.makedirs(os.path.dirname(path), exist_ok=True)
    # root's alone: flock() works on a descriptor opened for reading, so anyone who can
    # open the file could hold the lock and stop every command.
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, 'r+') as handle:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.seek(0)
                    pid = handle.read().strip() or 'unknown'
                    raise Busy('{0} is running (pid {1})'.format(holder, pid),
                               'wait for it to finish, then run this command again')
                time.sleep(0.2)
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def site_job(settings, domain, wait=0):
    """Hold the job lock of `domain` (exclusive)."""
    return exclusive(site_job_file(settings, domain), 'a job of ' + domain, wait)


def site_job_file(settings, domain):
    return os.path.join(settings.control_dir, 'jobs', domain + '.lock')
