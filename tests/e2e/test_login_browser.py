"""Login links in a real browser (Debian's Chromium, driven by Selenium), over https and
http, on a sovereign and a shared site: the link's page takes the token out of the
address bar, one click reaches the dashboard with a Secure cookie on https, and the same
link again shows the neutral refusal.

The https sites come from `create --letsencrypt`, through WordOps' own WOAcme, with
acme.sh replaced by tests/fake_acme.sh (this machine is offline): its certificates are
signed by a CA the test makes this machine trust, so our own checks (curl) verify them
as they would a real one."""
import filecmp
import json
import os
import shutil
import subprocess

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from stack import PROBE, REPO, purge_site, wo

LETSENCRYPT = '/etc/letsencrypt'
CA_DIR = os.path.join(LETSENCRYPT, 'wo-mt-test-ca')
TRUSTED_CA = '/usr/local/share/ca-certificates/wo-mt-test-ca.crt'
SITES = {'tls-a.test': ('https', 'sovereign'), 'tls-b.test': ('https', 'shared'),
         'plain-c.test': ('http', 'sovereign')}


@pytest.fixture(scope='module')
def letsencrypt():
    """acme.sh as tests/fake_acme.sh, with a test CA this machine trusts; all gone after."""
    fake = os.path.join(REPO, 'tests', 'fake_acme.sh')
    if os.path.exists(os.path.join(LETSENCRYPT, 'acme.sh')) and filecmp.cmp(
            fake, os.path.join(LETSENCRYPT, 'acme.sh'), shallow=False):
        shutil.rmtree(LETSENCRYPT)  # left by a killed run
    if os.path.exists(LETSENCRYPT):
        pytest.skip(LETSENCRYPT + ' exists: this machine has acme.sh of its own')
    try:
        os.makedirs(CA_DIR)
        subprocess.run(['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt',
                        'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
                        '-subj', '/CN=wo multitenancy test CA', '-keyout',
                        os.path.join(CA_DIR, 'ca.key'), '-out', os.path.join(CA_DIR, 'ca.crt')],
                       check=True, capture_output=True)
        shutil.copy(fake, os.path.join(LETSENCRYPT, 'acme.sh'))
        shutil.copy(os.path.join(CA_DIR, 'ca.crt'), TRUSTED_CA)
        subprocess.run(['update-ca-certificates'], check=True, capture_output=True)
        yield os.path.join(CA_DIR, 'ca.crt')
    finally:  # nothing of it stays, whatever failed
        if os.path.exists(TRUSTED_CA):
            os.unlink(TRUSTED_CA)
        subprocess.run(['update-ca-certificates', '--fresh'], capture_output=True)
        shutil.rmtree(LETSENCRYPT, ignore_errors=True)


@pytest.fixture(scope='module')
def sites(shared_core, letsencrypt):
    for domain in SITES:
        purge_site(domain)
    for domain, (scheme, isolation) in SITES.items():
        wo('create', domain, '--wpfc', '--isolation', isolation,
           *(['--letsencrypt', '--dns', 'dns_cf'] if scheme == 'https' else []))
    yield SITES
    for domain in SITES:
        wo('delete', domain, '--force')


@pytest.fixture(scope='module')
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = '/usr/bin/chromium'
    for argument in ('--headless=new', '--no-sandbox', '--disable-gpu',
                     '--host-resolver-rules=MAP * ' + PROBE,
                     '--ignore-certificate-errors'):  # Chromium keeps a store of its own
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service('/usr/bin/chromedriver'), options=options)
    yield driver
    driver.quit()


def test_create_with_letsencrypt_serves_https_and_redirects_http(sites):
    """WordOps' ssl.conf listens with QUIC, which Debian's nginx refuses: ours does not."""
    for domain in ('tls-a.test', 'tls-b.test'):
        page = _curl('https://{0}/'.format(domain), '--resolve', domain + ':443:' + PROBE)
        assert page.startswith('HTTP/2 200') and domain in page  # the certificate verified
        plain = _curl('http://{0}/'.format(PROBE), '-H', 'Host: ' + domain)
        assert plain.startswith('HTTP/1.1 301')
        assert 'Location: https://{0}/'.format(domain) in plain
        assert wo('verify', domain).returncode == 0


def _curl(url, *args):
    """Headers and body of GET `url`; curl verifies certificates with this machine's CAs."""
    return subprocess.run(['curl', '-sS', '--fail-with-body', '-i', '--max-time', '30', *args,
                           url], capture_output=True, text=True, check=True).stdout


@pytest.mark.parametrize('domain', sorted(SITES))
def test_a_link_in_a_browser_reaches_the_dashboard_once(sites, browser, domain):
    scheme = SITES[domain][0]
    url = json.loads(wo('login', domain, '--json').stdout)['url']
    assert url.startswith('{0}://{1}/?wo-mt-login#'.format(scheme, domain))
    browser.delete_all_cookies()
    browser.get(url)
    assert browser.current_url == '{0}://{1}/?wo-mt-login'.format(scheme, domain)  # token gone
    browser.find_element(By.ID, 'wo-mt-go').click()
    WebDriverWait(browser, 30).until(lambda b: b.current_url.endswith('/wp-admin/'))
    assert browser.title.startswith('Dashboard')
    auth = [c for c in browser.get_cookies() if c['name'].startswith('wordpress_')
            and not c['name'].startswith('wordpress_test')]
    assert auth and all(c['secure'] == (scheme == 'https') for c in auth)
    browser.get(url)
    browser.find_element(By.ID, 'wo-mt-go').click()
    WebDriverWait(browser, 30).until(lambda b: 'cannot be used' in b.page_source)
    assert browser.title == 'Link not valid'


def test_delete_removes_the_certificate(sites):
    domain = 'tls-x.test'
    purge_site(domain)
    wo('create', domain, '--letsencrypt', '--dns', 'dns_cf')
    assert os.path.exists(os.path.join(LETSENCRYPT, 'live', domain, 'fullchain.pem'))
    wo('delete', domain, '--force')
    for path in (os.path.join(LETSENCRYPT, 'live', domain),
                 os.path.join(LETSENCRYPT, 'renewal', domain + '_ecc'),
                 '/etc/nginx/conf.d/force-ssl-{0}.conf'.format(domain)):
        assert not os.path.exists(path), path
