"""One-time login links on the real stack: a link from `login` reaches the dashboard
once; a second use, a late one, one on another site, a tampered one, one with another
purpose, one for a deleted user and one claiming more than the cap are refused with
their reason in the audit trail; twenty requests at once with one link make exactly one
session; and the token is in no log."""
import json
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from stack import PROBE, WO_DB, mysql, purge_site, wo

from wo.multitenancy import login_links

SITES = ('login-a.test', 'login-b.test')
SHARED_SITE = 'login-c.test'


@pytest.fixture(scope='module')
def sites(shared_core):
    for domain in SITES + (SHARED_SITE,):
        purge_site(domain)
    for domain in SITES:
        wo('create', domain, '--wpfc')  # sovereign, the default
    wo('create', SHARED_SITE, '--wpfc', '--isolation', 'shared')
    yield SITES
    for domain in SITES + (SHARED_SITE,):
        purge_site(domain)


def link(domain, *args):
    return json.loads(wo('login', domain, '--json', *args).stdout)


def token_of(result):
    return result['url'].split('#', 1)[1]


def use(domain, token, origin=None, session=None):
    """What the link page's script does: POST the fragment back, from the site's origin."""
    return (session or requests).post(
        'http://{0}/?wo-mt-login'.format(PROBE), data={'token': token}, timeout=30,
        allow_redirects=False, headers={'Host': domain,
                                        'Origin': 'http://' + (origin or domain)})


def minted(domain, **changes):
    """A token signed with the site's own key, with `changes` to a valid link's claims."""
    with open(login_links.key_file(_settings(), domain)) as f:
        key = bytes.fromhex(f.read().strip())
    claims = dict(login_links.claims(domain, 'admin', 60), **changes)
    return login_links.token(key, claims)


def _settings():
    from wo.multitenancy import settings
    return settings.from_mapping({})


def refusals(domain):
    """The reasons of the refused uses of `domain`'s links in the audit trail."""
    events = json.loads(wo('audit', '--site', domain, '--json').stdout)['events']
    return [e['detail'].split('; ')[0] for e in events
            if e['command'] == 'login-use' and e['result'] == 'refused']


def test_a_link_reaches_the_dashboard_once(sites):
    domain = sites[0]
    result = link(domain)
    assert result['user'] == 'admin' and result['url'].startswith(
        'http://{0}/?wo-mt-login#'.format(domain))
    page = requests.get('http://{0}/?wo-mt-login'.format(PROBE), headers={'Host': domain},
                        timeout=30)
    assert page.status_code == 200 and 'location.hash' in page.text
    assert 'no-store' in page.headers['Cache-Control']
    # WordOps' nginx sets every answer's Referrer-Policy header itself (more_set_headers);
    # the page's <meta> decides for its form: same-origin (no-referrer posts Origin: null).
    assert '<meta name="referrer" content="same-origin">' in page.text
    assert 'Log in to {0}</button>'.format(domain) in page.text  # a click, not a script
    assert requests.head('http://{0}/?wo-mt-login'.format(PROBE), headers={'Host': domain},
                         timeout=30).status_code == 200  # a link preview uses nothing
    answer = use(domain, token_of(result))
    assert answer.status_code == 303 and answer.headers['Location'].endswith('/wp-admin/')
    assert 'no-store' in answer.headers['Cache-Control']
    dashboard = requests.get('http://{0}/wp-admin/'.format(PROBE), headers={'Host': domain},
                             cookies=answer.cookies, timeout=30, allow_redirects=False)
    assert dashboard.status_code == 200 and 'Dashboard' in dashboard.text
    again = use(domain, token_of(result))
    assert again.status_code == 403 and 'cannot be used' in again.text
    assert 'replayed' in refusals(domain)


@pytest.mark.parametrize('case,reason', [
    ('late', 'expired'), ('cap', 'expired'), ('purpose', 'wrong purpose'),
    ('tampered', 'bad signature'), ('other site', 'bad signature'),
    ('origin', 'wrong origin'), ('nobody', 'unknown user')])
def test_a_bad_link_is_refused_and_its_reason_audited(sites, case, reason):
    domain, other = sites
    now = int(time.time())
    token = {
        'late': lambda: minted(domain, iat=now - 200, exp=now - 100),
        'cap': lambda: minted(domain, iat=now, exp=now + 3600),
        'purpose': lambda: minted(domain, pur='reset'),
        'tampered': lambda: _flip(token_of(link(domain))),
        'other site': lambda: token_of(link(other)),
        'origin': lambda: token_of(link(domain)),
        'nobody': lambda: minted(domain, sub='nobody'),
    }[case]()
    answer = use(domain, token, origin='evil.test' if case == 'origin' else None)
    assert answer.status_code == 403 and 'wordpress_logged_in' not in str(answer.cookies)
    assert refusals(domain)[-1] == reason


def _flip(token):
    i = len(token) // 3
    return token[:i] + ('A' if token[i] != 'A' else 'B') + token[i + 1:]


def test_a_link_for_a_user_deleted_since_is_refused(sites):
    domain = sites[1]
    database = _database(domain)
    mysql("INSERT INTO `{0}`.wp_users (user_login, user_pass, user_email, user_registered, "
          "display_name) VALUES ('leaver', '', 'leaver@example.com', NOW(), 'leaver')".format(
              database))
    result = link(domain, '--user', 'leaver', '--redirect', '/wp-admin/profile.php')
    assert result['user'] == 'leaver'
    mysql("DELETE FROM `{0}`.wp_users WHERE user_login = 'leaver'".format(database))
    assert use(domain, token_of(result)).status_code == 403
    assert refusals(domain)[-1] == 'unknown user'


def _database(domain):
    done = subprocess.run(['sqlite3', WO_DB, "SELECT db_name FROM multitenancy_sites WHERE "
                           "domain = '{0}'".format(domain)], capture_output=True, text=True,
                          check=True)
    return done.stdout.strip()


def test_twenty_requests_with_one_link_make_one_session(sites):
    domain, token = sites[0], token_of(link(sites[0]))
    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(lambda _: use(domain, token), range(20)))
    assert sorted(a.status_code for a in answers) == [303] + [403] * 19


def test_a_shared_site_takes_its_links_and_a_redirect_stays_on_the_site(sites):
    answer = use(SHARED_SITE, token_of(link(SHARED_SITE, '--redirect', '/wp-admin/edit.php')))
    assert answer.status_code == 303
    assert answer.headers['Location'] == 'http://{0}/wp-admin/edit.php'.format(SHARED_SITE)


@pytest.mark.parametrize('args,message', [
    (('--ttl', '301'), 'between 1 and 300'), (('--ttl', '0'), 'between 1 and 300'),
    (('--redirect', 'https://evil.test/'), 'not a path'), (('--redirect', '//evil.test/'),
                                                           'not a path'),
    (('--user', 'nobody'), "no user 'nobody'")])
def test_login_refuses_what_it_cannot_make(sites, args, message):
    done = wo('login', sites[0], *args, check=False)
    assert done.returncode == 2 and message in done.stderr


def test_a_site_moved_to_another_model_gets_a_new_key(sites):
    """A shared site may have read the key while the site was shared: after isolate, a
    link made before is refused, and a new one works for the coming PHP user."""
    before = link(SHARED_SITE)
    wo('isolate', SHARED_SITE)
    try:
        after = link(SHARED_SITE)  # writes the new key
        assert use(SHARED_SITE, token_of(before)).status_code == 403
        assert use(SHARED_SITE, token_of(after)).status_code == 303
    finally:
        wo('isolate', SHARED_SITE, '--isolation', 'shared')
    events = json.loads(wo('audit', '--site', SHARED_SITE, '--json').stdout)['events']
    assert any(e['detail'] == 'bad signature; 1 times' for e in events)


def test_after_create_login_update_rollback_delete_the_trail_has_each_and_no_token(
        sites, release_tarball):
    """The spec's run: each command is an event with its actor and result, the use of the
    link is collected before its site's database goes, the day's summary counts them, and
    the token is nowhere under /var/log nor in WordOps' database."""
    domain = 'login-d.test'
    purge_site(domain)
    since = _last_event()
    wo('create', domain, '--wpfc')
    result = link(domain)
    assert use(domain, token_of(result)).status_code == 303
    wo('update', '--force', '--source', release_tarball)
    wo('rollback', '--force')
    wo('delete', domain, '--force')
    events = [e for e in json.loads(wo('audit', '--json').stdout)['events'] if e['id'] > since]
    mine = [(e['command'], e['result']) for e in events if domain in (e['sites'] or [])]
    assert mine == [('create', 'ok'), ('login', 'ok'), ('login-use', 'ok'), ('update', 'ok'),
                    ('rollback', 'ok'), ('delete', 'ok')]  # in the order they happened
    assert {e['actor'] for e in events if e['command'] != 'login-use'} == {'root'}
    counts = json.loads(wo('audit', '--summary', '--day', time.strftime('%Y-%m-%d'),
                           '--json').stdout)['counts']
    assert all(counts[c].get('ok', 0) >= 1 for c in ('create', 'login', 'update', 'rollback',
                                                     'delete', 'login-use'))
    found = subprocess.run(['grep', '-rlF', token_of(result).split('.')[1], '/var/log', WO_DB],
                           capture_output=True, text=True)
    assert found.stdout == ''


def _last_event():
    events = json.loads(wo('audit', '--json').stdout)['events']
    return events[-1]['id'] if events else 0


def test_no_token_reaches_a_log_or_the_audit_trail(sites):
    domain = sites[0]
    result = link(domain)
    token = token_of(result)
    assert use(domain, token).status_code == 303
    signature = token.split('.')[1]
    for needle in (token, signature):
        found = subprocess.run(['grep', '-rlF', needle, '/var/log', WO_DB],
                               capture_output=True, text=True)
        assert found.stdout == '', found.stdout
    events = json.loads(wo('audit', '--site', domain, '--json').stdout)['events']
    issued = [e for e in events if e['command'] == 'login' and e['result'] == 'ok']
    used = [e for e in events if e['command'] == 'login-use' and e['result'] == 'ok']
    assert issued[-1]['detail'].startswith('link ' + result['link_id'])
    assert used[-1]['detail'] == 'used; link {0}; user admin'.format(result['link_id'])
