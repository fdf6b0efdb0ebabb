"""Unit tests: pure logic, and effects confined to a temporary sandbox root."""
import pytest

from wo.multitenancy import settings as mt_settings


@pytest.fixture
def sandbox(tmp_path):
    """Settings whose every path lies under tmp_path."""
    return mt_settings.from_mapping({}, shared_root=str(tmp_path / 'shared'),
                                    sites_root=str(tmp_path / 'www'),
                                    nginx_root=str(tmp_path / 'nginx'),
                                    page_cache=str(tmp_path / 'nginx-cache'),
                                    wo_database=str(tmp_path / 'wo' / 'dbase.db'))
