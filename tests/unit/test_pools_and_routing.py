"""Sovereign sites' logic: their user names, pool files and the routing of WordOps'
includes to a site's own pool (the real pools and nginx: tests/e2e/test_sovereign.py)."""
import os

import pytest

from wo.multitenancy import pools, routing
from wo.multitenancy.errors import InvalidInput, MTError
from wo.multitenancy.undo import Changes

WPFC = """location ~ \\.php$ {
  try_files $uri =404;
  include fastcgi_params;
  fastcgi_pass php82;
  fastcgi_cache_bypass $skip_cache;
  fastcgi_cache WORDPRESS;
}
location ~ /purge(/.*) {
  fastcgi_cache_purge WORDPRESS "$scheme$request_method$host$1";
}
"""


def test_a_system_user_name_is_readable_unique_and_short_enough_for_useradd():
    names = {pools.system_user(d) for d in ('a.test', 'a-test', 'A.test.', 'x' * 200 + '.test')}
    assert len(names) == 4
    assert pools.system_user('shop.example.com').startswith('wo-shop-example-')
    assert all(len(n) <= 32 and n[0].isalpha() for n in names)


def test_open_basedir_admits_the_sites_root_not_a_longer_name_beside_it(sandbox):
    allowed = pools.open_basedir(sandbox, 'a.test').split(':')
    assert sandbox.site_root('a.test') + '/' in allowed
    assert all(d.endswith('/') for d in allowed)
    assert not any(sandbox.site_root('a.test.evil').startswith(d) for d in allowed)
    assert sandbox.shared_root + '/' not in allowed  # its backups/ hold other sites' files
    assert os.path.dirname(sandbox.baseline_file) + '/' in allowed  # the MU-plugin reads it


def test_every_pool_has_the_same_admin_settings_but_its_own_paths(sandbox):
    def settings_of(domain):
        text = pools.pool_text(sandbox, domain, '8.2').replace(domain, 'D')
        return text.replace(pools.system_user(domain), 'U')
    assert settings_of('a.test') == settings_of('b.test')
    text = pools.pool_text(sandbox, 'a.test', '8.2')
    assert 'php_admin_value[disable_functions] = exec,passthru,' in text
    assert 'listen.mode = 0660' in text and 'listen.group = wo-multitenancy-web' in text
    assert 'php_admin_value[opcache.restrict_api] = {0}\n'.format(
        os.path.join(pools.PHP_DIR, 'opcache.php')) in text


def test_an_include_is_derived_with_only_its_fastcgi_pass_and_cache_zone_changed():
    derived = routing.derive('/etc/nginx/common/wpfc-php82.conf', WPFC, '8.2')
    header, body = derived.split('\n', 1)
    assert header.startswith('# Derived by wo multitenancy from /etc/nginx/common/wpfc-php82.conf')
    assert body == WPFC.replace('fastcgi_pass php82;', 'fastcgi_pass $wo_mt_fpm;').replace(
        'WORDPRESS', 'WO_MT_SOVEREIGN')


@pytest.mark.parametrize('text, complaint', [
    (WPFC.replace('php82;', 'php74;'), 'passes to php74, not php82'),
    (WPFC + 'include common/other.conf;\n', 'includes common/other.conf'),
    (WPFC.replace('  fastcgi_pass php82;\n', ''), 'has no fastcgi_pass'),
    (WPFC.replace('cache WORDPRESS', 'cache OTHER'), 'caches in zone OTHER, not WORDPRESS'),
])
def test_an_include_the_transform_cannot_vouch_for_is_refused(text, complaint):
    with pytest.raises(MTError, match=complaint):
        routing.derive('wpfc-php82.conf', text, '8.2')


def test_a_vhost_is_routed_through_the_derived_includes(sandbox):
    vhost = ('    include common/wpfc-php82.conf;\n    include common/wpcommon-php82.conf;\n'
             '    include common/locations-wo.conf;\n')
    routed = routing.route_vhost(sandbox, vhost, '8.2', 'wpfc')
    derived = routing.derived_dir(sandbox)
    assert routed == ('    include {0}/wpfc-php82.conf;\n    include {0}/wpcommon-php82.conf;\n'
                      '    include common/locations-wo.conf;\n'.format(derived))
    with pytest.raises(MTError, match='includes common/wpfc-php82.conf 0 times'):
        routing.route_vhost(sandbox, 'server { }', '8.2', 'wpfc')


def test_derived_includes_are_written_again_only_when_wordops_changed_its_own(sandbox):
    common = os.path.join(sandbox.nginx_root, 'common')
    os.makedirs(common)
    for name in ('wpfc-php82.conf', 'wpcommon-php82.conf'):
        with open(os.path.join(common, name), 'w') as f:
            f.write(WPFC)
    assert routing.derive_includes(sandbox, '8.2', 'wpfc') == ['wpfc-php82.conf',
                                                               'wpcommon-php82.conf']
    assert routing.derive_includes(sandbox, '8.2', 'wpfc') == []
    with open(os.path.join(common, 'wpfc-php82.conf'), 'a') as f:
        f.write('# changed by wo stack upgrade\n')
    assert routing.stale_includes(sandbox, '8.2', 'wpfc') == ['wpfc-php82.conf']
    assert routing.derive_includes(sandbox, '8.2', 'wpfc') == ['wpfc-php82.conf']


def test_a_sovereign_site_is_refused_redis_pages_and_a_socket_path_too_long(sandbox):
    with pytest.raises(InvalidInput, match='cannot keep its pages in Redis'):
        pools.require_poolable(sandbox, 'a.test', 'wpredis')
    with pytest.raises(InvalidInput, match='too long for a sovereign site'):
        pools.require_poolable(sandbox, 'a' * 60 + '.' + 'b' * 60 + '.test', 'wpfc')
    pools.require_poolable(sandbox, 'a.test', 'wpfc')


def test_pools_an_older_version_wrote_are_written_anew_and_their_php_fpm_reloaded(
        sandbox, monkeypatch):
    proven, reloaded = [], []
    monkeypatch.setattr(pools, 'check_config', lambda settings, php: proven.append(php))
    monkeypatch.setattr(pools, 'reload', lambda settings, php: reloaded.append(php))
    sites = [{'domain': d, 'php_version': '8.2'} for d in ('old.test', 'new.test', 'shared.test')]
    for domain, text in (('old.test', 'php_admin_value[open_basedir] = /var/www/old.test/\n'),
                         ('new.test', pools.pool_text(sandbox, 'new.test', '8.2'))):
        path = pools.pool_file(sandbox, '8.2', domain)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            f.write(text)
    undo = Changes()
    assert pools.refresh_pools(sandbox, sites, undo) == ['old.test']
    with open(pools.pool_file(sandbox, '8.2', 'old.test')) as f:
        assert f.read() == pools.pool_text(sandbox, 'old.test', '8.2')
    assert (proven, reloaded) == (['8.2'], ['8.2'])
    assert pools.refresh_pools(sandbox, sites, Changes()) == [] and reloaded == ['8.2']
