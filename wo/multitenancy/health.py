"""Health of a site, from a real HTTP request through nginx.

Requests go to 127.0.0.2 with the site's name: WordOps' stub_status server listens
on 127.0.0.1:80 itself, so a request to 127.0.0.1 never reaches a site's vhost. A
query string keeps the FastCGI page cache out of the answer.
"""
import re
import time

from wo.multitenancy import runner
from wo.multitenancy.errors import CommandFailed

PROBE_ADDRESS = '127.0.0.2'
# What a probe sends: a login cookie WordPress does not take (it is anonymous there), so
# that a site in maintenance (maintenance.py) shows the probe its pages.
PROBE_COOKIE = 'wordpress_logged_in_wo-multitenancy-probe=1'
_GENERATOR = re.compile(r'<meta name="generator" content="WordPress ([^"]+)"')
_LOCATION = re.compile(r'^Location: (\S+)', re.IGNORECASE | re.MULTILINE)
_BROKEN = ('Fatal error', 'There has been a critical error', 'Error establishing a database')


def fetch(domain, path='/', https=False):
    """(status, headers text, body) of GET `path` on `domain`, through nginx."""
    scheme, port = ('https', 443) if https else ('http', 80)
    argv = ['curl', '-sS', '--max-time', '30', '-D', '-', '-b', PROBE_COOKIE, '--resolve',
            '{0}:{1}:{2}'.format(domain, port, PROBE_ADDRESS),
            '{0}://{1}{2}'.format(scheme, domain, path)]
    done = runner.run(argv, timeout=40)
    head, _, body = done.stdout.partition('\n\n')  # text mode turned \r\n into \n
    status = int(head.split(' ', 2)[1]) if head.startswith('HTTP/') else 0
    return status, head, body


def probe(domain, https=False, whole=False):
    """A dict saying whether the site answers well: ok, status, version, problem.
    `whole`: the page must also end in </html> (a fatal error after the headers went
    out leaves a 200 cut short; a plugin's or theme's canary looks for it)."""
    try:
        status, _, body = fetch(domain, '/?mt-probe={0}'.format(int(time.time())), https)
    except CommandFailed as e:
        return {'ok': False, 'status': 0, 'version': None, 'problem': e.message}
    version = _GENERATOR.search(body)
    broken = [marker for marker in _BROKEN if marker in body]
    problem = None
    if status != 200:
        problem = 'HTTP {0}'.format(status)
    elif broken:
        problem = broken[0]
    elif whole and '</html>' not in body.lower():
        problem = 'the page stops before </html>: PHP failed part-way'
    return {'ok': problem is None, 'status': status,
            'version': version.group(1) if version else None, 'problem': problem}


def release_problem(domain, https, wp_version, whole=False):
    """Why the site does not run release `wp_version` cleanly, or None: its front page
    must answer 200 without a PHP error (`whole`: and end in </html>) and name that
    version, and /wp-admin/ must send a visitor to the login, not to upgrade.php
    ("Database Update Required")."""
    front = probe(domain, https, whole)
    if not front['ok']:
        return front['problem']
    if front['version'] != wp_version:
        return 'serves WordPress {0}, not {1}'.format(front['version'], wp_version)
    return _admin_problem(domain, https)


def page_problem(domain, https):
    """Why the site does not answer cleanly, or None: its front page answers 200 without
    a PHP error, and /wp-admin/ sends a visitor to the login."""
    front = probe(domain, https, whole=True)
    return front['problem'] if not front['ok'] else _admin_problem(domain, https)


def answers_cleanly(report, site):
    """Whether the site (our row) answers cleanly now (page_problem); one that does not
    is reported through `report`, as no canary: a site already broken would refuse every
    version."""
    problem = page_problem(site['domain'], bool(site['is_ssl']))
    if problem:
        report('{0} is no canary: it fails already ({1})'.format(site['domain'], problem))
    return not problem


def _admin_problem(domain, https):
    try:
        status, head, _ = fetch(domain, '/wp-admin/?mt-probe={0}'.format(int(time.time())), https)
    except CommandFailed as e:
        return e.message
    location = _LOCATION.search(head)
    if status != 302 or not location or 'wp-login.php' not in location.group(1):
        return '/wp-admin/ answers {0} {1}'.format(status, location.group(1) if location else '')
    return None
