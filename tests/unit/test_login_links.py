"""Login links: the token's format, its claims, the site keys, the refusals at issue,
and what a site's kept events become in the audit trail."""
import base64
import hashlib
import hmac
import json
import os
import subprocess

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
    os.makedirs(sandbox.control_dir)

    def key(domain, nonce='n1'):
        return login_links.site_key(sandbox, {'domain': domain, 'login_nonce': nonce})
    a = key('a.test')
    assert len(a) == 32 and a != key('b.test') and key('a.test') == a
    assert key('a.test', 'n2') != a  # a new nonce (another isolation model): a new key
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
        'at': 1, 'result': 'ok', 'reason': 'used', 'link': 'abcdef01', 'user': 'admin',
        'from': '203.0.113.9', 'sites': ['b.test']}))
    assert (event['command'], event['result'], event['detail']) == (
        'login-use', 'ok', 'used; link abcdef01; user admin')
    assert json.loads(event['sites']) == ['a.test'] and event['actor'] == 'visitor 203.0.113.9'
    assert event['started_at'] > '2026'  # a time the site claims from long ago: now


def test_what_a_site_kept_is_checked_field_by_field():
    event = login_links._event('a.test', json.dumps({
        'result': 'refused', 'reason': 'replayed', 'link': '\x1b[2J', 'user': 'a\nb',
        'from': '<script>'}))
    assert (event['detail'], event['actor']) == ('replayed', 'visitors')


@pytest.mark.parametrize('value', ['not json', json.dumps({'result': 'admin'}), json.dumps([1]),
                                   json.dumps({'result': 'ok', 'reason': 'I say so'})])
def test_what_is_not_an_event_of_ours_is_dropped(value):
    assert login_links._event('a.test', value) is None


def test_a_count_of_unsigned_refusals_is_one_event():
    event = login_links._count('a.test', 'bad_signature', '41')
    assert (event['result'], event['detail']) == ('refused', 'bad signature; 41 times')
    assert login_links._count('a.test', 'used', '3') is None
    assert login_links._count('a.test', 'malformed', 'many') is None


# -- the verifier (php/wo-login-links.php), with WordPress stubbed and the clock fixed ------
HERE = os.path.dirname(__file__)
VERIFIER = os.path.join(HERE, '..', '..', 'wo', 'multitenancy', 'php', 'wo-login-links.php')
KEY = b'\x01' * 32
NOW = 1_800_000_000


def verified(token, key=KEY, host='a.test', asked='a.test', origin='a.test', now=NOW,
             users=('admin',), used=()):
    job = {'key': key.hex() if key else None, 'token': token, 'host': host, 'asked': asked,
           'origin': origin, 'now': now, 'users': list(users), 'used': list(used)}
    done = subprocess.run(['php', os.path.join(HERE, 'php', 'login-check.php'), VERIFIER],
                          input=json.dumps(job), capture_output=True, text=True, check=True)
    return done.stdout


def signed(key=KEY, **changes):
    return login_links.token(key, dict(fixed_claims(), **changes))


def test_the_verifier_takes_a_good_link_once():
    assert verified(signed()) == 'ok admin'
    assert verified(signed(), used=['_wo_mt_jti_' + 'ab' * 16]) == 'replayed'


@pytest.mark.parametrize('token,options,reason', [
    (lambda: signed(), {'key': None}, 'no key'),
    (lambda: 'no-dot-at-all', {}, 'malformed'),
    (lambda: signed() + '.x', {}, 'malformed'),
    (lambda: signed(key=b'\x02' * 32), {}, 'bad signature'),
    (lambda: signed()[:-2] + 'AA', {}, 'bad signature'),
    (lambda: _signed_body(b'not json'), {}, 'malformed claims'),
    (lambda: signed(sub=['admin']), {}, 'unknown user'),
    (lambda: signed(pur='reset'), {}, 'wrong purpose'),
    (lambda: signed(aud='b.test'), {}, 'wrong host'),
    (lambda: signed(), {'asked': 'b.test'}, 'wrong host'),
    (lambda: signed(), {'origin': 'evil.test'}, 'wrong origin'),
    (lambda: signed(), {'origin': ''}, 'wrong origin'),
    (lambda: signed(iat=NOW + 31, exp=NOW + 60), {}, 'issued in the future'),
    (lambda: signed(iat='1800000000'), {}, 'issued in the future'),
    (lambda: signed(), {'now': NOW + 60 + 31}, 'expired'),
    (lambda: signed(exp=NOW + 3600), {'now': NOW + 10}, 'expired'),
    (lambda: signed(exp=float(NOW + 60)), {}, 'expired'),
    (lambda: signed(sub='nobody'), {}, 'unknown user'),
    (lambda: signed(jti='../../x'), {}, 'malformed claims'),
])
def test_the_verifier_refuses_each_bad_link_with_its_reason(token, options, reason):
    assert verified(token(), **options) == reason


def test_a_little_clock_skew_is_forgiven():
    assert verified(signed(), now=NOW + 60 + 29) == 'ok admin'
    assert verified(signed(iat=NOW + 29, exp=NOW + 60)) == 'ok admin'


def _signed_body(body):
    encoded = base64.urlsafe_b64encode(body).rstrip(b'=')
    mac = hmac.new(KEY, b'wo-mt-login.' + encoded, hashlib.sha256).digest()
    return encoded.decode() + '.' + base64.urlsafe_b64encode(mac).rstrip(b'=').decode()
