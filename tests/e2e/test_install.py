"""The installer is idempotent, keeps the user's settings, and uninstalling the
plugin leaves WordOps working."""
import os
import subprocess

from stack import CONF, REPO, write_conf

INSTALLER = os.path.join(REPO, 'install-multitenancy.sh')


def run(*argv):
    return subprocess.run(list(argv), capture_output=True, text=True, stdin=subprocess.DEVNULL)


def test_a_rerun_keeps_the_users_settings():
    write_conf(keep_releases=7)
    try:
        for _ in range(2):
            done = run(INSTALLER)
            assert done.returncode == 0, done.stderr
        assert 'keep_releases = 7' in open(CONF).read()
        assert run('wo', 'multitenancy', '--help').returncode == 0
    finally:
        write_conf()


def test_wordops_keeps_working_after_pip_uninstall():
    removed = run('/opt/wo/bin/pip', 'uninstall', '-y', 'wordops-multitenancy')
    try:
        assert removed.returncode == 0, removed.stderr
        assert run('wo', '--help').returncode == 0
        assert run('wo', 'site', 'list').returncode == 0
        # WordOps answers an unknown command's --help with its own help (exit 0).
        assert 'shared WordPress core' not in run('wo', 'multitenancy', '--help').stdout
    finally:
        reinstalled = run(INSTALLER)
    assert reinstalled.returncode == 0, reinstalled.stderr
    assert 'shared WordPress core' in run('wo', 'multitenancy', '--help').stdout
