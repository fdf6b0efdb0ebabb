"""Bad input is refused before anything changes, with a message saying what to do."""
import fcntl
import os

import pytest

from stack import server_state, wo, write_conf

MALFORMED = {
    'double..dot.test': 'empty label',
    '-leading.test': 'label',
    'Upper.test': 'upper-case',
    'under_score.test': 'label',
    'example.test/path': 'not a bare domain',
    'http://scheme.test': 'not a bare domain',
    '\u2014le': 'em dash',
    'en\u2013dash.test': 'en dash',
    'nodot': 'not a domain',
}


def refused(*args):
    """Run a command that must be refused; return its stderr."""
    before = server_state()
    done = wo(*args, check=False)
    assert done.returncode == 2, (args, done.returncode, done.stdout, done.stderr)
    assert server_state() == before
    assert done.stderr.startswith('Error: ')
    return done.stderr


@pytest.mark.parametrize('domain', sorted(MALFORMED))
def test_malformed_domains_are_refused(shared_core, domain):
    assert MALFORMED[domain] in refused('create', domain)


def test_an_em_dash_flag_gets_a_typing_hint(shared_core):
    message = refused('create', 'dash-mt.test', '\u2014le')
    assert 'em dash' in message and '--le' in message


def test_an_existing_domain_is_refused(make_site):
    make_site('exists-mt.test')
    assert 'already exists' in refused('create', 'exists-mt.test')


def test_a_domain_wordops_already_has_is_refused(shared_core):
    import sqlite3
    with sqlite3.connect('/var/lib/wo/dbase.db') as db:
        db.execute("INSERT INTO sites (sitename, site_type, site_path, is_enabled) "
                   "VALUES ('plain-wo.test', 'wp', '/var/www/plain-wo.test', 1)")
    try:
        assert 'already exists' in refused('create', 'plain-wo.test')
    finally:
        with sqlite3.connect('/var/lib/wo/dbase.db') as db:
            db.execute("DELETE FROM sites WHERE sitename = 'plain-wo.test'")


def test_a_php_version_that_is_not_installed_is_refused(shared_core):
    missing = [v for v in ('7.4', '8.0', '8.1', '8.2', '8.3', '8.4', '8.5')
               if not os.path.exists('/usr/sbin/php-fpm' + v)][0]
    flag = '--php' + missing.replace('.', '')
    assert 'PHP {0} is not installed'.format(missing) in refused('create', 'php-mt.test', flag)


def test_two_cache_flags_are_refused(shared_core):
    assert 'one cache type' in refused('create', 'cache-mt.test', '--wpfc', '--wpredis')


def test_hsts_without_ssl_is_refused(shared_core):
    assert '--hsts needs --le' in refused('create', 'hsts-mt.test', '--hsts')


def test_create_before_init_is_refused(shared_core):
    write_conf(shared_root='/var/www/not-initialized-shared')
    try:
        message = refused('create', 'early-mt.test')
    finally:
        write_conf()
    assert 'not set up yet' in message and 'wo multitenancy init' in message


def test_low_disk_space_is_refused(shared_core):
    write_conf(min_free_space=10 ** 9)
    try:
        assert 'min_free_space' in refused('create', 'disk-mt.test')
    finally:
        write_conf()


def test_a_create_while_nginx_is_broken_says_so_and_leaves_nothing(shared_core):
    """nginx failing `nginx -t` before the site is added (checked once the vhost is in:
    a check before would parse every vhost once more): exit 1, undone."""
    broken = '/etc/nginx/conf.d/zz-broken-mt.conf'
    before = server_state()
    with open(broken, 'w') as f:
        f.write('this is not nginx;\n')
    try:
        done = wo('create', 'nginx-broken-mt.test', check=False)
    finally:
        os.unlink(broken)
    assert done.returncode == 1, done.stderr
    assert 'nginx fails `nginx -t` without the vhost of nginx-broken-mt.test too' in done.stderr
    assert server_state() == before


def test_a_missing_source_is_refused(shared_core):
    assert 'no such file' in refused('init', '--force', '--source', '/nonexistent/wp.tar.gz')


def test_a_busy_lock_is_reported_with_its_own_exit_code(shared_core):
    before = server_state()
    with open('/var/lib/wo/multitenancy.lock', 'a+') as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        done = wo('create', 'locked-mt.test', check=False)
    assert done.returncode == 4
    assert 'another wo multitenancy command is running' in done.stderr
    assert server_state() == before


@pytest.mark.parametrize('args, message', [
    (('convert',), 'give the domains to convert, or --all'),
    (('convert', 'a.test', '--all'), 'give the domains to convert, or --all'),
    (('revert',), 'give exactly one domain'),
    (('revert', 'not-ours.test'), 'not a site on the shared core'),
])
def test_convert_and_revert_refuse_unclear_requests(shared_core, args, message):
    assert message in refused(*args)


def test_a_site_that_is_not_wordpress_is_not_converted(shared_core):
    import sqlite3
    with sqlite3.connect('/var/lib/wo/dbase.db') as db:
        db.execute("INSERT INTO sites (sitename, site_type, site_path, is_enabled) "
                   "VALUES ('static-mt.test', 'html', '/var/www/static-mt.test', 1)")
    try:
        done = wo('convert', 'static-mt.test', check=False)
        assert done.returncode == 2
        assert 'is a "html" site: only single WordPress sites share the core' in done.stdout
    finally:
        with sqlite3.connect('/var/lib/wo/dbase.db') as db:
            db.execute("DELETE FROM sites WHERE sitename = 'static-mt.test'")


def test_update_plugins_only_with_a_core_option_is_refused(shared_core):
    for core in (['--core-only'], ['--version', '6.5.5']):
        assert 'which --plugins-only leaves alone' in refused('update', '--plugins-only', *core)


def test_update_of_the_shared_set_offline_names_what_it_could_not_ask_and_changes_nothing(
        shared_core):
    """This machine cannot reach wordpress.org: the first shared plugin or theme it asks
    about ends the command (exit 1), before anything moves."""
    before = server_state()
    done = wo('update', '--plugins-only', check=False)
    assert done.returncode == 1 and server_state() == before
    assert done.stderr.startswith('Error: cannot ask wordpress.org for the ')
    assert done.stderr.rstrip().endswith('check the network, or pass --core-only')
