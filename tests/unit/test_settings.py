import pytest

from wo.multitenancy import settings
from wo.multitenancy.errors import InvalidInput


def test_defaults_are_the_documented_ones():
    s = settings.from_mapping({})
    assert s.shared_root == '/var/www/shared' and s.keep_releases == 3
    assert s.baseline_plugins == ('nginx-helper', 'redis-cache') and s.default_cache == 'wpfc'
    assert s.min_free_space == 1000 and s.enable_health_check is True
    assert s.isolation == 'sovereign'


def test_the_shipped_configuration_names_every_option(request):
    import configparser
    import os
    shipped = configparser.ConfigParser()
    shipped.read(os.path.join(str(request.config.rootdir), 'config', 'plugins.d', 'multitenancy.conf'))
    section = dict(shipped['multitenancy'])
    assert set(settings.option_names()) | {'enable_plugin'} == set(section)
    assert settings.from_mapping(section) == settings.from_mapping({})


def test_values_are_converted():
    s = settings.from_mapping({'keep_releases': '5', 'auto_ssl': 'yes',
                               'baseline_plugins': ' a, b ,,c ', 'alert_email': ''})
    assert s.keep_releases == 5 and s.auto_ssl is True
    assert s.baseline_plugins == ('a', 'b', 'c') and s.alert_email == ''


@pytest.mark.parametrize('values,message', [
    ({'keep_releases': 'three'}, 'whole number'), ({'keep_releases': '1'}, 'at least 2'),
    ({'auto_ssl': 'maybe'}, 'true or false'), ({'default_cache': 'varnish'}, 'default_cache'),
    ({'shared_root': 'relative/path'}, 'absolute'),
    ({'baseline_plugins': 'ok,Bad Slug'}, 'slug'), ({'baseline_theme': '../x'}, 'slug'),
    ({'wp_memory_limit': "256M'); evil('"}, 'wp_memory_limit'), ({'wp_locale': 'english'}, 'wp_locale'),
])
def test_bad_values_are_refused(values, message):
    with pytest.raises(InvalidInput, match=message):
        settings.from_mapping(values)


def test_derived_paths_follow_shared_root():
    s = settings.from_mapping({'shared_root': '/srv/shared', 'sites_root': '/srv/www'})
    assert s.current_link == '/srv/shared/current' and s.releases_dir == '/srv/shared/releases'
    assert s.baseline_file == '/srv/shared/config/baseline.json'
    assert s.site_root('a.test') == '/srv/www/a.test'
