"""delete and remove leave nothing behind; `wo site delete` of a shared-core site does
not touch the shared core."""
import os
import sqlite3
import subprocess

from stack import SHARED, SITES, WO_DB, get, mysql, server_state, wo


def test_delete_leaves_the_server_as_before_the_create(make_site):
    before = server_state()
    make_site('del-mt.test')
    done = wo('delete', 'del-mt.test', '--force')
    assert 'Deleted del-mt.test' in done.stdout
    assert server_state() == before
    assert 'content="WordPress' not in get('del-mt.test', '/?gone').text  # nginx's default site


def test_delete_without_a_terminal_needs_force(make_site):
    make_site('ask-mt.test')
    before = server_state()
    done = wo('delete', 'ask-mt.test', check=False)
    assert done.returncode == 2 and '--force' in done.stderr
    assert server_state() == before


def test_wordops_site_delete_leaves_the_shared_core_alone(make_site):
    make_site('keep-mt.test')
    make_site('wo-del-mt.test')
    before_core = sorted(os.listdir(os.path.realpath(SHARED + '/current')))
    deleted = subprocess.run(['wo', 'site', 'delete', 'wo-del-mt.test', '--no-prompt'],
                             capture_output=True, text=True, stdin=subprocess.DEVNULL)
    # Offline, WordOps' delete ends by failing to fetch acme.sh, after it deleted the site.
    assert 'Deleted webroot successfully' in deleted.stdout, deleted.stdout + deleted.stderr
    assert not os.path.exists('/var/www/wo-del-mt.test')
    assert sorted(os.listdir(os.path.realpath(SHARED + '/current'))) == before_core
    assert os.path.isfile(SHARED + '/current/wp-includes/version.php')
    assert get('keep-mt.test', '/?still-there').status_code == 200
    wo('delete', 'wo-del-mt.test', '--force')  # removes what WordOps left: our record
    assert 'wo-del-mt.test' not in wo('list').stdout


def test_remove_refuses_while_sites_exist_and_force_removes_everything(make_site, release_tarball):
    make_site('rm-mt.test')
    refused = wo('remove', check=False)
    assert refused.returncode == 2 and 'rm-mt.test' in refused.stderr
    assert os.path.isdir(SHARED)
    try:
        wo('remove', '--force')
        assert not os.path.exists(SHARED) and not os.path.exists('/var/www/rm-mt.test')
        assert wo('list').stdout.strip() == 'No sites on the shared core yet.'
    finally:
        wo('init', '--source', release_tarball)


def test_delete_ends_only_once_no_account_of_the_sites_user_is_left(make_site):
    make_site('acct-mt.test')
    with sqlite3.connect(WO_DB) as db:
        user, = db.execute("SELECT db_user FROM sites WHERE sitename = 'acct-mt.test'").fetchone()
    subprocess.run(['mariadb', '-e', "CREATE USER `{0}`@'127.0.0.1'".format(user)], check=True)
    done = wo('delete', 'acct-mt.test', '--force', check=False)
    assert done.returncode == 1, done.stderr
    assert "{0} still has database accounts at '127.0.0.1'".format(user) in done.stderr
    subprocess.run(['mariadb', '-e', "DROP USER `{0}`@'127.0.0.1'".format(user)], check=True)
    wo('delete', 'acct-mt.test', '--force')
    assert mysql("SELECT COUNT(*) FROM mysql.user WHERE User = '{0}'".format(user)) == ['0']
    assert not os.path.exists('/var/www/acct-mt.test')


def test_a_volume_mounted_in_a_site_is_never_given_to_it_nor_removed_with_it(make_site, tmp_path):
    """An operator mounts media into a sovereign site's uploads: isolating the site
    leaves it root's; delete is refused (exit 2, nothing removed) until it is unmounted."""
    make_site('mount-mt.test', '--isolation', 'sovereign')
    media = os.path.join(SITES, 'mount-mt.test', 'htdocs', 'wp-content', 'uploads', 'media')
    os.mkdir(media)
    volume = tmp_path / 'volume'
    volume.mkdir()
    (volume / 'photo.jpg').write_text('on another disk')
    subprocess.run(['mount', '--bind', str(volume), media], check=True)
    try:
        moved = wo('isolate', 'mount-mt.test', '--isolation', 'shared')
        assert 'Note: not handed over: ' + media + ': a file system is mounted there: left as it is' \
            in moved.stdout
        assert os.stat(volume / 'photo.jpg')[4:6] == (0, 0)
        before = server_state()
        refused = wo('delete', 'mount-mt.test', '--force', check=False)
        assert refused.returncode == 2, refused.stdout + refused.stderr
        assert media + ' is mounted in the tree of mount-mt.test' in refused.stderr
        assert server_state() == before
        assert (volume / 'photo.jpg').read_text() == 'on another disk'
    finally:
        subprocess.run(['umount', '--lazy', media], check=True)
    wo('delete', 'mount-mt.test', '--force')
    assert (volume / 'photo.jpg').read_text() == 'on another disk'
