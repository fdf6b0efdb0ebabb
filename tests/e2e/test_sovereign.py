"""Sovereign sites on the real stack: each site's PHP runs as its own user in its own
pool of our PHP-FPM, shut in by open_basedir and file modes, reached only by nginx,
verified before it is routed, and gone without a trace when deleted."""
import grp
import json
import os
import pwd
import shutil
import signal
import sqlite3
import subprocess
import time

import pytest
from load import Saturated
from stack import (get, installed_php, isolation_targets, mysql, probe, purge_site,
                   php_user, run_in_docroot, server_state, wo)

from wo.multitenancy import pools, wp_config

SOVEREIGN = ('sov-a.test', 'sov-b.test')
SHARED_SITE = 'shr-c.test'
SOCKETS = '/var/lib/wo/multitenancy-sockets'
LOCKED_ACCOUNTS = 'SELECT User FROM mysql.global_priv WHERE JSON_VALUE(Priv, "$.account_locked")'


@pytest.fixture(scope='module')
def tenants(shared_core):
    for domain in SOVEREIGN + (SHARED_SITE,):
        purge_site(domain)
    for domain in SOVEREIGN:
        wo('create', domain, '--wpfc', '--isolation', 'sovereign')
    wo('create', SHARED_SITE, '--wpfc', '--isolation', 'shared')
    yield SOVEREIGN
    for domain in SOVEREIGN + (SHARED_SITE,):
        purge_site(domain)


def test_a_sovereign_site_reaches_nothing_of_another_site_or_the_server(tenants):
    a, b = tenants
    reached = probe(a, isolation_targets(a, b))
    assert reached == dict({name: False for name in isolation_targets(a, b)},
                           write_own_uploads=True, reset_opcache=False, run_exec=False)


def test_a_shared_sites_php_reaches_nothing_of_a_sovereign_site(tenants):
    """WordOps' www-data PHP, open_basedir /var/www/: a sovereign site's wp-config.php is
    root:<its user> 0640, its uploads <its user>:nginx's group 0750; what WordOps' model
    allows of itself stays (OPcache reset, exec)."""
    reached = probe(SHARED_SITE, isolation_targets(SHARED_SITE, tenants[0]))
    assert {k: reached[k] for k in ('read_other_config', 'list_other_uploads',
                                    'write_other_uploads')} == dict.fromkeys(
        ('read_other_config', 'list_other_uploads', 'write_other_uploads'), False)
    assert reached['reset_opcache'] is True and reached['run_exec'] is True
    assert reached['write_own_uploads'] is True


def test_its_php_runs_as_its_own_user_and_wordops_rules_still_apply(tenants):
    a = tenants[0]
    who = run_in_docroot(a, '<?php echo posix_getpwuid(posix_geteuid())["name"];')
    assert who.text == pools.system_user(a)
    assert get(a, '/readme.html').status_code == 403  # common/locations-wo.conf
    first, second = get(a, '/'), get(a, '/')  # common/wpfc-php82.conf, derived
    assert (first.status_code, second.headers['X-FastCGI-Cache']) == (200, 'HIT')


def test_only_nginx_can_reach_a_sovereign_sites_socket(tenants):
    socket_file = '{0}/{1}.sock'.format(SOCKETS, tenants[0])
    from_shared_php = run_in_docroot(SHARED_SITE, "<?php var_export((bool) @stream_socket_client("
                                     "'unix://{0}'));".format(socket_file))
    assert from_shared_php.text == 'false'
    other_user = subprocess.run(['runuser', '-u', pools.system_user(tenants[1]), '--',
                                 'php' + installed_php(), '-r', "var_export((bool) @stream_"
                                 "socket_client('unix://{0}'));".format(socket_file)],
                                capture_output=True, text=True)
    assert other_user.stdout == 'false'


def test_verify_passes_with_its_isolation_and_fails_it_when_the_socket_is_opened(tenants):
    a = tenants[0]
    checks = {c['check']: c['ok'] for c in json.loads(wo('verify', a, '--json').stdout)
              ['sites'][0]['checks']}
    assert checks['isolation'] is True and all(checks.values()), checks
    socket_file = '{0}/{1}.sock'.format(SOCKETS, a)
    os.chmod(socket_file, 0o666)
    try:
        done = wo('verify', a, '--json', check=False)
    finally:
        os.chmod(socket_file, 0o660)
    assert done.returncode == 3
    failed = [c for c in json.loads(done.stdout)['sites'][0]['checks'] if not c['ok']]
    assert [c['check'] for c in failed] == ['isolation']
    assert 'its socket is root:wo-multitenancy-web 0666' in failed[0]['detail']


def test_creating_and_deleting_a_sovereign_site_under_load_fails_no_request(tenants):
    """Adding and removing a pool reloads our PHP-FPM (and the vhost nginx): the
    sovereign site and the shared one under load (wrk -c8 each, PHP saturated, a
    connection per request: see load.Saturated) lose no request."""
    domain = 'sov-load.test'
    purge_site(domain)
    try:
        with Saturated([tenants[0], SHARED_SITE], keepalive=False) as load:
            time.sleep(3)
            wo('create', domain, '--isolation', 'sovereign')
            assert get(domain, '/').status_code == 200
            wo('delete', domain, '--force')
    finally:
        purge_site(domain)
    assert load.failures() == {}


# A site's PHP nests directories in its uploads past the depth remove_tree walks.
NEST_PAST_THE_WALK = '''<?php chdir(__DIR__ . '/wp-content/uploads');
for ($i = 0; $i < 600 && mkdir('d') && chdir('d'); $i++);
echo 'nested ' . $i;'''


def test_delete_leaves_no_user_pool_socket_account_or_directory(shared_core):
    """Even when the site's PHP nested directories past the depth root walks, and a
    process of the site still makes directories in its uploads."""
    domain = 'sov-del.test'
    purge_site(domain)
    before = server_state()
    wo('create', domain, '--isolation', 'sovereign')
    user = pools.system_user(domain)
    assert pwd.getpwnam(user) and os.path.exists('{0}/{1}.sock'.format(SOCKETS, domain))
    info = json.loads(wo('info', domain, '--json').stdout)
    assert (info['isolation'], info['system_user']) == ('sovereign', user)
    assert run_in_docroot(domain, NEST_PAST_THE_WALK).text == 'nested 600'
    uploads = '/var/www/{0}/htdocs/wp-content/uploads'.format(domain)
    subprocess.run(  # a process the site detached from its pool (init its parent)
        ['setpriv', '--reuid', user, '--regid', user, '--clear-groups', 'sh', '-c',
         '(while :; do mkdir d$$$(date +%N) 2>/dev/null; done) >/dev/null 2>&1 &'],
        cwd=uploads, check=True)
    assert subprocess.run(['pgrep', '-u', user], capture_output=True).returncode == 0
    wo('delete', domain, '--force')
    assert server_state() == before
    assert subprocess.run(['getent', 'group', user], capture_output=True).returncode == 2


def secrets_of(domain):
    """The database user, password and salts a site's wp-config.php defines."""
    names = ('DB_USER', 'DB_PASSWORD') + wp_config.SALT_NAMES
    with open('/var/www/{0}/wp-config.php'.format(domain), encoding='utf-8') as f:
        return {line.split("'")[1]: line for line in f if line.startswith('define(') and
                line.split("'")[1] in names}


def connects(user, password):
    """Whether MariaDB lets `user` in with `password` (over its socket, as a site does)."""
    return subprocess.run(['mariadb', '-u', user, '-p' + password, '-e', 'SELECT 1'],
                          capture_output=True).returncode == 0


def test_isolate_moves_a_live_site_under_load_both_ways_with_no_failed_request(tenants):
    """A shared site under wrk -c8 (and a sovereign one beside it) becomes sovereign and
    shared again: no request fails, verify passes each time, the probe shows it shut in
    while sovereign, its uploads follow its PHP user (a hard-linked file stays), and
    going sovereign it gets a new database account and salts: the old password, which
    every shared site could read, no longer opens anything."""
    site, other = SHARED_SITE, tenants[0]
    shared_secrets = secrets_of(site)
    old = json.loads(wo('info', site, '--json').stdout)['db_user']
    old_password = subprocess.run(
        ['sqlite3', '/var/lib/wo/dbase.db', "SELECT db_password FROM sites WHERE sitename = '"
         + site + "'"], capture_output=True, text=True, check=True).stdout.strip()
    assert connects(old, old_password)
    uploads = '/var/www/{0}/htdocs/wp-content/uploads'.format(site)
    os.makedirs(uploads + '/2026', exist_ok=True)
    with open(uploads + '/2026/photo.txt', 'w') as f:
        f.write('mine')
    www = pwd.getpwnam('www-data')
    for path in (uploads + '/2026', uploads + '/2026/photo.txt'):
        os.chown(path, www.pw_uid, www.pw_gid)
    os.link(uploads + '/2026/photo.txt', '/var/www/{0}/twin-mt.txt'.format(site))
    try:
        with Saturated([site, other], keepalive=False) as load:
            time.sleep(3)
            moved = json.loads(wo('isolate', site, '--json').stdout)['sites'][0]
            assert (moved['status'], moved['system_user']) == ('isolated', pools.system_user(site))
            assert probe(site, isolation_targets(site, other)) == dict(
                {name: False for name in isolation_targets(site, other)},
                write_own_uploads=True, reset_opcache=False, run_exec=False)
            assert pwd.getpwuid(os.stat(uploads + '/2026').st_uid).pw_name == moved['system_user']
            assert os.stat(uploads + '/2026/photo.txt').st_uid == www.pw_uid  # two names
            sovereign_secrets = secrets_of(site)
            assert all(sovereign_secrets[n] != line for n, line in shared_secrets.items())
            new = json.loads(wo('info', site, '--json').stdout)['db_user']
            assert new in sovereign_secrets['DB_USER'] and old not in mysql(
                'SELECT User FROM mysql.user')
            assert not connects(old, old_password)
            wo('verify', site)
            back = json.loads(wo('isolate', site, '--isolation', 'shared', '--json').stdout)
            assert back['sites'][0]['status'] == 'isolated'
            wo('verify', site)
    finally:
        os.unlink('/var/www/{0}/twin-mt.txt'.format(site))
    assert load.failures() == {}
    assert os.stat(uploads + '/2026').st_uid == www.pw_uid
    assert subprocess.run(['getent', 'passwd', pools.system_user(site)]).returncode == 2
    assert json.loads(wo('info', site, '--json').stdout)['isolation'] == 'shared'


def isolate_failing_verification(site):
    """`isolate site` with the shared MU-plugins opened to every user meanwhile, so that
    its isolation check fails: exit 1, the site's result (failed, naming the check)."""
    mu_plugins = '/var/www/shared/wp-content/mu-plugins'
    mode = os.stat(mu_plugins).st_mode & 0o7777
    try:
        os.chmod(mu_plugins, 0o777)
        failed = wo('isolate', site, '--json', check=False)
    finally:
        os.chmod(mu_plugins, mode)
    assert failed.returncode == 1, failed.stdout
    result = json.loads(failed.stdout)['sites'][0]
    assert result['status'] == 'failed' and 'write_shared_mu_plugins' in result['error']
    return result


def own_accounts(db_user):
    """The database accounts named as a site's are: its first ones, and those isolate
    made for it (their name begins as the first's)."""
    return mysql("SELECT User FROM mysql.user WHERE LEFT(User, 12) = '{0}'".format(db_user[:12]))


def routed_to_pool(site):
    """Whether the site's nginx include sends its PHP to its own pool's socket."""
    with open('/var/www/{0}/conf/nginx/wo-multitenancy.conf'.format(site)) as f:
        return '{0}/{1}.sock'.format(SOCKETS, site) in f.read()


def recorded_db_user(site):
    """The database user WordOps' table has for the site (read straight: polled)."""
    with sqlite3.connect('/var/lib/wo/dbase.db') as db:
        return db.execute('SELECT db_user FROM sites WHERE sitename = ?', (site,)).fetchone()[0]


# A moment of a move that stops without its undo, taken as soon as it is seen, and the
# checks verify fails then besides `isolation`.
KILL_POINTS = {
    'its user was made': ('sovereign', lambda site, first: subprocess.run(
        ['getent', 'passwd', pools.system_user(site)], capture_output=True).returncode == 0,
        ()),
    'nginx was pointed at its pool': ('sovereign', lambda site, first: routed_to_pool(site),
                                      ()),
    # the 2 s before the first account is dropped: it still has its grants
    'its second database account was recorded': (
        'sovereign', lambda site, first: recorded_db_user(site) != first, ('database_writer',)),
    'nginx was pointed back at the shared pool': (
        'shared', lambda site, first: not routed_to_pool(site), ()),
}


KILLED = 'sov-kill.test'


@pytest.fixture
def killable():
    """A site (KILLED) made for each test here, and removed after it."""
    purge_site(KILLED)
    yield KILLED
    purge_site(KILLED)


def kill_isolate(site, model, seen, also_failing=()):
    """`isolate site --isolation model`, SIGKILLed as soon as seen(site, its database
    user) holds; then the site answers, and verify fails its isolation naming the
    stopped move (and the checks `also_failing`)."""
    first = json.loads(wo('info', site, '--json').stdout)['db_user']
    run = subprocess.Popen(['wo', 'multitenancy', 'isolate', site, '--isolation', model],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while run.poll() is None and not seen(site, first):
        time.sleep(0.01)
    assert run.poll() is None, 'isolate ended before the moment it was to be killed at'
    os.kill(run.pid, signal.SIGKILL)
    run.wait()
    assert get(site).status_code == 200
    stopped = wo('verify', site, '--json', check=False)
    assert stopped.returncode == 3
    failing = {c['check']: c['detail'] for c in json.loads(stopped.stdout)['sites'][0]['checks']
               if not c['ok']}
    assert sorted(failing) == sorted(('isolation',) + also_failing), failing
    assert failing['isolation'] == 'a move to the {0} model stopped part-way'.format(model)
    if also_failing:
        assert failing['database_writer'].startswith('other accounts have grants on')
    assert json.loads(wo('info', site, '--json').stdout)['moving_to'] == model


def assert_moved_whole(site, model, first, password):
    """The site verified as `model`, no move recorded, its wp-config.php its PHP user's
    group's alone (no ACL), one database account of its name; going sovereign, the
    first account's password (every shared site could read it) opens nothing."""
    wo('verify', site)
    info = json.loads(wo('info', site, '--json').stdout)
    assert (info['isolation'], info['moving_to']) == (model, None)
    assert own_accounts(first) == [info['db_user']]
    config = '/var/www/{0}/wp-config.php'.format(site)
    assert grp.getgrgid(os.stat(config).st_gid).gr_name == php_user(site)
    assert 'system.posix_acl_access' not in os.listxattr(config)
    if model == 'sovereign':
        assert not connects(first, password)
    else:
        assert subprocess.run(['getent', 'passwd', pools.system_user(site)]).returncode == 2
    assert get(site).status_code == 200


def first_secrets(site, isolation):
    """Create `site` with `isolation`: its database user and password."""
    wo('create', site, '--wpfc', '--isolation', isolation)
    return (json.loads(wo('info', site, '--json').stdout)['db_user'],
            secrets_of(site)['DB_PASSWORD'].split("'")[3])


@pytest.mark.parametrize('point', KILL_POINTS)
def test_an_isolate_killed_part_way_is_finished_by_the_next_one(killable, point):
    """isolate SIGKILLed as soon as `point` is seen: the next isolate finishes it."""
    model, seen, also_failing = KILL_POINTS[point]
    first, password = first_secrets(killable, 'shared' if model == 'sovereign' else 'sovereign')
    kill_isolate(killable, model, seen, also_failing)
    done = json.loads(wo('isolate', killable, '--isolation', model, '--json').stdout)['sites'][0]
    assert (done['status'], done['note']) == ('isolated', 'a stopped move finished')
    assert_moved_whole(killable, model, first, password)


def test_a_stopped_move_the_site_tampered_with_is_finished_safely_and_back(killable):
    """Killed once its own pool serves it, the site's PHP (its user now) swaps its
    temporary sessions directory for a link to a directory of root's. The next isolate,
    whose verification fails (the shared MU-plugins opened to all), follows no link,
    undoes nothing and keeps the move recorded, www-data reading nothing of the site;
    then `isolate --isolation shared` finishes the move and moves the site back."""
    first, password = first_secrets(killable, 'shared')
    kill_isolate(killable, *KILL_POINTS['its second database account was recorded'])
    bait = '/var/lib/wo-multitenancy-bait'
    os.makedirs(bait, mode=0o755, exist_ok=True)
    sessions = '/var/www/{0}/tmp/sessions'.format(killable)
    user = pwd.getpwnam(pools.system_user(killable))
    shutil.rmtree(sessions)
    os.symlink(bait, sessions)
    os.lchown(sessions, user.pw_uid, user.pw_gid)
    try:
        result = isolate_failing_verification(killable)
        assert result['hint'].startswith('the move stays recorded')
        assert (os.stat(bait).st_uid, os.stat(bait).st_mode & 0o777) == (0, 0o755)
        assert os.path.isdir(sessions) and not os.path.islink(sessions)
        assert os.stat(sessions).st_uid == user.pw_uid
        config = '/var/www/{0}/wp-config.php'.format(killable)
        assert (os.stat(config).st_gid, os.stat(config).st_mode & 0o777) == (user.pw_gid, 0o640)
        assert 'system.posix_acl_access' not in os.listxattr(config)
        assert json.loads(wo('info', killable, '--json').stdout)['moving_to'] == 'sovereign'
        assert get(killable).status_code == 200
        back = json.loads(wo('isolate', killable, '--isolation', 'shared', '--json').stdout)
        assert back['sites'][0]['status'] == 'isolated'
        assert_moved_whole(killable, 'shared', first, password)
    finally:
        os.rmdir(bait)


def test_an_isolate_failing_verification_once_its_old_account_is_gone_stays_recorded(killable):
    """Verification fails after the site got its new secrets (the shared MU-plugins
    opened to all): nothing is undone, so the first password, which every shared site
    could read, never opens the database again; the move stays recorded, the site
    serves from its own pool, and the next isolate finishes the move."""
    first, password = first_secrets(killable, 'shared')
    result = isolate_failing_verification(killable)
    assert result['hint'].startswith('the move stays recorded')
    assert not connects(first, password)
    assert json.loads(wo('info', killable, '--json').stdout)['moving_to'] == 'sovereign'
    assert routed_to_pool(killable) and get(killable).status_code == 200
    assert wo('verify', killable, check=False).returncode == 3
    done = json.loads(wo('isolate', killable, '--json').stdout)['sites'][0]
    assert (done['status'], done['note']) == ('isolated', 'a stopped move finished')
    assert_moved_whole(killable, 'sovereign', first, password)


def test_an_isolate_failing_verification_before_any_secret_changed_is_undone(killable):
    """A sovereign site moved to shared with an option naming a place outside it, so its
    no_legacy_paths check fails: isolate exits 1 and the site is sovereign as before,
    the same wp-config.php and database account, no move recorded."""
    first_secrets(killable, 'sovereign')
    config = '/var/www/{0}/wp-config.php'.format(killable)
    db = json.loads(wo('info', killable, '--json').stdout)['db_name']
    with open(config, 'rb') as f:
        before = f.read(), os.stat(config).st_uid, os.stat(config).st_gid
    accounts = mysql('SELECT CONCAT(User, "@", Host) FROM mysql.user')
    mysql("INSERT INTO `{0}`.wp_options (option_name, option_value) VALUES ('upload_path', "
          "'/var/lib/elsewhere') ON DUPLICATE KEY UPDATE option_value = VALUES(option_value)"
          .format(db))
    failed = wo('isolate', killable, '--isolation', 'shared', '--json', check=False)
    mysql("DELETE FROM `{0}`.wp_options WHERE option_name = 'upload_path'".format(db))
    assert failed.returncode == 1, failed.stdout
    result = json.loads(failed.stdout)['sites'][0]
    assert 'no_legacy_paths' in result['error'] and result['hint'].startswith('it is back as it was')
    with open(config, 'rb') as f:
        assert (f.read(), os.stat(config).st_uid, os.stat(config).st_gid) == before
    assert mysql('SELECT CONCAT(User, "@", Host) FROM mysql.user') == accounts
    info = json.loads(wo('info', killable, '--json').stdout)
    assert (info['isolation'], info['moving_to']) == ('sovereign', None)
    assert routed_to_pool(killable) and get(killable).status_code == 200
    wo('verify', killable)


def test_a_write_staged_with_the_old_password_is_never_committed_after_the_move(killable):
    """A prepared XA transaction outlives its session and its account, and any account
    may commit it: a shared site that knew the password could stage rows (an admin of
    its own) and commit them once the site is sovereign. The move rolls it back."""
    first, password = first_secrets(killable, 'shared')
    db = json.loads(wo('info', killable, '--json').stdout)['db_name']
    staged = ("XA START 'later'; INSERT INTO wp_options (option_name, option_value, autoload) "
              "VALUES ('mt_staged', 'by a shared site', 'no'); XA END 'later'; "
              "XA PREPARE 'later'")
    subprocess.run(['mariadb', '-u', first, '-p' + password, db, '-e', staged], check=True)
    try:
        assert mysql("XA RECOVER") == sorted(['1', '5', '0', 'later'])
        wo('isolate', killable)
        assert mysql("XA RECOVER") == []
    finally:  # a prepared branch left would hold its locks on the site's tables
        committed = subprocess.run(['mariadb', '-e', "XA COMMIT 'later'"], capture_output=True)
    assert committed.returncode != 0  # no such transaction any more
    assert mysql("SELECT COUNT(*) FROM `{0}`.wp_options WHERE option_name = 'mt_staged'"
                 .format(db)) == ['0']
    assert_moved_whole(killable, 'sovereign', first, password)


def test_what_the_old_account_defines_refuses_a_move_but_never_pins_a_stopped_one(killable):
    """A trigger whose definer is the site's user refuses isolate (its account is
    replaced), changing nothing; --force moves it all the same and names the trigger.
    A stopped move is finished whatever the old account defined meanwhile (any shared
    site knew its password): the account is dropped, the trigger named."""
    first, password = first_secrets(killable, 'shared')
    db = json.loads(wo('info', killable, '--json').stdout)['db_name']
    trigger = ('CREATE DEFINER=`{0}`@`localhost` TRIGGER `{1}`.{2} BEFORE INSERT ON '
               '`{1}`.wp_options FOR EACH ROW SET @seen = 1')
    mysql(trigger.format(first, db, 'pin_before'))
    refused = wo('isolate', killable, '--json', check=False)
    assert refused.returncode == 2, refused.stdout
    assert 'TRIGGERS pin_before' in json.loads(refused.stdout)['sites'][0]['error']
    assert json.loads(wo('info', killable, '--json').stdout)['moving_to'] is None
    forced = json.loads(wo('isolate', killable, '--force', '--json').stdout)['sites'][0]
    assert forced['orphaned'] == ['TRIGGERS pin_before (defined by {0})'.format(first)]
    mysql('DROP TRIGGER `{0}`.pin_before'.format(db))
    assert_moved_whole(killable, 'sovereign', first, password)
    wo('isolate', killable, '--isolation', 'shared')
    second = json.loads(wo('info', killable, '--json').stdout)['db_user']
    password = secrets_of(killable)['DB_PASSWORD'].split("'")[3]
    kill_isolate(killable, *KILL_POINTS['nginx was pointed at its pool'])
    mysql(trigger.format(second, db, 'pin_after'))  # the old account still lives: it may
    done = json.loads(wo('isolate', killable, '--json').stdout)['sites'][0]
    assert done['status'] == 'isolated'
    assert done['orphaned'] == ['TRIGGERS pin_after (defined by {0})'.format(second)]
    mysql('DROP TRIGGER `{0}`.pin_after'.format(db))
    assert_moved_whole(killable, 'sovereign', second, password)


def test_an_update_writes_anew_a_pool_an_older_version_wrote(tenants, release_tarball):
    """A pool written before the shared config/ was in open_basedir (the baseline did not
    reach the site): verify fails its isolation, and the next update rewrites the pool."""
    site = tenants[1]
    path = '/etc/php/{0}/fpm/wo-multitenancy.d/{1}.conf'.format(installed_php(), site)
    with open(path) as f:
        current = f.read()
    older = current.replace('/var/www/shared/config/:', '')
    assert older != current
    with open(path, 'w') as f:
        f.write(older)
    assert wo('verify', site, check=False).returncode == 3
    wo('update', '--force', '--source', release_tarball)
    with open(path) as f:
        assert f.read() == current
    wo('verify', site)


def test_convert_with_isolation_sovereign_ends_in_a_verified_sovereign_site(make_standalone):
    domain = 'sov-conv.test'
    make_standalone(domain)
    converted = json.loads(wo('convert', domain, '--isolation', 'sovereign', '--json')
                           .stdout)['sites'][0]
    assert (converted['status'], converted['isolation']) == ('converted', 'sovereign')
    assert json.loads(wo('info', domain, '--json').stdout)['isolation'] == 'sovereign'
    who = run_in_docroot(domain, '<?php echo posix_getpwuid(posix_geteuid())["name"];')
    assert who.text == pools.system_user(domain)
    wo('verify', domain)
