import pytest

from wo.multitenancy import validate
from wo.multitenancy.errors import EXIT_REFUSED, InvalidInput


@pytest.mark.parametrize('name', ['example.com', 'a-b.example.co.uk', 'x1.test', 'xn--bcher-kva.de'])
def test_valid_domains_pass(name):
    assert validate.domain(name) == name


@pytest.mark.parametrize('name,why', [
    ('double..dot.com', 'empty label'), ('.lead.com', 'empty label'), ('trail.com.', 'empty label'),
    ('-lead.com', 'leading or trailing hyphen'), ('trail-.com', 'leading or trailing hyphen'),
    ('Upper.com', 'upper-case'), ('under_score.com', 'underscore'), ('a.com/path', 'path'),
    ('https://a.com', 'scheme'), ('a.com:8080', 'port'), ('nodot', 'not a domain'),
    ('www.a.com', 'www.'), ('\u2014le', 'em dash'), ('a\u2013b.com', 'en dash'),
    ('x' * 64 + '.com', 'only a-z'),
])
def test_malformed_domains_are_refused_with_a_reason(name, why):
    with pytest.raises(InvalidInput) as refused:
        validate.domain(name)
    assert why in refused.value.message
    assert refused.value.hint
    assert refused.value.exit_code == EXIT_REFUSED


def test_a_dash_lookalike_flag_gets_the_flag_to_type():
    with pytest.raises(InvalidInput) as refused:
        validate.reject_lookalike_dashes('\u2014le')
    assert refused.value.hint.endswith('--le')


def test_one_cache_picks_the_flag_or_the_default():
    assert validate.one_cache(['wpredis', 'php82', 'hsts'], 'wpfc') == 'wpredis'
    assert validate.one_cache(['php82'], 'wpfc') == 'wpfc'
    with pytest.raises(InvalidInput, match='--wpfc and --wpsc'):
        validate.one_cache(['wpfc', 'wpsc'], 'wpfc')


def test_one_php_turns_a_flag_into_a_version():
    assert validate.one_php(['php83', 'wpfc'], '8.2') == '8.3'
    assert validate.one_php([], '8.2') == '8.2'
    with pytest.raises(InvalidInput, match='one PHP version'):
        validate.one_php(['php82', 'php83'], '8.2')


@pytest.mark.parametrize('address', ['', 'nobody', 'a@b', 'a b@c.de', 'a@-b.de', '"q"@b.de',
                                     'a@b..de'])
def test_bad_email_is_refused(address):
    with pytest.raises(InvalidInput):
        validate.email(address)


def test_admin_user_names():
    assert validate.admin_user('site.admin') == 'site.admin'
    with pytest.raises(InvalidInput):
        validate.admin_user('no spaces')


def test_good_email_passes():
    assert validate.email("o'brien+wp@mail.example.co.uk") == "o'brien+wp@mail.example.co.uk"


@pytest.mark.parametrize('name', ['dns_cf; rm -rf /', 'cf', 'dns_CF', '$(id)'])
def test_dns_provider_must_be_an_acme_sh_api_name(name):
    with pytest.raises(InvalidInput):
        validate.dns_provider(name)
    assert validate.dns_provider('dns_ovh') == 'dns_ovh'
