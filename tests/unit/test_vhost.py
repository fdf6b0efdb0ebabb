"""The vhost is WordOps' own template rendered by WordOps' own engine."""
import os
import subprocess

import pytest

from wo.multitenancy import nginx, runner


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
    os.makedirs(os.path.dirname(nginx.available(sandbox, 'a.test')))
    with open(nginx.available(sandbox, 'a.test'), 'w') as f:
        f.write(nginx.render_vhost(app, sandbox, 'a.test', '8.2', 'wpfc'))
    assert nginx.serves(sandbox, 'a.test', sandbox.site_root('a.test') + '/htdocs')
    assert not nginx.serves(sandbox, 'a.test', sandbox.site_root('a.test') + '/public')
    assert not nginx.serves(sandbox, 'b.test', sandbox.site_root('b.test') + '/htdocs')


def _nginx_built_with(monkeypatch, configure):
    monkeypatch.setattr(runner, 'run', lambda argv, **kwargs: subprocess.CompletedProcess(
        argv, 0, '', 'nginx version: nginx/1.22.1\nconfigure arguments: ' + configure))


def test_tls_listeners_without_quic_for_an_nginx_without_http3(app, sandbox, monkeypatch):
    """WordOps' ssl.conf listens with QUIC, which Debian 12's nginx refuses: an empty file
    first (deploycert keeps it; nginx -t passes), then WordOps' template without QUIC."""
    _nginx_built_with(monkeypatch, '--with-http_ssl_module --with-http_v2_module')
    os.makedirs(os.path.join(sandbox.site_root('a.test'), 'conf', 'nginx'))
    assert nginx.hold_tls_conf(sandbox, 'a.test')
    with open(nginx.tls_conf(sandbox, 'a.test')) as f:
        assert f.read() == ''
    assert not nginx.hold_tls_conf(sandbox, 'a.test')  # a file there is kept
    nginx.write_tls_listeners(app, sandbox, 'a.test')
    with open(nginx.tls_conf(sandbox, 'a.test')) as f:
        text = f.read()
    assert text.startswith('listen 443 ssl http2;\nlisten [::]:443 ssl http2;\n')
    assert 'ssl_certificate     /etc/letsencrypt/live/a.test/fullchain.pem;' in text
    assert 'quic' not in text


def test_an_nginx_with_http3_gets_wordops_own_ssl_conf(sandbox, monkeypatch):
    _nginx_built_with(monkeypatch, '--with-http_v2_module --with-http_v3_module')
    assert not nginx.hold_tls_conf(sandbox, 'a.test')
    assert not os.path.exists(os.path.join(sandbox.site_root('a.test'), 'conf', 'nginx'))
