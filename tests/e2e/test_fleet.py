"""The Ansible collection (ansible/), installed from this checkout as a user installs it,
against this machine as a real managed host (ansible_connection=local): the role twice,
the site module, the update and rollback playbooks, the report playbook, and a roll-out
whose first server fails stopping before any other server is touched. Ansible is
ansible-core from PyPI, pinned in tests/ansible-requirements.txt (tests/run installs it)."""
import glob
import json
import os
import re
import shutil
import subprocess
import tarfile
import time

import pytest
import wordpress_releases
from stack import CONF, REPO, get, purge_site, server_state, wipe_shared_core, wo, write_conf

ANSIBLE = '/opt/wo-multitenancy-ansible/bin'
CHECKOUT = '/usr/local/src/wo-multitenancy'     # the role's defaults
STAMP = '/var/lib/wo/multitenancy-installed-revision'
RELEASE_CACHE = '/var/cache/wo-multitenancy'        # the role's multitenancy_release_cache
SITES = ('fleet-a.test', 'fleet-b.test')          # fleet-a is each server's canary site


def ansible(*args, collections, check=True, cwd=None):
    """Run an Ansible command-line tool of the pinned install; the CompletedProcess."""
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_NOCOLOR='1',
               PATH=ANSIBLE + ':' + os.environ['PATH'])
    done = subprocess.run([os.path.join(ANSIBLE, args[0])] + list(args[1:]), env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=1800, stdin=subprocess.DEVNULL)
    if check and done.returncode != 0:
        raise AssertionError('{0} exited {1}\n{2}\n{3}'.format(
            ' '.join(args), done.returncode, done.stdout[-6000:], done.stderr[-3000:]))
    return done


def recap(output):
    """{host: {'ok': n, 'changed': n, 'failed': n, ...}} from a playbook's PLAY RECAP."""
    hosts = {}
    for host, counts in re.findall(r'^(\S+)\s+:\s+(ok=.*)$', output, re.M):
        hosts[host] = {k: int(v) for k, v in re.findall(r'(\w+)=(\d+)', counts)}
    return hosts


@pytest.fixture(scope='module')
def collections(tmp_path_factory):
    """The collection installed from the checkout with ansible-galaxy."""
    path = tmp_path_factory.mktemp('collections')
    ansible('ansible-galaxy', 'collection', 'install', os.path.join(REPO, 'ansible'), '-p',
            str(path), collections=path)
    return path


def collection_dir(collections):
    return os.path.join(str(collections), 'ansible_collections', 'wordops', 'multitenancy')


def inventory(tmp_path, hosts, **common):
    """An inventory of `hosts` {name: vars}, every one this machine over a local connection."""
    local = dict(ansible_connection='local', ansible_python_interpreter='/usr/bin/python3',
                 ansible_become_method='su')  # root already; this machine has no sudo
    path = tmp_path / 'inventory.yml'  # JSON is YAML
    path.write_text(json.dumps({'multitenancy': {
        'hosts': {name: dict(local, **own) for name, own in hosts.items()},
        'vars': dict(multitenancy_repo=REPO, multitenancy_plugin_version=revision(), **common)}}))
    return str(path)


def revision():
    return subprocess.run(['git', '-C', REPO, 'rev-parse', 'HEAD'], capture_output=True,
                          text=True, check=True).stdout.strip()


def playbook(name, inventory_file, collections, *extra, check=True):
    return ansible('ansible-playbook', '-i', inventory_file, 'wordops.multitenancy.' + name,
                   *extra, collections=collections, check=check)


def site_task(inventory_file, collections, *options):
    """The site module run ad hoc on this server: its result."""
    done = ansible('ansible', 'this-server', '-i', inventory_file, '-b', '-m',
                   'wordops.multitenancy.site', *options, collections=collections)
    return json.loads(re.search(r'^this-server \| \w+ => (.*)', done.stdout, re.M | re.S).group(1))


def status():
    return json.loads(wo('status', '--json').stdout)


def version_of(domain):
    page = get(domain, '/?v={0}'.format(time.time()))
    assert page.status_code == 200, (domain, page.status_code)
    return page.text.split('<meta name="generator" content="WordPress ')[1].split('"')[0]


def test_the_collection_passes_ansible_lint_and_ansible_test_sanity(collections):
    where = collection_dir(collections)
    linted = ansible('ansible-lint', '--profile', 'production', '--strict',
                     collections=collections, cwd=where, check=False)
    assert linted.returncode == 0, linted.stdout + linted.stderr
    provide_get_pip()
    sanity = ansible('ansible-test', 'sanity', '--requirements', '--python', '3.11',
                     collections=collections, cwd=where, check=False)
    assert sanity.returncode == 0, sanity.stdout[-6000:] + sanity.stderr[-3000:]
    assert len(re.findall(r'^Running sanity test', sanity.stdout, re.M)) >= 20, sanity.stdout


def provide_get_pip():
    """ansible-test puts pip in each of its venvs with a get-pip.py it downloads from
    ci-files.testing.ansible.com, which this machine cannot reach; it takes one from its
    cache first. Ours (tests/ansible_get_pip.py) installs the same pip from PyPI."""
    source = glob.glob(os.path.join(os.path.dirname(ANSIBLE), 'lib', 'python3*', 'site-packages',
                                    'ansible_test', '_internal', 'python_requirements.py'))[0]
    with open(source) as f:
        pip_version = re.search(r"pip='([0-9.]+)'", f.read()).group(1)
    cache = os.path.expanduser('~/.ansible/test/cache')
    os.makedirs(cache, exist_ok=True)
    shutil.copy(os.path.join(REPO, 'tests', 'ansible_get_pip.py'),
                os.path.join(cache, 'get_pip_{0}.py'.format(pip_version.replace('.', '_'))))


@pytest.fixture(scope='module')
def this_server(tmp_path_factory, shared_core, release_tarball):
    """This machine as before the role: no shared core, no test site, no checkout of the
    role's; afterwards the shared core the other tests expect."""
    wipe_shared_core()
    shutil.rmtree(CHECKOUT, ignore_errors=True)
    if os.path.exists(STAMP):
        os.unlink(STAMP)
    yield tmp_path_factory.mktemp('fleet')
    write_conf()
    wipe_shared_core()
    wo('init', '--source', release_tarball)


@pytest.fixture(scope='module')
def installed(this_server, collections, older_tarball):
    """The role applied once (install playbook): (inventory, its run)."""
    inv = inventory(this_server, {'this-server': {}}, multitenancy_release=older_tarball,
                    multitenancy_config={'keep_releases': 4})
    return inv, playbook('install', inv, collections)


def test_the_role_installs_configures_initialises_and_the_second_run_changes_nothing(
        installed, collections):
    inv, first = installed
    assert recap(first.stdout)['this-server']['changed'] >= 5, first.stdout
    assert open(STAMP).read().strip() == revision()
    assert os.path.isdir(os.path.join(CHECKOUT, '.git'))
    assert re.search(r'^keep_releases = 4$', open(CONF).read(), re.M)
    assert status()['wp_version'] == '6.4.5'
    second = playbook('install', inv, collections)
    assert recap(second.stdout)['this-server'] == dict(
        recap(second.stdout)['this-server'], changed=0, failed=0), second.stdout


def test_the_role_writes_settings_as_the_plugin_reads_them_and_refuses_others(
        installed, collections):
    inv, _ = installed
    conf = open(CONF).read()  # baseline_plugins = hello, disable_file_edit = true
    same = {'keep_releases': 4, 'baseline_plugins': ['hello'], 'disable_file_edit': True}
    again = playbook('install', inv, collections, '-e', json.dumps({'multitenancy_config': same}))
    assert recap(again.stdout)['this-server']['changed'] == 0 and open(CONF).read() == conf
    for bad in ({'no_such_setting': 1}, {'Keep_Releases': 5},
                {'alert_email': 'ops@example.com\nshared_root = /tmp/elsewhere'}):
        refused = playbook('install', inv, collections, '-e',
                           json.dumps({'multitenancy_config': bad}), check=False)
        assert refused.returncode == 2 and 'is not a setting of' in refused.stdout, bad
        assert open(CONF).read() == conf


def test_the_site_module_creates_isolates_deletes_and_check_mode_changes_nothing(
        installed, collections):
    inv, _ = installed
    domain, args = 'fleet-m.test', 'domain=fleet-m.test isolation=shared'
    before = server_state()
    planned = site_task(inv, collections, '-a', args, '--check', '--diff')
    assert planned['changed'] and planned['commands'] == [
        'wo multitenancy create --json --admin-user admin --isolation shared -- fleet-m.test']
    assert server_state() == before
    made = site_task(inv, collections, '-a', args)
    assert made['changed'] and (made['site']['state'], made['site']['isolation']) == ('live', 'shared')
    assert made['url'] == 'http://fleet-m.test/' and 'admin_password' not in made
    assert get(domain).status_code == 200
    assert not site_task(inv, collections, '-a', args)['changed']
    isolated = site_task(inv, collections, '-a', 'domain=fleet-m.test state=isolated')
    assert isolated['commands'] == [
        'wo multitenancy isolate --json --isolation sovereign -- fleet-m.test']
    assert isolated['site']['isolation'] == 'sovereign' and isolated['site']['system_user']
    before = server_state()
    assert site_task(inv, collections, '-a', 'domain=fleet-m.test state=absent', '--check')['changed']
    assert server_state() == before
    gone = site_task(inv, collections, '-a', 'domain=fleet-m.test state=absent')
    assert gone['changed'] and gone['site'] == {}
    assert domain not in [s['domain'] for s in json.loads(wo('list', '--json').stdout)]
    assert not site_task(inv, collections, '-a', 'domain=fleet-m.test state=absent')['changed']


def test_the_site_module_converts_a_standalone_site_and_check_mode_only_checks_it(
        installed, collections, make_standalone, older_tarball):
    inv, _ = installed
    make_standalone('fleet-s.test', tarball=older_tarball)
    args = 'domain=fleet-s.test state=converted isolation=shared'
    before = server_state()
    planned = site_task(inv, collections, '-a', args, '--check')
    assert planned['commands'] == ['wo multitenancy convert --json --isolation shared -- fleet-s.test']
    assert server_state() == before
    converted = site_task(inv, collections, '-a', args)
    assert converted['changed'] and converted['site']['state'] == 'live'
    assert get('fleet-s.test').status_code == 200
    assert not site_task(inv, collections, '-a', args)['changed']


@pytest.fixture(scope='module')
def fleet_sites(installed, collections):
    """Two sites made with the module (fleet-b sovereign), its inventory."""
    inv, _ = installed
    made = site_task(inv, collections, '-a', 'domain=fleet-a.test isolation=shared '
                     'return_password=true')
    assert len(made['admin_password']) >= 16
    site_task(inv, collections, '-a', 'domain=fleet-b.test isolation=sovereign')
    yield inv
    for domain in SITES:
        purge_site(domain)


def versions():
    return {version_of(d) for d in SITES}


def test_the_update_playbook_updates_every_site_and_the_rollback_playbook_brings_them_back(
        fleet_sites, collections, release_tarball, tmp_path):
    report = tmp_path / 'update.json'
    older = os.path.join(RELEASE_CACHE, 'wordpress-6.3.0.tar.gz')  # one brought before
    os.makedirs(RELEASE_CACHE, exist_ok=True)
    open(older, 'w').close()
    playbook('update', fleet_sites, collections, '-e', 'multitenancy_release=' + release_tarball,
             '-e', 'multitenancy_report_file={0}'.format(report))
    assert versions() == {'6.5.5'}
    assert os.listdir(RELEASE_CACHE) == [os.path.basename(release_tarball)]
    updated = json.loads(report.read_text())
    line, = updated['servers']
    assert (line['host'], line['sites'], line['changed'], line['wp_version_before'],
            line['wp_version_after'], line['release_after']) == (
        'this-server', 2, True, '6.4.5', '6.5.5', status()['release'])
    # a release named by the playbook updates the core alone (update --source)
    assert (line['plugins_updated'], line['themes_updated']) == ([], [])
    assert updated['changed'] == ['this-server'] and updated['sites'] == 2
    back = tmp_path / 'rollback.json'
    playbook('rollback', fleet_sites, collections, '-e', 'multitenancy_rollback_to=6.4.5',
             '-e', 'multitenancy_report_file={0}'.format(back))
    assert versions() == {'6.4.5'}
    line, = json.loads(back.read_text())['servers']
    assert (line['wp_version_before'], line['wp_version_after']) == ('6.5.5', '6.4.5')
    again = playbook('rollback', fleet_sites, collections, '-e', 'multitenancy_rollback_to=6.4.5')
    assert recap(again.stdout)['this-server']['changed'] == 0 and versions() == {'6.4.5'}


def test_a_roll_out_whose_first_server_fails_touches_no_other_server(
        fleet_sites, collections, release_tarball, tmp_path):
    """Two inventory names for this machine: the first given a release with a PHP fatal,
    which its canary site refuses; the roll-out stops there, the second never updates,
    and the report says where it stopped and why."""
    inv = inventory(tmp_path, {'first-server': {'multitenancy_release': fatal_tarball(
        release_tarball, tmp_path)}, 'second-server': {'multitenancy_release': release_tarball}})
    release, since, report = status()['release'], audit_ids(), tmp_path / 'stopped.json'
    done = playbook('update', inv, collections, '-e', 'multitenancy_report_file={0}'.format(report),
                    check=False)
    assert done.returncode == 2, done.stdout
    assert 'the roll-out stopped at first-server' in done.stdout
    hosts = recap(done.stdout)
    assert hosts['first-server']['rescued'] == 1, done.stdout
    assert 'second-server' not in hosts, done.stdout  # it ran no task
    stopped = json.loads(report.read_text())
    assert (stopped['failed'], stopped['stopped_at'], stopped['changed']) == (
        ['first-server'], 'first-server', [])
    line, = stopped['servers']
    assert line['host'] == 'first-server' and 'canary site fleet-a.test' in line['error']
    assert (line['sites'], line['wp_version_before']) == (2, '6.4.5')
    assert status()['release'] == release and versions() == {'6.4.5'}
    updates = [e for e in audit_events() if e['id'] not in since and e['command'] == 'update']
    assert [e['exit_code'] for e in updates] == [1]


def test_the_report_playbook_gathers_every_server_and_fails_on_an_unhealthy_site(
        fleet_sites, collections, tmp_path):
    report = tmp_path / 'report.json'
    playbook('report', fleet_sites, collections, '-e', 'multitenancy_report_file={0}'.format(report))
    healthy = json.loads(report.read_text())
    assert (healthy['sites'], healthy['unhealthy'], healthy['silent']) == (2, 0, [])
    server, = healthy['servers']
    assert (server['host'], server['wp_version'], server['unhealthy']) == ('this-server', '6.4.5', [])
    assert 'update' in [e['command'] for e in server['failed_commands']]  # the refused roll-out
    with account_locked('fleet-b.test'):
        done = playbook('report', fleet_sites, collections, '-e',
                        'multitenancy_report_file={0}'.format(report), check=False)
    assert done.returncode == 2, done.stdout
    assert '1 unhealthy site(s)' in done.stdout
    server, = json.loads(report.read_text())['servers']
    assert server['unhealthy'] == ['fleet-b.test']
    failed = server['failed_checks']['fleet-b.test']
    assert failed[0]['check'] == 'database_writer' and not any(c['ok'] for c in failed)


def test_a_server_that_does_not_answer_is_named_in_the_report_and_fails_it(
        fleet_sites, collections, tmp_path):
    inv = inventory(tmp_path, {'this-server': {}, 'gone-server': {
        'ansible_connection': 'ssh', 'ansible_host': '127.0.0.9', 'ansible_port': 9}})
    report = tmp_path / 'report.json'
    done = playbook('report', inv, collections, '-e', 'multitenancy_report_file={0}'.format(report),
                    check=False)
    assert done.returncode == 2, done.stdout
    found = json.loads(report.read_text())
    assert found['silent'] == ['gone-server'] and list(found['errors']) == ['gone-server']
    assert [s['host'] for s in found['servers']] == ['this-server'] and found['unhealthy'] == 0


def fatal_tarball(release_tarball, tmp_path):
    """The release with a PHP fatal error in wp-settings.php, as a .tar.gz."""
    tree = wordpress_releases.with_php_fatal(release_tarball, tmp_path / 'broken')
    path = str(tmp_path / 'wordpress-broken.tar.gz')
    with tarfile.open(path, 'w:gz') as tar:
        tar.add(os.path.join(tree, 'wordpress'), arcname='wordpress')
    return path


def audit_events():
    return json.loads(wo('audit', '--json').stdout)['events']


def audit_ids():
    return {e['id'] for e in audit_events()}


class account_locked:
    """The site's database user locked, MariaDB refusing it, for the block."""

    def __init__(self, domain):
        info = json.loads(wo('info', domain, '--json').stdout)
        self.account = "'{db_user}'@'{db_grant_host}'".format(**info)

    def __enter__(self):
        subprocess.run(['mariadb', '-e', 'ALTER USER {0} ACCOUNT LOCK'.format(self.account)],
                       check=True)

    def __exit__(self, *exc):
        subprocess.run(['mariadb', '-e', 'ALTER USER {0} ACCOUNT UNLOCK'.format(self.account)],
                       check=True)
