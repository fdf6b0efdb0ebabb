"""Maintenance pages in a sandbox: what turn_on writes, what it keeps, what is refused."""
import os

import pytest

from wo.multitenancy import maintenance
from wo.multitenancy.errors import InvalidInput, MTError
from wo.multitenancy.undo import Changes


@pytest.fixture
def site(sandbox):
    os.makedirs(os.path.join(sandbox.site_root('a.test'), 'conf', 'nginx'))
    return sandbox


def test_on_writes_an_escaped_page_and_an_include_that_names_it(site):
    assert maintenance.turn_on(site, 'a.test', 'Back <soon> & "then"', Changes())
    assert maintenance.is_on(site, 'a.test')
    assert maintenance.message_of(site, 'a.test') == 'Back <soon> & "then"'
    with open(maintenance.page_path(site, 'a.test')) as f:
        assert '<p>Back &lt;soon&gt; &amp; &quot;then&quot;</p>' in f.read()
    with open(maintenance.include_path(site, 'a.test')) as f:
        include = f.read()
    assert 'alias {0};'.format(maintenance.page_path(site, 'a.test')) in include
    assert 'add_header Retry-After 600 always;' in include
    assert 'wo multitenancy maintenance off a.test' in include


def test_the_same_message_again_changes_nothing_and_another_one_replaces_it(site):
    maintenance.turn_on(site, 'a.test', None, Changes())
    assert maintenance.message_of(site, 'a.test') == maintenance.DEFAULT_MESSAGE.format('a.test')
    assert not maintenance.turn_on(site, 'a.test', None, Changes())
    assert maintenance.turn_on(site, 'a.test', 'Later', Changes())
    assert maintenance.message_of(site, 'a.test') == 'Later'


def test_off_removes_both_and_says_whether_it_was_on(site):
    maintenance.turn_on(site, 'a.test', None, Changes())
    assert maintenance.turn_off(site, 'a.test')
    assert os.listdir(os.path.join(site.site_root('a.test'), 'conf', 'nginx')) == []
    assert not maintenance.turn_off(site, 'a.test')
    assert maintenance.message_of(site, 'a.test') is None


@pytest.mark.parametrize('message', ['', '   ', 'two\nlines', 'x' * 501, 'tab\there'])
def test_a_message_is_one_line_of_500_characters_at_most(message):
    with pytest.raises(InvalidInput):
        maintenance.require_message(message)


def test_a_conf_dir_the_site_may_change_is_refused(site):
    os.chmod(os.path.join(site.site_root('a.test'), 'conf', 'nginx'), 0o777)
    with pytest.raises(MTError, match='only root may change'):
        maintenance.turn_on(site, 'a.test', None, Changes())
    assert not maintenance.is_on(site, 'a.test')
