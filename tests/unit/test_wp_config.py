import os

import pytest

from wo.multitenancy import fs, layout, wp_config
from wo.multitenancy.errors import InvalidInput

DB = {'db_name': 'a_test_x1', 'db_user': 'atestx', 'db_password': "it's\\secret",
      'db_host': 'localhost'}


def written(settings, constants, shared=True, prefix="'wp_'"):
    fs.make_dir(settings.site_root('a.test'))
    wp_config.write(settings, 'a.test', constants, prefix, layout.htdocs(settings, 'a.test'), shared)
    with open(wp_config.path(settings, 'a.test')) as f:
        return f.read()


def test_php_literals_survive_quotes_and_backslashes():
    assert wp_config.php_literal("it's\\x") == "'it\\'s\\\\x'"
    assert wp_config.php_literal(True) == 'true' and wp_config.php_literal(3) == '3'


def test_a_shared_core_config_routes_content_to_the_site_and_code_to_the_shared_set(sandbox):
    text = written(sandbox, wp_config.defaults(sandbox, 'a.test', DB))
    assert "define( 'DB_PASSWORD', 'it\\'s\\\\secret' );" in text
    assert "define( 'WP_CONTENT_DIR', '{0}/wp-content' );".format(layout.htdocs(sandbox, 'a.test')) in text
    assert "define( 'WP_PLUGIN_DIR', '{0}/wp-content/plugins' );".format(
        layout.htdocs(sandbox, 'a.test')) in text  # its own link: a canary's goes elsewhere
    assert "define( 'DISALLOW_FILE_EDIT', true );" in text
    assert "define( 'ABSPATH', '{0}/wp/' );".format(layout.htdocs(sandbox, 'a.test')) in text
    assert text.count("define( 'AUTH_KEY', '") == 1
    assert oct(os.stat(wp_config.path(sandbox, 'a.test')).st_mode)[-3:] == '640'


def test_an_earlier_config_naming_the_shared_plugins_is_routed_through_the_site(sandbox, monkeypatch):
    forgotten = []
    monkeypatch.setattr(wp_config.phpfpm, 'forget_scripts', lambda s, v, path: forgotten.append(path))
    text = written(sandbox, wp_config.defaults(sandbox, 'a.test', DB))
    own = "define( 'WP_PLUGIN_DIR', '{0}/wp-content/plugins' );".format(layout.htdocs(sandbox, 'a.test'))
    earlier = "define( 'WP_PLUGIN_DIR', '{0}/plugins' );".format(sandbox.shared_content)
    config = wp_config.path(sandbox, 'a.test')
    fs.write_file(config, text.replace(own, earlier), mode=0o640)
    assert wp_config.plugins_through_docroot(sandbox, 'a.test', '8.2')
    with open(config) as f:
        assert f.read() == text
    assert oct(os.stat(config).st_mode)[-3:] == '640' and forgotten == [config]
    assert wp_config.plugins_through_docroot(sandbox, 'a.test', '8.2') and len(forgotten) == 1
    fs.write_file(config, text.replace(own, ''), mode=0o640)  # edited by hand: left alone
    assert not wp_config.plugins_through_docroot(sandbox, 'a.test', '8.2')


def test_a_standalone_config_has_no_shared_layout(sandbox):
    constants = wp_config.without_layout(dict(
        wp_config.defaults(sandbox, 'a.test', DB),
        **wp_config.shared_layout(sandbox, 'a.test', '/x'), MY_SETTING="'kept'"))
    text = written(sandbox, constants, shared=False, prefix="'site_'")
    assert 'WP_CONTENT_DIR' not in text and 'WP_PLUGIN_DIR' not in text
    assert 'WP_AUTO_UPDATE_CORE' not in text
    assert "define( 'MY_SETTING', 'kept' );" in text and "$table_prefix = 'site_';" in text
    assert "define( 'ABSPATH', '{0}/' );".format(layout.htdocs(sandbox, 'a.test')) in text


def test_a_config_that_moves_content_elsewhere_cannot_be_converted(sandbox):
    with pytest.raises(InvalidInput, match='UPLOADS'):
        wp_config.check_convertible(sandbox, 'a.test', {'UPLOADS': "'files'"})
    with pytest.raises(InvalidInput, match='WP_CONTENT_DIR'):
        wp_config.check_convertible(sandbox, 'a.test', {'WP_CONTENT_DIR': "'/srv/content'"})


def test_our_own_layout_passes_the_check_so_a_stopped_conversion_can_finish(sandbox):
    ours = wp_config.shared_layout(sandbox, 'a.test', layout.htdocs(sandbox, 'a.test'))
    assert wp_config.check_convertible(sandbox, 'a.test', ours) is None
    with pytest.raises(InvalidInput, match='WP_CONTENT_DIR'):
        wp_config.check_convertible(sandbox, 'a.test', dict(ours, WP_CONTENT_DIR="'/srv/x'"))


def test_plain_values_become_php_literals_and_nothing_else_does():
    assert wp_config.php_literal(None) == 'null'
    assert wp_config.php_literal(1.5) == '1.5'
    assert wp_config.php_literal(['a', 2]) == "array('a', 2)"
    assert wp_config.php_literal({'k': "'); evil(); //"}) == "array('k' => '\\'); evil(); //')"
    with pytest.raises(TypeError):
        wp_config.php_literal(object())


@pytest.mark.parametrize('defined, refused', [
    ({'constants': {"X', 1); evil(); //": 1}, 'table_prefix': 'wp_'}, 'not plain names'),
    ({'constants': {'A': 1}, 'unsupported': ['OBJ'], 'table_prefix': 'wp_'}, "'OBJ'"),
    ({'constants': {}, 'table_prefix': "wp_'; evil(); //"}, 'does not take'),
    ({'constants': {}, 'table_prefix': ['wp_']}, 'does not take'),
    (['not', 'an', 'object'], 'printed no definitions'),
])
def test_what_a_sites_config_prints_is_checked_before_it_is_written(defined, refused):
    with pytest.raises(InvalidInput, match=refused):
        wp_config._checked('/var/www/a.test/wp-config.php', defined)


def test_a_sites_values_are_rebuilt_as_literals():
    checked = wp_config._checked('wp-config.php', {'constants': {
        'DB_PASSWORD': "it's", 'WP_DEBUG': False, 'LIMIT': 3, 'HOSTS': ['a', 'b']},
        'unsupported': [], 'table_prefix': 'site_'})
    assert checked == {'constants': {'DB_PASSWORD': "'it\\'s'", 'WP_DEBUG': 'false',
                                     'LIMIT': '3', 'HOSTS': "array('a', 'b')"},
                       'table_prefix': "'site_'"}


def test_new_secrets_replace_the_database_account_and_every_salt_and_keep_the_rest(sandbox):
    before = dict(wp_config.defaults(sandbox, 'a.test', {
        'db_name': 'a_test', 'db_user': 'old', 'db_password': 'leaked', 'db_host': 'localhost'}),
        MY_OPTION="'kept'")
    after = wp_config.with_new_secrets(before, 'new_user', "it's new")
    assert (after['DB_USER'], after['DB_PASSWORD']) == ("'new_user'", "'it\\'s new'")
    salts = [after[name] for name in wp_config.SALT_NAMES]
    assert len(set(salts)) == len(salts) and not set(salts) & set(before.values())
    unchanged = set(before) - {'DB_USER', 'DB_PASSWORD'} - set(wp_config.SALT_NAMES)
    assert {n: after[n] for n in unchanged} == {n: before[n] for n in unchanged}
    assert set(after) == set(before)
