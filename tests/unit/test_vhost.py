"""The vhost is WordOps' own template rendered by WordOps' own engine."""
import pytest

from wo.multitenancy import nginx


@pytest.fixture(scope='module')
def app():
    from wo.cli.main import WOTestApp
    test_app = WOTestApp()
    test_app.setup()
    yield test_app
    test_app.close()


@pytest.mark.parametrize('cache,include', [
    ('basic', 'common/php82.conf'), ('wpfc', 'common/wpfc-php82.conf'),
    ('wpredis', 'common/redis-php82.conf'), ('wpsc', 'common/wpsc-php82.conf'),
    ('wprocket', 'common/wprocket-php82.conf'), ('wpce', 'common/wpce-php82.conf')])
def test_each_cache_type_includes_its_wordops_file(app, sandbox, cache, include):
    text = nginx.render_vhost(app, sandbox, 'a.test', '8.2', cache)
    assert 'include {0};'.format(include) in text
    assert 'include common/wpcommon-php82.conf;' in text
    assert 'include common/locations-wo.conf;' in text
    assert 'root {0}/htdocs;'.format(sandbox.site_root('a.test')) in text
    assert 'include {0}/conf/nginx/*.conf;'.format(sandbox.site_root('a.test')) in text
    assert 'server_name a.test www.a.test;' in text


def test_missing_includes_are_named(sandbox):
    assert nginx.missing_includes(sandbox, '8.2', 'wpfc') == [
        'wpfc-php82.conf', 'wpcommon-php82.conf', 'locations-wo.conf']


def test_a_vhost_serves_the_document_root_it_names(app, sandbox):
    import os
    os.makedirs(os.path.dirname(nginx.available(sandbox, 'a.test')))
    with open(nginx.available(sandbox, 'a.test'), 'w') as f:
        f.write(nginx.render_vhost(app, sandbox, 'a.test', '8.2', 'wpfc'))
    assert nginx.serves(sandbox, 'a.test', sandbox.site_root('a.test') + '/htdocs')
    assert not nginx.serves(sandbox, 'a.test', sandbox.site_root('a.test') + '/public')
    assert not nginx.serves(sandbox, 'b.test', sandbox.site_root('b.test') + '/htdocs')
