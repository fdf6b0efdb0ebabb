"""convert and revert against the real stack: standalone sites laid out as `wo site
create --wp` lays them out (a copy of a real release in htdocs/, installed, with a post,
a page and an upload), moved onto the shared core and back, checked over HTTP."""
import glob
import json
import os
import pwd
import re
import shutil
import signal
import sqlite3
import subprocess
import time

import pytest

import standalone
from stack import SHARED, SITES, WO_DB, get, mysql, rows, server_state, wo

BACKUPS = os.path.join(SHARED, 'backups')
def vouch_for_footer_plugin():
    """What an operator does for a plugin only a site has: review it and put a copy of
    their own into the shared set, as root (convert --force never takes the site's)."""
    folder = os.path.join(SHARED, 'wp-content', 'plugins', 'mt-footer')
    os.makedirs(folder)
    with open(os.path.join(folder, 'mt-footer.php'), 'w') as f:
        f.write(standalone.FOOTER_PLUGIN)


def pages(domain, upload):
    """What a visitor sees: the post, the page and the uploaded file."""
    seen = {}
    for path in ('/a-post/', '/about/', upload):
        answer = get(domain, path)
        assert answer.status_code == 200, (domain, path, answer.status_code)
        seen[path] = answer.text
    return seen


def article(html):
    """The content of a post or page, without the markup around it that names versions."""
    found = re.search(r'<h1[^>]*>(.*?)</h1>.*?(<div class="entry-content[^>]*>.*?</div>)', html, re.S)
    assert found, html[:500]
    return found.groups()


def convert(*args, check=True):
    return wo('convert', '--json', *args, check=check)


def test_convert_refuses_what_the_shared_set_lacks_and_changes_nothing(make_standalone):
    make_standalone('lacks.test', theme='twentytwentythree', footer_plugin=True)
    before, front = server_state(), get('lacks.test').text
    refused = convert('lacks.test', check=False)
    assert refused.returncode == 2
    result = json.loads(refused.stdout)['sites'][0]
    assert result['status'] == 'refused'
    assert 'plugin mt-footer' in result['error'] and 'theme twentytwentythree' in result['error']
    assert '--force' in result['hint']
    assert server_state() == before and get('lacks.test').text == front
    assert not glob.glob(os.path.join(BACKUPS, 'lacks.test-*'))


def test_a_site_that_cannot_become_sovereign_is_refused_before_it_is_converted(make_standalone):
    """Sites become sovereign by default, and a sovereign site cannot keep its pages in
    Redis: a --wpredis site is refused up front, not converted and left half-way."""
    make_standalone('redis-pages.test')
    with sqlite3.connect(WO_DB) as db:
        db.execute("UPDATE sites SET cache_type = 'wpredis' WHERE sitename = 'redis-pages.test'")
    before, front = server_state(), get('redis-pages.test').text
    refused = convert('redis-pages.test', check=False)
    assert refused.returncode == 2
    result = json.loads(refused.stdout)['sites'][0]
    assert result['status'] == 'refused' and 'Redis' in result['error']
    assert '--isolation shared' in result['hint']
    assert server_state() == before and get('redis-pages.test').text == front
    assert not glob.glob(os.path.join(BACKUPS, 'redis-pages.test-*'))


def test_uploads_kept_by_an_upload_path_relative_to_its_core_are_refused_up_front(
        make_standalone):
    """Sites from before WordPress 3.5 kept upload_path 'wp-content/uploads' or a path of
    their own, relative to the core: on the shared core WordPress would look for them
    there. Refused before anything changes, saying how to move them."""
    make_standalone('upload-path.test')
    mysql("UPDATE upload_path_test.wp_options SET option_value = 'files' "
          "WHERE option_name = 'upload_path'")
    before, front = server_state(), get('upload-path.test').text
    refused = convert('upload-path.test', check=False)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    result = json.loads(refused.stdout)['sites'][0]
    assert result['status'] == 'refused'
    assert 'keeps its uploads in files (its option upload_path)' in result['error']
    assert 'wp option update upload_path' in result['hint']
    assert server_state() == before and get('upload-path.test').text == front
    assert not glob.glob(os.path.join(BACKUPS, 'upload-path.test-*'))


def test_force_never_puts_a_sites_own_plugin_in_the_shared_set(make_standalone):
    make_standalone('own-code.test', footer_plugin=True)  # mt-footer: on no wordpress.org
    before, front = server_state(), get('own-code.test').text
    failed = json.loads(convert('own-code.test', '--force', check=False).stdout)['sites'][0]
    assert failed['status'] == 'failed' and 'plugin mt-footer' in failed['error']
    assert "the site's own copy is never put in the shared set" in failed['hint']
    assert not os.path.exists(os.path.join(SHARED, 'wp-content', 'plugins', 'mt-footer'))
    assert server_state() == before and get('own-code.test').text == front
    assert os.stat(os.path.join(SITES, 'own-code.test')).st_uid == pwd.getpwnam('www-data').pw_uid


def test_dry_run_prints_the_plan_without_secrets_and_changes_nothing(make_standalone):
    make_standalone('plan.test')
    before = server_state()
    done = convert('plan.test', '--dry-run')
    plan = json.loads(done.stdout)['sites'][0]
    assert plan['status'] == 'planned' and 'DB_PASSWORD' in plan['settings_kept']
    assert 'constants' not in plan and 'table_prefix' not in plan
    assert server_state() == before
    assert not os.path.islink(os.path.join(SITES, 'plan.test', 'htdocs', 'wp'))


def test_convert_keeps_content_and_sheds_the_core(make_standalone, older_tarball):
    same = make_standalone('same.test', theme='twentytwentythree', footer_plugin=True)
    older = make_standalone('older.test', tarball=older_tarball)
    with open(os.path.join(SITES, 'same.test', 'htdocs', 'robots.txt'), 'w') as f:
        f.write('User-agent: *\nDisallow: /private/\n')  # a file of its own, not WordPress'
    seen = {'same.test': pages('same.test', same['upload']),
            'older.test': pages('older.test', older['upload'])}
    for domain in seen:  # PHP runs each site's wp-config.php just before: OPcache holds it
        assert get(domain, '/?warm').status_code == 200
    vouch_for_footer_plugin()
    done = convert('same.test', 'older.test', '--force')
    results = {r['domain']: r for r in json.loads(done.stdout)['sites']}
    assert {r['status'] for r in results.values()} == {'converted'}
    assert results['same.test']['added_to_shared'] == ['theme twentytwentythree']  # the release's
    # Same release: the pages are byte for byte what they were.
    assert pages('same.test', same['upload']) == seen['same.test']
    # Older core: the content is the same; the markup names the newer release.
    after = pages('older.test', older['upload'])
    for path in ('/a-post/', '/about/'):
        assert article(after[path]) == article(seen['older.test'][path])
    assert after[older['upload']] == seen['older.test'][older['upload']]
    assert 'twentytwentythree' in seen['same.test']['/a-post/']  # its theme and plugin: kept
    assert '<!-- mt-footer runs -->' in seen['same.test']['/a-post/']
    assert get('same.test', '/robots.txt').text == 'User-agent: *\nDisallow: /private/\n'
    assert results['same.test']['own_files'] == ['robots.txt', 'wp-content/uploads']
    for domain, result in results.items():
        assert result['own_disk_bytes'] < 1e6, domain
        htdocs = os.path.join(SITES, domain, 'htdocs')
        assert os.path.islink(os.path.join(htdocs, 'wp'))
        assert not os.path.exists(os.path.join(SITES, domain, '.htdocs.mt-swap'))
        backup = results[domain]['backup']
        assert sorted(os.listdir(backup)) == ['database.sql', 'files.tar.zst']
        assert oct(os.stat(backup).st_mode)[-3:] == '700'
    assert {'same.test', 'older.test'} <= set(rows('multitenancy_sites', 'domain'))
    assert {'same.test', 'older.test'} <= set(rows('sites', 'sitename'))
    # Running it again changes nothing.
    again = json.loads(convert('same.test').stdout)['sites'][0]
    assert again['status'] == 'unchanged'
    # Nothing of its own core, its old paths or its database account stands out.
    verified = wo('verify', 'same.test', 'older.test', '--json', check=False)
    assert verified.returncode == 0, verified.stdout


def test_a_bulk_run_carries_on_past_a_missing_site(make_standalone):
    make_standalone('bulk1.test')
    make_standalone('bulk2.test')
    done = wo('convert', 'bulk1.test', 'missing.test', 'bulk2.test', check=False)
    assert done.returncode == 2, done.stdout + done.stderr
    assert 'refused    missing.test: missing.test is not a WordOps site' in done.stdout
    assert '3 site(s): 2 converted, 1 refused' in done.stdout
    for domain in ('bulk1.test', 'bulk2.test'):
        assert os.path.islink(os.path.join(SITES, domain, 'htdocs', 'wp'))
        assert get(domain, '/a-post/').status_code == 200


def test_all_converts_every_standalone_site(make_standalone):
    make_standalone('every.test')
    done = json.loads(convert('--all').stdout)
    statuses = {r['domain']: r['status'] for r in done['sites']}
    assert statuses['every.test'] == 'converted'
    assert 'every.test' in rows('multitenancy_sites', 'domain')
    assert json.loads(convert('--all').stdout)['sites'] == []


def test_a_failure_part_way_puts_the_site_back(make_standalone, older_tarball):
    """The baseline plugin goes missing from the shared set: the conversion fails
    after the swap and the database upgrade, and everything is put back."""
    content = make_standalone('fails.test', tarball=older_tarball)
    seen = pages('fails.test', content['upload'])
    db_version = mysql('SELECT option_value FROM fails_test.wp_options WHERE option_name = "db_version"')
    before = server_state()
    hello = os.path.join(SHARED, 'wp-content', 'plugins', 'hello.php')
    shutil.move(hello, hello + '.away')
    try:
        failed = convert('fails.test', check=False)
    finally:
        shutil.move(hello + '.away', hello)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert 'plugin hello missing' in json.loads(failed.stdout)['sites'][0]['error']
    assert server_state() == before
    assert pages('fails.test', content['upload']) == seen
    assert mysql('SELECT option_value FROM fails_test.wp_options WHERE option_name = "db_version"') == db_version
    assert not os.path.islink(os.path.join(SITES, 'fails.test', 'htdocs', 'wp'))
    assert not os.path.exists(os.path.join(SITES, 'fails.test', '.htdocs.mt-swap'))
    assert len(glob.glob(os.path.join(BACKUPS, 'fails.test-*'))) == 1  # kept


def test_a_newer_core_is_refused(make_standalone):
    make_standalone('newer.test')
    version_php = os.path.join(SITES, 'newer.test', 'htdocs', 'wp-includes', 'version.php')
    with open(version_php) as f:
        text = re.sub(r"\$wp_version = '[^']+'", "$wp_version = '9.9.9'", f.read())
    with open(version_php, 'w') as f:
        f.write(text)
    before = server_state()
    refused = wo('convert', 'newer.test', check=False)
    assert refused.returncode == 2
    assert 'runs WordPress 9.9.9, newer than the shared core' in refused.stdout
    assert server_state() == before


@pytest.mark.parametrize('moment', ['built beside', 'swapped'])
def test_a_killed_convert_leaves_a_serving_site_and_the_next_run_finishes(make_standalone, moment):
    domain = 'killed-{0}.test'.format(moment.split()[0])
    content = make_standalone(domain)
    seen = pages(domain, content['upload'])
    htdocs, spare = os.path.join(SITES, domain, 'htdocs'), os.path.join(SITES, domain, '.htdocs.mt-swap')
    reached = {'built beside': lambda: os.path.isdir(os.path.join(spare, 'wp-content', 'uploads')),
               'swapped': lambda: os.path.islink(os.path.join(htdocs, 'wp'))}[moment]
    running = subprocess.Popen(['wo', 'multitenancy', 'convert', domain],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline, hit = time.monotonic() + 120, False
    while not hit and running.poll() is None and time.monotonic() < deadline:
        hit = reached()
        time.sleep(0.002)
    running.send_signal(signal.SIGKILL)
    running.wait()
    assert hit, 'the convert ended before the moment to kill it'
    assert domain not in rows('multitenancy_sites', 'domain'), 'killed after it was recorded'
    swapped = os.path.islink(os.path.join(htdocs, 'wp'))  # the kill may land just after
    assert swapped or moment == 'built beside'
    assert get(domain, '/a-post/').status_code == 200  # old or new layout, it serves
    done = json.loads(convert(domain).stdout)['sites'][0]
    assert done['status'] == 'converted'
    assert done.get('resumed', False) is swapped  # a swapped site is finished, else done again
    assert os.path.islink(os.path.join(htdocs, 'wp')) and not os.path.exists(spare)
    assert pages(domain, content['upload']) == seen
    assert domain in rows('multitenancy_sites', 'domain')


def test_revert_gives_the_site_its_own_core_again(make_standalone):
    content = make_standalone('back.test')
    seen = pages('back.test', content['upload'])
    convert('back.test')
    wo('login', 'back.test')
    key = os.path.join(SITES, 'back.test', 'login.key')
    assert os.path.isfile(key)
    done = json.loads(wo('revert', 'back.test', '--json').stdout)
    assert done['status'] == 'reverted'
    assert not os.path.exists(key)  # no MU-plugin of ours takes links there now
    htdocs = os.path.join(SITES, 'back.test', 'htdocs')
    assert os.path.isfile(os.path.join(htdocs, 'wp-includes', 'version.php'))
    assert not os.path.islink(os.path.join(htdocs, 'wp'))
    assert os.stat(htdocs).st_uid == os.stat(os.path.join(htdocs, 'wp-load.php')).st_uid != 0
    assert pages('back.test', content['upload']) == seen
    assert 'back.test' not in rows('multitenancy_sites', 'domain')
    assert 'back.test' in rows('sites', 'sitename')
    refused = wo('revert', 'back.test', check=False)
    assert refused.returncode == 2 and 'not a site on the shared core' in refused.stderr


def test_a_config_inside_htdocs_and_its_own_settings_are_carried_over(make_standalone):
    """Older WordOps sites keep wp-config.php in htdocs/; every constant it defines,
    quotes included, is kept in the new configuration."""
    content = make_standalone('config.test')
    root = os.path.join(SITES, 'config.test')
    with open(os.path.join(root, 'wp-config.php')) as f:
        text = f.read().replace("define( 'WP_DEBUG', false );", "define( 'WP_DEBUG', false );\n"
                                "define( 'WP_POST_REVISIONS', 3 );\n"
                                "define( 'MT_MARK', 'it\\'s kept' );")
    os.unlink(os.path.join(root, 'wp-config.php'))
    with open(os.path.join(root, 'htdocs', 'wp-config.php'), 'w') as f:
        f.write(text)
    seen = pages('config.test', content['upload'])
    convert('config.test')
    with open(os.path.join(root, 'wp-config.php')) as f:
        config = f.read()
    assert "define( 'WP_POST_REVISIONS', 3 );" in config
    assert "define( 'MT_MARK', 'it\\'s kept' );" in config
    assert "define( 'DB_NAME', 'config_test' );" in config
    assert not os.path.exists(os.path.join(root, 'htdocs', 'wp-config.php'))
    assert pages('config.test', content['upload']) == seen
