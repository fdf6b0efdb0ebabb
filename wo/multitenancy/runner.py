"""The one place where wo multitenancy starts external programs.

Always an argv list (never a shell); a non-zero exit raises CommandFailed carrying the
output, so no caller can ignore a failure. Tests swap `run` at this seam.

A program run as another user runs a site's own code (its wp-config.php, its
WordPress): it gets a session of its own (no terminal of root's to type into), no
stdin of root's and an environment of its own, not root's; of what it prints, the last
SITE_OUTPUT bytes are read. Output goes to unlinked files, not pipes: a process the
site starts and detaches (setsid) keeps nothing of ours waiting on it. (What it writes
there takes disk as its uploads can: no more is read of it.)
"""
import os
import signal
import subprocess
import tempfile

from wo.multitenancy.errors import CommandFailed

SITE_ENV = {'PATH': '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'LANG': 'C.UTF-8'}
SITE_OUTPUT = 16 << 20  # bytes of a site's program's stdout and of its stderr read, at most


def run(argv, *, user=None, input=None, stdin_file=None, env=None, timeout=600, check=True,
        umask=-1):
    """Run argv and return the CompletedProcess (text mode, output captured).

    user: run as this system user (through runuser) instead of root, detached from
    root's session, stdin and environment (`env` adds to SITE_ENV); the last
    SITE_OUTPUT bytes of its stdout and of its stderr are read.
    stdin_file: a file of root's the program reads as its stdin (not with `user`).
    umask: the program's umask (0o077: what it creates is its user's alone).
    Raises CommandFailed on a non-zero exit when check is true, or when the
    program is missing or times out (then its whole process group is killed).
    """
    argv = [str(a) for a in argv]
    if user:
        argv = ['runuser', '-u', user, '--'] + argv
        env = dict(SITE_ENV, **(env or {}))
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            open(stdin_file or os.devnull, 'rb') as stdin:
        try:
            process = subprocess.Popen(
                argv, stdin=subprocess.PIPE if input is not None else stdin,
                stdout=out, stderr=err, env=env, text=True, umask=umask,
                start_new_session=bool(user))
        except FileNotFoundError:
            raise CommandFailed(argv, 127, stderr='{0}: not found'.format(argv[0]))
        try:
            process.communicate(input, timeout=timeout)
        except BaseException as e:  # a timeout, or a signal for us: nothing of it stays behind
            _kill(process, bool(user))
            if isinstance(e, subprocess.TimeoutExpired):
                raise CommandFailed(argv, 124, stderr='timed out after {0}s'.format(timeout))
            raise
        limit = SITE_OUTPUT if user else None
        done = subprocess.CompletedProcess(argv, process.returncode, _text(out, limit),
                                           _text(err, limit))
    if check and done.returncode != 0:
        raise CommandFailed(argv, done.returncode, done.stdout, done.stderr)
    return done


def _text(output, limit):
    """What was written to `output` (its last `limit` bytes), as text mode reads it:
    universal newlines (CRLF and CR become LF), UTF-8, undecodable bytes replaced."""
    size = output.seek(0, os.SEEK_END)
    output.seek(max(0, size - limit) if limit else 0)
    text = output.read().decode('utf-8', 'replace')
    return text.replace('\r\n', '\n').replace('\r', '\n')


def _kill(process, own_group):
    if own_group:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    else:
        process.kill()
    process.wait()
