import os

from wo.multitenancy import nginx


def cache_entry(directory, name, key):
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, name), 'wb') as f:
        f.write(b'\x05binary header\nKEY: ' + key.encode() + b'\nContent-Type: text/html\n\n<html>')


def test_only_the_named_sites_entries_are_purged(tmp_path):
    cache = str(tmp_path)
    cache_entry(os.path.join(cache, '1', 'ab'), 'one', 'httpGETa.test/')
    cache_entry(os.path.join(cache, '2', 'cd'), 'two', 'httpsGETa.test/page/?x=1')
    cache_entry(os.path.join(cache, '3', 'ef'), 'three', 'httpGETab.test/')
    cache_entry(os.path.join(cache, '4', 'gh'), 'four', 'httpGETother.test/a.test/')
    assert nginx.purge_page_cache(['a.test'], [cache]) == 2
    left = sorted(name for _, _, files in os.walk(cache) for name in files)
    assert left == ['four', 'three']


def test_what_a_site_plants_in_the_cache_is_neither_opened_nor_followed(tmp_path):
    cache, elsewhere = str(tmp_path / 'cache'), str(tmp_path / 'elsewhere')
    cache_entry(elsewhere, 'outside', 'httpGETa.test/')
    cache_entry(os.path.join(cache, '1', 'ab'), 'one', 'httpGETa.test/')
    os.mkfifo(os.path.join(cache, '1', 'ab', 'fifo'))  # open() would wait for a writer
    os.symlink(os.path.join(elsewhere, 'outside'), os.path.join(cache, '1', 'ab', 'link'))
    os.symlink(elsewhere, os.path.join(cache, '2'))
    assert nginx.purge_page_cache(['a.test'], [cache]) == 1
    assert os.path.exists(os.path.join(elsewhere, 'outside'))
    assert sorted(os.listdir(os.path.join(cache, '1', 'ab'))) == ['fifo', 'link']
