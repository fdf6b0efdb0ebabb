"""Runs WordPress tasks (install, baseline, upgrade, set_url) through PHP itself, as the
site's PHP user (pools.php_user), with a sovereign site's pool settings.

No WP-CLI: php/wp-runner.php loads the site's WordPress the way a request does and
prints one JSON object. Secrets travel on stdin, never in argv or the logs.
"""
import json
import os

from wo.multitenancy import layout, phpfpm, pools, runner
from wo.multitenancy.errors import CommandFailed, MTError

RUNNER = os.path.join(os.path.dirname(__file__), 'php', 'wp-runner.php')


def task(settings, domain, php_version, action, core=None, timeout=600, **fields):
    """Run `action` for `domain` and return its JSON result. `core`: the directory of
    a standalone site's own core (default: the shared core, htdocs/wp); `timeout`: the
    seconds it may take.

    Raises MTError carrying PHP's own message when the task fails.
    """
    job = dict(fields, action=action, domain=domain, htdocs=layout.htdocs(settings, domain))
    if core:
        job['core'] = core
    try:
        done = runner.run([phpfpm.cli(php_version)] + pools.cli_options(settings, domain) +
                          [RUNNER], user=pools.php_user(settings, domain),
                          input=json.dumps(job), timeout=timeout)
    except CommandFailed as e:
        raise MTError('WordPress {0} failed for {1}: {2}'.format(action, domain, _php_message(e)))
    try:
        return json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError, RecursionError):  # the site's code printed it
        raise MTError('WordPress {0} for {1} printed no result: {2}'.format(
            action, domain, _printed(done.stdout)))


def install(settings, domain, php_version, url, title, admin_user, admin_email, password):
    return task(settings, domain, php_version, 'install', url=url, title=title,
                admin_user=admin_user, admin_email=admin_email,
                admin_password=password, locale=settings.wp_locale)


def upgrade_database(settings, domain, php_version):
    """Bring the site's database to the core it runs (WordPress' wp_upgrade); returns
    {'from': db_version before, 'to': after}. Raises MTError when it did not get there."""
    done = task(settings, domain, php_version, 'upgrade')
    if done['to'] != done['core']:
        raise MTError('the database of {0} is at {1}, its core wants {2}'.format(
            domain, done['to'], done['core']))
    return done


def _printed(stdout):
    """What WordPress printed instead of a result: the heading of the page it died
    with (wp_die: "Error establishing a database connection"), or the end of it; on
    one line, at most 300 characters."""
    start = stdout.find('<h1')
    end = stdout.find('</h1>', start)
    text = stdout[stdout.find('>', start) + 1:end] if 0 <= start < end else stdout[-300:]
    return ' '.join(text.split())[:300]


def _php_message(error):
    lines = [l for l in (error.stderr + '\n' + error.stdout).splitlines() if l.strip()]
    fatal = [l for l in lines if 'Fatal error' in l or l.startswith('wp-runner:')]
    return (fatal or lines or ['exit code {0}'.format(error.returncode)])[-1].strip()
