"""The one place where wo multitenancy starts external programs.

Always an argv list (never a shell); a non-zero exit raises CommandFailed carrying the
output, so no caller can ignore a failure. Tests swap `run` at this seam.
"""
import subprocess

from wo.multitenancy.errors import CommandFailed


def run(argv, *, user=None, input=None, env=None, timeout=600, check=True, umask=-1):
    """Run argv and return the CompletedProcess (text mode, output captured).

    user: run as this system user (through runuser) instead of root.
    umask: the program's umask (0o077: what it creates is its user's alone).
    Raises CommandFailed on a non-zero exit when check is true, or when the
    program is missing or times out.
    """
    argv = [str(a) for a in argv]
    if user:
        argv = ['runuser', '-u', user, '--'] + argv
    try:
        done = subprocess.run(argv, input=input, env=env, timeout=timeout,
                              capture_output=True, text=True, umask=umask)
    except FileNotFoundError:
        raise CommandFailed(argv, 127, stderr='{0}: not found'.format(argv[0]))
    except subprocess.TimeoutExpired as e:
        raise CommandFailed(argv, 124, stderr='timed out after {0}s'.format(e.timeout))
    if check and done.returncode != 0:
        raise CommandFailed(argv, done.returncode, done.stdout, done.stderr)
    return done
