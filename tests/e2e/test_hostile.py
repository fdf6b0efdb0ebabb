"""A compromised site against our root commands. The site's PHP runs as www-data and owns
its uploads (before `convert`, its whole tree: these sites are shared, WordOps' model,
where every site's PHP is www-data); here it plants links and names, and --
where the attack is a race -- keeps flipping a directory or file between the real one
and a link to a canary tree of root's (tests/flipper.py) while the command runs.

Whatever the command then does, root must never read, write, chown or remove anything
outside that site: the canary stays exactly as it was, and none of its content turns up
where a site can read it.
"""
import ctypes
import hashlib
import json
import os
import pwd
import shutil
import signal
import stat
import subprocess
import time

import pytest

from stack import REPO, SHARED, SITES, get, mysql, server_state, wo, write_conf

CANARY = '/var/lib/wo-mt-canary'
SECRET = b'canary-secret-7f3a'  # in every canary file
WWW = pwd.getpwnam('www-data')


@pytest.fixture(scope='module', autouse=True)
def shared_model():
    """Sites created and converted here are shared: their PHP is www-data, as the attacker."""
    write_conf(isolation='shared')
    yield
    write_conf()


@pytest.fixture
def canary():
    """A root-owned tree shaped like what a site would like root to touch (uploads/,
    wp-content/uploads/, a config file); returns its snapshot function."""
    shutil.rmtree(CANARY, ignore_errors=True)
    for folder in ('', 'uploads', 'wp-content/uploads', 'languages'):
        os.makedirs(os.path.join(CANARY, folder), exist_ok=True)
        with open(os.path.join(CANARY, folder, 'secret.conf'), 'wb') as f:
            f.write(SECRET + b'\n')
        os.chmod(os.path.join(CANARY, folder, 'secret.conf'), 0o600)
    before = snapshot()
    yield before
    assert snapshot() == before, 'root changed what lies outside the site'
    shutil.rmtree(CANARY)


def snapshot():
    """Every entry of the canary: owner, mode, and the content's digest."""
    found = {}
    for top, dirs, files in os.walk(CANARY):
        for name in [''] + dirs + files:
            path = os.path.join(top, name)
            st = os.lstat(path)
            digest = hashlib.sha1(open(path, 'rb').read()).hexdigest() if stat.S_ISREG(st.st_mode) else ''
            found[path] = (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode), digest)
    return found


def secret_leaked(*trees):
    """Paths under `trees` whose content is the canary's."""
    done = subprocess.run(['grep', '-rlF', SECRET.decode()] + list(trees), capture_output=True,
                          text=True)
    return done.stdout.split()


class Flipping:
    """`with Flipping(path, ...):` a www-data process keeps swapping each path with a
    link to the canary (tests/flipper.py) for as long as the block runs."""

    def __init__(self, *paths, target=CANARY):
        self.paths, self.target = paths, target

    def __enter__(self):
        self.run = subprocess.Popen(['runuser', '-u', 'www-data', '--', '/usr/bin/python3',
                                     os.path.join(REPO, 'tests', 'flipper.py'), self.target]
                                    + list(self.paths), stdout=subprocess.PIPE, text=True,
                                    start_new_session=True)
        assert self.run.stdout.readline().strip() == 'flipping'
        time.sleep(0.2)
        return self

    def __exit__(self, *exc):
        """Stop flipping and put each real entry back where the site had it."""
        os.killpg(self.run.pid, signal.SIGKILL)  # runuser and the flipper under it
        self.run.wait()
        for path in self.paths:
            if os.path.islink(path) and os.path.lexists(path + '.mt-flip') \
                    and not os.path.islink(path + '.mt-flip'):
                exchange(path, path + '.mt-flip')


def exchange(first, second):
    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.renameat2(-100, os.fsencode(first), -100, os.fsencode(second), 2) == 0


def as_site(*argv):
    return subprocess.run(['runuser', '-u', 'www-data', '--'] + list(argv), capture_output=True,
                          text=True)


def convert(*args):
    done = wo('convert', '--json', *args, check=False)
    return done.returncode, json.loads(done.stdout)['sites'][0]


def owned_by_root_alone(path):
    st = os.lstat(path)
    return st.st_uid == 0 and not st.st_mode & 0o022


def test_a_swap_tree_planted_and_flipped_before_convert_hands_nothing_to_the_site(
        make_standalone, canary):
    make_standalone('hostile-swap.test')
    root = os.path.join(SITES, 'hostile-swap.test')
    assert as_site('mkdir', os.path.join(root, '.htdocs.mt-swap')).returncode == 0
    with Flipping(os.path.join(root, '.htdocs.mt-swap')):
        code, result = convert('hostile-swap.test')
    assert (code, result['status']) == (0, 'converted'), result
    assert owned_by_root_alone(root)
    assert get('hostile-swap.test', '/?after').status_code == 200
    assert not secret_leaked(root, SHARED)


def test_uploads_flipped_for_a_link_during_convert_move_as_a_link_and_root_follows_none(
        make_standalone, canary):
    make_standalone('hostile-uploads.test')
    root = os.path.join(SITES, 'hostile-uploads.test')
    with Flipping(os.path.join(root, 'htdocs', 'wp-content', 'uploads')):
        code, result = convert('hostile-uploads.test')
    # The link the site left in its uploads leads out of its root: the verification
    # before the site is recorded refuses it, and the site is put back.
    assert (code, result['status']) == (1, 'failed'), result
    assert 'no_legacy_paths' in result['error'] and 'links to' in result['error'], result
    assert get('hostile-uploads.test', '/?after').status_code == 200
    assert not os.path.islink(os.path.join(root, 'htdocs', 'wp'))
    assert not secret_leaked(root, SHARED)


def test_the_old_tree_flipped_for_a_link_while_files_move_moves_nothing_of_roots(
        make_standalone, canary):
    """The directory own files are moved out of (the old document root, the site's) is
    swapped for a link to a tree holding wp-content/uploads: root moves only what is in
    the site's own directory, or nothing and puts the site back."""
    make_standalone('hostile-parent.test')
    root = os.path.join(SITES, 'hostile-parent.test')
    before = server_state()
    with Flipping(os.path.join(root, 'htdocs', 'wp-content'),
                  os.path.join(root, '.htdocs.mt-swap', 'wp-content')):
        code, result = convert('hostile-parent.test')
    assert not secret_leaked(root, SHARED)
    assert get('hostile-parent.test', '/?after').status_code == 200
    if result['status'] != 'converted':  # the link was met: refused or put back whole
        assert code in (1, 2) and server_state() == before, result
        assert not os.path.islink(os.path.join(root, 'htdocs', 'wp'))


def test_a_theme_named_as_a_path_is_refused_and_nothing_is_copied(make_standalone, canary):
    make_standalone('hostile-theme.test')
    db = 'hostile_theme_test'
    mysql("UPDATE {0}.wp_options SET option_value = '../../../../../lib/wo-mt-canary' "
          "WHERE option_name IN ('stylesheet', 'template')".format(db))
    before = server_state()
    code, result = convert('hostile-theme.test', '--force')
    assert (code, result['status']) == (2, 'refused'), result
    assert "names an active theme '../../../../../lib/wo-mt-canary'" in result['error']
    assert server_state() == before
    assert not secret_leaked(SHARED)


def test_a_sites_language_files_never_reach_the_shared_set(make_standalone, canary):
    """A translation is text WordPress writes into every site's pages (a .json one into an
    inline script): --force converts the site without its own."""
    make_standalone('hostile-lang.test')
    languages = os.path.join(SITES, 'hostile-lang.test', 'htdocs', 'wp-content', 'languages')
    assert as_site('mkdir', '-p', languages).returncode == 0
    script = 'en_US-' + hashlib.md5(b'wp-includes/js/dist/hooks.js').hexdigest() + '.json'
    assert as_site('sh', '-c', 'echo "{{}}); alert(1); (function(){{" > {0}/{1}'.format(
        languages, script)).returncode == 0
    with Flipping(os.path.join(languages, script),
                  target=os.path.join(CANARY, 'languages', 'secret.conf')):
        code, result = convert('hostile-lang.test', '--force')
    assert (code, result['status']) == (0, 'converted'), result
    assert 'language file ' + script in result['left_out']
    assert not os.path.exists(os.path.join(SHARED, 'wp-content', 'languages', script))
    assert not secret_leaked(SHARED, os.path.join(SITES, 'hostile-lang.test'))


def test_a_plugin_named_like_a_directory_beside_root_is_not_copied(make_standalone, canary):
    """The site names an active plugin "22222": run from /var/www, root must not take
    /var/www/22222 (WordOps' backend, with its TLS key) for the plugin."""
    make_standalone('hostile-cwd.test')
    mysql("UPDATE hostile_cwd_test.wp_options SET option_value = 'a:1:{i:0;s:11:\"22222/x.php\";}' "
          "WHERE option_name = 'active_plugins'")
    done = subprocess.run(['wo', 'multitenancy', 'convert', 'hostile-cwd.test', '--force',
                           '--json'], capture_output=True, text=True, cwd=SITES)
    result = json.loads(done.stdout)['sites'][0]
    assert (done.returncode, result['status']) == (1, 'failed'), result
    assert 'plugin 22222 is not in the shared set and could not be downloaded' in result['error']
    assert not os.path.exists(os.path.join(SHARED, 'wp-content', 'plugins', '22222'))


def test_a_faked_stopped_conversion_is_checked_like_any_other(make_standalone):
    """A `wp` link the site makes in its own tree does not make root take it for a
    conversion a stopped run left (which would skip every check)."""
    make_standalone('hostile-fake.test')
    htdocs = os.path.join(SITES, 'hostile-fake.test', 'htdocs')
    assert as_site('ln', '-s', '.', os.path.join(htdocs, 'wp')).returncode == 0
    assert as_site('mkdir', os.path.join(htdocs, 'wp-content', 'mu-plugins')).returncode == 0
    assert as_site('touch', os.path.join(htdocs, 'wp-content', 'mu-plugins', 'x.php')).returncode == 0
    before = server_state()
    code, result = convert('hostile-fake.test')
    assert (code, result['status']) == (2, 'refused'), result
    assert 'has must-use plugins: x.php' in result['error']
    assert server_state() == before


def test_a_removal_directory_planted_as_a_link_is_never_followed(make_standalone, canary):
    make_standalone('hostile-away.test')
    root = os.path.join(SITES, 'hostile-away.test')
    for name in ('.mt-removing', '.mt-removing-' + '0' * 12):
        assert as_site('ln', '-s', CANARY, os.path.join(root, name)).returncode == 0
    assert as_site('mkdir', os.path.join(root, '.htdocs.mt-swap')).returncode == 0
    code, result = convert('hostile-away.test')
    assert (code, result['status']) == (0, 'converted'), result
    assert sorted(os.listdir(CANARY)) == ['languages', 'secret.conf', 'uploads', 'wp-content']


def test_a_hard_link_refuses_convert_and_a_setuid_file_is_not_made_roots(make_standalone, make_site):
    make_site('hostile-victim.test')
    victim = os.path.join(SITES, 'hostile-victim.test', 'htdocs', 'wp-content', 'uploads', 'v')
    assert as_site('touch', victim).returncode == 0
    make_standalone('hostile-suid.test')
    root = os.path.join(SITES, 'hostile-suid.test')
    assert as_site('cp', '/bin/sh', os.path.join(root, 'conf', 'sh')).returncode == 0
    assert as_site('chmod', '4755', os.path.join(root, 'conf', 'sh')).returncode == 0
    assert as_site('ln', victim, os.path.join(root, 'logs', 'v')).returncode == 0
    code, refused = convert('hostile-suid.test')
    assert (code, refused['status']) == (2, 'refused'), refused
    assert 'logs/v is a hard link' in refused['error']
    assert os.stat(root).st_uid == WWW.pw_uid  # nothing was taken
    assert os.stat(victim).st_uid == WWW.pw_uid and os.stat(victim).st_nlink == 2
    assert as_site('rm', os.path.join(root, 'logs', 'v')).returncode == 0
    assert convert('hostile-suid.test')[1]['status'] == 'converted'
    taken = os.stat(os.path.join(root, 'conf', 'sh'))
    assert (taken.st_uid, stat.S_IMODE(taken.st_mode)) == (0, 0o644)
    assert os.stat(victim).st_uid == WWW.pw_uid and os.stat(victim).st_nlink == 1


def test_the_lock_is_roots_alone(make_site):
    make_site('hostile-lock.test')
    assert as_site('python3', '-c', "open('/var/lib/wo/multitenancy.lock')").returncode != 0


def test_a_directory_flipped_for_a_fifo_does_not_stop_delete(make_site):
    make_site('hostile-delete.test')
    uploads = os.path.join(SITES, 'hostile-delete.test', 'htdocs', 'wp-content', 'uploads')
    assert as_site('mkdir', '-p', os.path.join(uploads, 'a', 'b')).returncode == 0
    with Flipping(os.path.join(uploads, 'a', 'b'), os.path.join(uploads, 'a'), target='fifo'):
        # It returns (it may fail: the site races its own removal) instead of waiting on
        # a FIFO for ever with the lock held; TimeoutExpired would fail the test.
        subprocess.run(['wo', 'multitenancy', 'delete', 'hostile-delete.test', '--force'],
                       capture_output=True, text=True, timeout=120)
    wo('delete', 'hostile-delete.test', '--force', check=False)  # finishes what is left
    assert not os.path.exists(os.path.join(SITES, 'hostile-delete.test'))


def test_revert_gives_the_tree_away_without_chowning_anything_a_flip_points_at(
        make_standalone, canary):
    make_standalone('hostile-revert.test')
    assert convert('hostile-revert.test')[1]['status'] == 'converted'
    root = os.path.join(SITES, 'hostile-revert.test')
    # Before the swap the tree being built is .htdocs.mt-swap, after it htdocs: the site
    # may flip its wp-admin/network (a multisite's, so no page of this site needs it) as
    # soon as it owns wp-admin.
    with Flipping(os.path.join(root, '.htdocs.mt-swap', 'wp-admin', 'network'),
                  os.path.join(root, 'htdocs', 'wp-admin', 'network')):
        done = wo('revert', 'hostile-revert.test', '--json', check=False)
    assert done.returncode == 0, done.stderr
    assert get('hostile-revert.test', '/?after').status_code == 200
    for path in ('htdocs', 'htdocs/wp-admin/network', 'htdocs/wp-includes/version.php'):
        assert os.lstat(os.path.join(root, path)).st_uid == WWW.pw_uid, path
    for path in ('', 'conf', 'conf/nginx', 'logs'):  # nginx includes conf/nginx as root
        assert owned_by_root_alone(os.path.join(root, path)), path
    assert not secret_leaked(root, SHARED)


def test_constants_that_are_not_plain_are_refused_not_written(make_standalone, canary):
    make_standalone('hostile-config.test')
    config = os.path.join(SITES, 'hostile-config.test', 'wp-config.php')
    text = open(config).read().replace(
        "$table_prefix", "define( \"X', 1 ); file_put_contents( '/tmp/mt-pwned', 'x' ); //\", 1 );\n"
        "$table_prefix", 1)
    with open(config, 'w') as f:
        f.write(text)
    before = server_state()
    code, result = convert('hostile-config.test')
    assert (code, result['status']) == (2, 'refused'), result
    assert 'defines constants that are not plain names or values' in result['error']
    assert open(config).read() == text and server_state() == before


def test_after_convert_nginx_includes_and_logs_are_roots_alone(make_standalone):
    make_standalone('hostile-conf.test')
    root = os.path.join(SITES, 'hostile-conf.test')
    assert convert('hostile-conf.test')[1]['status'] == 'converted'
    for path in ('', 'conf', 'conf/nginx', 'logs', 'conf/nginx/wo-multitenancy.conf'):
        assert owned_by_root_alone(os.path.join(root, path)), path
    assert as_site('touch', os.path.join(root, 'conf', 'nginx', 'evil.conf')).returncode != 0
    assert as_site('touch', os.path.join(root, 'logs', 'evil')).returncode != 0


def test_secrets_are_roots_alone(make_standalone):
    make_standalone('hostile-secrets.test')
    code, result = convert('hostile-secrets.test')
    assert code == 0
    for name in os.listdir(result['backup']):
        assert stat.S_IMODE(os.stat(os.path.join(result['backup'], name)).st_mode) == 0o600, name
    assert stat.S_IMODE(os.stat('/var/lib/wo/dbase.db').st_mode) == 0o600
    assert as_site('cat', '/var/lib/wo/dbase.db').returncode != 0
    assert as_site('touch', '/var/lib/wo/multitenancy/php82-fpm.sock.evil').returncode != 0


def test_a_fifo_in_the_page_cache_does_not_stop_a_command(make_site):
    make_site('hostile-cache.test')
    fifo = '/var/run/nginx-cache/f/mt/hostile-fifo'
    assert as_site('mkdir', '-p', os.path.dirname(fifo)).returncode == 0
    assert as_site('mkfifo', fifo).returncode == 0
    try:
        done = subprocess.run(['wo', 'multitenancy', 'delete', 'hostile-cache.test', '--force'],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    finally:
        shutil.rmtree('/var/run/nginx-cache/f/mt', ignore_errors=True)


def test_an_update_writes_no_include_through_a_conf_the_site_still_owns(make_site, canary,
                                                                        release_tarball):
    """A site converted by an earlier version kept a conf/ of the web user's: the site
    plants a link where our include goes; `update` writes nothing through it."""
    make_site('hostile-legacy.test')
    conf = os.path.join(SITES, 'hostile-legacy.test', 'conf')
    subprocess.run(['chown', '-R', 'www-data:www-data', conf], check=True)
    include = os.path.join(conf, 'nginx', 'wo-multitenancy.conf')
    os.unlink(include)
    assert as_site('ln', '-s', os.path.join(CANARY, 'secret.conf'), include).returncode == 0
    wo('update', '--force', '--source', release_tarball)
    assert os.path.islink(include)
    assert get('hostile-legacy.test', '/?after').status_code == 200
