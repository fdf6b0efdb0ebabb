"""Login links: the token's format, its claims, the site keys, the refusals at issue,
and what a site's kept events become in the audit trail."""
import base64
import hashlib
import hmac
import json

import pytest

from wo.multitenancy import login_links
from wo.multitenancy.errors import InvalidInput


def fixed_claims(**extra):
    return login_links.claims('a.test', 'admin', 60, clock=lambda: 1_800_000_000,
                              random=lambda n: 'ab' * n, **extra)


def test_claims_name_purpose_audience_user_times_and_a_single_use_id():
    assert fixed_claims() == {'pur': 'login', 'aud': 'a.test', 'sub': 'admin',
                              'iat': 1_800_000_000, 'exp': 1_800_000_060, 'jti': 'ab' * 16}
    assert fixed_claims(redirect='/wp-admin/edit.php')['red'] == '/wp-admin/edit.php'


def test_a_token_is_base64url_claims_and_their_hmac_with_the_sites_key():
    key = b'k' * 32
    token = login_links.token(key, fixed_claims())
    body, signature = token.split('.')
    assert '=' not in token and '+' not in token and '/' not in token
    assert json.loads(base64.urlsafe_b64decode(body + '=' * (-len(body) % 4))) == fixed_claims()
    expected = hmac.new(key, b'wo-mt-login.' + body.encode(), hashlib.sha256).digest()
    assert base64.urlsafe_b64decode(signature + '=' * (-len(signature) % 4)) == expected


def test_the_link_keeps_the_token_in_the_fragment():
    assert login_links.url('a.test', True, 'T.S') == 'https://a.test/?wo-mt-login#T.S'
    assert login_links.url('a.test', False, 'T.S').startswith('http://a.test/')


def test_each_site_has_its_own_key_from_one_secret_made_once(sandbox):
    import os
    os.makedirs(sandbox.control_dir)
    a, b = login_links.site_key(sandbox, 'a.test'), login_links.site_key(sandbox, 'b.test')
    assert len(a) == 32 and a != b and login_links.site_key(sandbox, 'a.test') == a
    secret = os.path.join(sandbox.control_dir, 'login-master.key')
    assert os.stat(secret).st_mode & 0o777 == 0o600


@pytest.mark.parametrize('ttl', [0, 301, -5])
def test_a_ttl_past_the_cap_is_refused(ttl):
    with pytest.raises(InvalidInput, match='between 1 and 300'):
        login_links.require_ttl(ttl)


@pytest.mark.parametrize('path', ['https://evil.test/', '//evil.test/x', 'wp-admin/',
                                  '/a\\b', '/a b', '/x\nLocation: y'])
def test_a_redirect_must_be_a_path_on_the_site(path):
    with pytest.raises(InvalidInput, match='not a path'):
        login_links.require_path(path)


def test_a_plain_path_is_a_redirect():
    login_links.require_path('/wp-admin/edit.php?post_type=page')
    login_links.require_path(None)


def test_what_a_site_kept_becomes_an_event_of_that_site_alone():
    event = login_links._event('a.test', json.dumps({
        'at': 1_800_000_000, 'result': 'refused', 'reason': 'replayed', 'link': None,
        'user': None, 'from': '203.0.113.9', 'sites': ['b.test']}))
    assert (event['command'], event['result'], event['detail']) == (
        'login-use', 'refused', 'replayed')
    assert json.loads(event['sites']) == ['a.test'] and event['actor'] == 'visitor 203.0.113.9'


@pytest.mark.parametrize('value', ['not json', json.dumps({'result': 'admin'}),
                                   json.dumps([1]), 'x' * 5000])
def test_what_is_not_an_event_of_ours_is_dropped(value):
    assert login_links._event('a.test', value) is None
