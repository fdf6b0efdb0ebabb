"""Maintenance on the real stack: visitors get nginx's 503 page with Retry-After and no
PHP runs for them; /wp-login.php, /wp-admin/, static files and a logged-in admin still
reach the site; status shows it; it lasts through update and rollback (whose probes
see the real site); off opens the site again; bad requests change nothing."""
import json
import os
import uuid

import pytest
import requests

from stack import PROBE, SITES, get, sovereign_and_shared, wo

DOMAINS = ('maint-a.test', 'maint-b.test')  # sovereign, shared
ACCESS_LOG = '/var/log/nginx/{0}.access.log'


@pytest.fixture(scope='module')
def sites(shared_core):
    with sovereign_and_shared(*DOMAINS, '--wpfc') as made:
        yield made


def _maintenance(*args):
    return json.loads(wo('maintenance', *args, '--json').stdout)['sites']


def _files(domain):
    conf = os.path.join(SITES, domain, 'conf', 'nginx')
    return [n for n in sorted(os.listdir(conf)) if 'maintenance' in n]


def _went_to_php(domain, marker):
    """Whether nginx's log has an upstream time for the request with `marker` (WordOps'
    rt_cache format: address, upstream response time, ...): '-' when no PHP ran."""
    with open(ACCESS_LOG.format(domain)) as f:
        line = [entry for entry in f if marker in entry][-1]
    return line.split()[1] != '-'


def test_visitors_get_a_503_page_without_php_and_admins_get_in(sites):
    domain = sites[0]
    assert _maintenance('on', domain, '--message', 'Back at <b>14:00</b> & soon') == [
        {'domain': domain, 'status': 'on', 'maintenance': True}]
    marker = uuid.uuid4().hex
    page = get(domain, '/?visit=' + marker)
    assert page.status_code == 503 and page.headers['Retry-After'] == '600'
    assert 'no-store' in page.headers['Cache-Control']
    assert '<p>Back at &lt;b&gt;14:00&lt;/b&gt; &amp; soon</p>' in page.text
    assert not _went_to_php(domain, marker)
    assert get(domain, '/sample-page/').status_code == 503
    assert get(domain, '/wp-content/plugins/hello.php').status_code == 503  # PHP stays shut
    assert get(domain, '/wo-multitenancy-maintenance.html').status_code == 404  # internal
    assert get(domain, '/wp-login.php').status_code == 200
    assert get(domain, '/wp-admin/').status_code == 302
    assert get(domain, '/wp-includes/css/dashicons.min.css').status_code == 200
    admin = _logged_in(domain)
    assert get(domain, '/wp-admin/', session=admin).status_code == 200
    front = get(domain, '/', session=admin)
    assert front.status_code == 200 and 'Back at' not in front.text


def _logged_in(domain):
    """A session holding the cookies a login link gives (test_login.py's way)."""
    url = json.loads(wo('login', domain, '--json').stdout)['url']
    session = requests.Session()
    answer = session.post('http://{0}/?wo-mt-login'.format(PROBE), data={
        'token': url.split('#', 1)[1]}, headers={'Host': domain, 'Origin': 'http://' + domain},
        allow_redirects=False, timeout=30)
    assert answer.status_code == 303
    return session


def test_status_shows_it_and_it_lasts_through_update_and_rollback(sites, release_tarball):
    wo('maintenance', 'on', '--all')
    report = json.loads(wo('status', '--json').stdout)
    mine = {s['domain']: s for s in report['sites'] if s['domain'] in sites}
    assert all(s['maintenance'] and s['ok'] for s in mine.values())  # probes see the site
    assert 'in maintenance' in wo('status').stdout
    wo('update', '--force', '--source', release_tarball)
    assert all(get(d, '/').status_code == 503 for d in sites)
    wo('rollback', '--force')
    assert all(get(d, '/').status_code == 503 for d in sites)


def test_off_opens_the_site_and_a_second_off_changes_nothing(sites):
    wo('maintenance', 'on', *sites)
    assert _maintenance('off', *sites) == [
        {'domain': d, 'status': 'off', 'maintenance': False} for d in sites]
    for domain in sites:
        page = get(domain, '/')
        assert page.status_code == 200 and 'Retry-After' not in page.headers
        assert _files(domain) == []
    assert [r['status'] for r in _maintenance('off', *sites)] == ['unchanged'] * 2
    wo('maintenance', 'on', sites[0])
    assert [r['status'] for r in _maintenance('on', sites[0])] == ['unchanged']
    wo('maintenance', 'off', sites[0])


@pytest.mark.parametrize('args,message', [
    (('on',), 'give the domains to maintenance on, or --all'),
    (('off', 'maint-a.test', '--message', 'x'), '--message is for maintenance on'),
    (('on', 'maint-a.test', '--message', 'two\nlines'), 'one line'),
    (('on', 'maint-a.test', 'nobody.test'), 'nobody.test'),
])
def test_bad_requests_are_refused_and_change_nothing(sites, args, message):
    done = wo('maintenance', *args, check=False)
    assert done.returncode == 2 and message in done.stderr
    assert _files('maint-a.test') == [] and get('maint-a.test', '/').status_code == 200


def test_each_change_is_in_the_audit_trail(sites):
    wo('maintenance', 'on', sites[1])
    wo('maintenance', 'off', sites[1])
    events = json.loads(wo('audit', '--site', sites[1], '--json').stdout)['events']
    assert [(e['command'], e['result']) for e in events if e['command'] == 'maintenance'][-2:] \
        == [('maintenance', 'ok')] * 2
