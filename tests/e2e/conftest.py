"""End-to-end tests: the real `wo multitenancy` CLI against the real stack on this
machine (WordOps, nginx, PHP-FPM, MariaDB), with real WordPress releases and real
HTTP requests. Nothing here is mocked, and nothing is skipped: if the stack is not
up, every test fails.
"""
import glob
import json
import os
import shutil
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import standalone  # noqa: E402
import wordpress_releases  # noqa: E402
from stack import (CONF, SHARED, get, installed_php, mysql, purge_site,  # noqa: E402
                   wipe_shared_core, wo, write_conf)

BACKUPS = os.path.join(SHARED, 'backups')


@pytest.fixture(scope='session', autouse=True)
def real_stack():
    """The real stack must be up: the plugin loads, nginx answers, MariaDB answers."""
    assert wo('--help').returncode == 0, 'the plugin does not load'
    assert get('no-such-site.test', '/').status_code in (200, 301, 302, 403, 404, 444)
    assert 'mysql' in mysql('SHOW DATABASES')
    original = open(CONF).read() if os.path.exists(CONF) else None
    write_conf()
    yield
    if original is not None:
        with open(CONF, 'w') as f:
            f.write(original)


@pytest.fixture(scope='session')
def release_tarball():
    return wordpress_releases.release_tarball('6.5')


@pytest.fixture(scope='session')
def shared_core(release_tarball):
    """A freshly initialized shared core (leftovers of earlier runs removed first)."""
    wipe_shared_core()
    wo('init', '--source', release_tarball)
    return SHARED


@pytest.fixture
def make_site(shared_core):
    """make_site(domain, *flags) creates a site with `create --json`; removed afterwards."""
    made = []

    def make(domain, *flags):
        purge_site(domain)
        made.append(domain)
        return json.loads(wo('create', domain, '--json', *flags).stdout)

    yield make
    for domain in made:
        purge_site(domain)


@pytest.fixture(scope='session')
def older_tarball():
    return wordpress_releases.release_tarball('6.4')


@pytest.fixture
def make_standalone(shared_core, release_tarball):
    """make_standalone(domain, tarball=None, theme='', footer_plugin=False) builds a
    populated standalone site; it and its backups are removed afterwards."""
    made = []

    def make(domain, tarball=None, theme='', footer_plugin=False):
        purge_site(domain)
        made.append(domain)
        php = installed_php()
        standalone.create(domain, standalone.unpacked_release(tarball or release_tarball), php)
        if footer_plugin:
            standalone.add_footer_plugin(domain)
        return standalone.populate(domain, php, theme,
                                   ['mt-footer/mt-footer.php'] if footer_plugin else [])

    yield make
    for domain in made:
        purge_site(domain)
        for backup in glob.glob(os.path.join(BACKUPS, domain + '-*')):
            shutil.rmtree(backup)
    for added in ('plugins/mt-footer', 'themes/twentytwentythree'):  # by the test, by --force
        shutil.rmtree(os.path.join(SHARED, 'wp-content', added), ignore_errors=True)
