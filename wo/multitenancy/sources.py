"""Where a WordPress release comes from: wordpress.org, a URL, a local archive or directory.

Downloads are verified against the SHA-1 checksum published beside the archive
(`<url>.sha1`, as wordpress.org publishes for every release). For wordpress.org the
checksum is required; for another URL it is checked when that server publishes one.
"""
import hashlib
import os
import re
import tempfile

import requests

from wo.multitenancy.errors import InvalidInput, MTError

VERSION_API = 'https://api.wordpress.org/core/version-check/1.7/'
RELEASE_URL = 'https://wordpress.org/wordpress-{0}.tar.gz'
PLUGIN_CHECKSUMS = 'https://downloads.wordpress.org/plugin-checksums/{0}/{1}.json'
ITEM_INFO = {'plugins': 'https://api.wordpress.org/plugins/info/1.2/'
                        '?action=plugin_information&request[slug]={0}',
             'themes': 'https://api.wordpress.org/themes/info/1.2/'
                       '?action=theme_information&request[slug]={0}'}
_VERSION = re.compile(r'^\d+\.\d+(\.\d+)?$')
CLOSED = 'closed'  # what wordpress.org answers for a plugin it took down


def is_url(source):
    return bool(re.match(r'^https?://', source or ''))


def check_source(source):
    """Refuse a --source that cannot be used, before anything changes."""
    if source is None or is_url(source):
        return
    if os.path.isdir(source):
        wordpress_root(source)
        return
    if not os.path.isfile(source):
        raise InvalidInput('--source {0}: no such file or directory'.format(source),
                           'give a WordPress .tar.gz/.zip, its unpacked directory, or a URL')
    if not re.search(r'\.(tar\.gz|tgz|tar|zip)$', source):
        raise InvalidInput('--source {0}: not a .tar.gz, .tgz, .tar or .zip'.format(source))


def latest_version():
    """The version wordpress.org offers as the latest release."""
    offers = _get(VERSION_API).json().get('offers') or []
    if not offers or 'current' not in offers[0]:
        raise MTError('wordpress.org did not name a latest version',
                      'try again later, or pass --source')
    return offers[0]['current']


def check_version(version):
    if version is not None and not _VERSION.match(version):
        raise InvalidInput('--version {0!r} is not a version such as 6.5.5'.format(version))


def fetch(source, workdir, version=None):
    """Return a local path (archive or directory) holding the release `source` names.

    source None means wordpress.org: `version`, or the latest release. Downloads land
    in `workdir`. Raises MTError when a download fails or its checksum does not match.
    """
    if source is not None and not is_url(source):
        return source
    if source is None:
        url = RELEASE_URL.format(version or latest_version())
        return _download_verified(url, workdir, checksum_required=True)
    return download(source, workdir)


def download(url, workdir):
    """Download `url` into `workdir`, checked against its .sha1 where one is published."""
    return _download_verified(url, workdir, checksum_required=False)


def plugin_checksums(slug, version):
    """{path: [sha256, ...]} of every file of wordpress.org's plugin `slug` at `version`,
    as wordpress.org publishes them."""
    files = _get(PLUGIN_CHECKSUMS.format(slug, version)).json().get('files')
    if not isinstance(files, dict) or not files:
        raise MTError('wordpress.org publishes no checksums for plugin {0} {1}'.format(slug, version),
                      'pass --source with a copy you trust')
    return {path: [s] if isinstance(s, str) else list(s)
            for path, sums in files.items() for s in [(sums or {}).get('sha256') or []]}


def latest_item_version(kind, slug):
    """The version wordpress.org offers of plugin (or theme) `slug`; None when it has
    none of that name (answering, as WordPress' plugins_api reads it, with an 'error'),
    CLOSED when it has closed it."""
    try:
        response = requests.get(ITEM_INFO[kind].format(slug), timeout=60)
        info = response.json()
    except requests.RequestException as e:
        raise MTError('cannot ask wordpress.org for the {0} {1}: {2}'.format(
            kind[:-1], slug, _reason(e)), 'check the network, or pass --core-only')
    except ValueError:
        info = None
    if isinstance(info, dict) and 'error' in info and response.status_code in (200, 404):
        return CLOSED if info['error'] == 'closed' else None
    if response.status_code != 200 or not isinstance(info, dict) or \
            not isinstance(info.get('version'), str):
        raise MTError('wordpress.org gave no version of the {0} {1} (HTTP {2})'.format(
            kind[:-1], slug, response.status_code), 'try again later, or pass --core-only')
    return info['version']


def _download_verified(url, workdir, checksum_required):
    name = os.path.basename(url.split('?')[0]) or 'wordpress.tar.gz'
    path = os.path.join(workdir, name)
    expected = _published_sha1(url, checksum_required)
    digest = hashlib.sha1()
    with _get(url, stream=True) as response, open(path, 'wb') as out:
        for chunk in response.iter_content(chunk_size=1 << 20):
            digest.update(chunk)
            out.write(chunk)
    if expected and digest.hexdigest() != expected:
        raise MTError('checksum mismatch for {0}: expected sha1 {1}, got {2}'
                      .format(url, expected, digest.hexdigest()),
                      'the download is damaged or was tampered with; nothing was changed')
    return path


def _published_sha1(url, required):
    try:
        response = requests.get(url + '.sha1', timeout=30)
    except requests.RequestException as e:
        if required:
            raise MTError('cannot fetch the checksum {0}.sha1: {1}'.format(url, _reason(e)),
                          'check the network, or pass --source with a local copy')
        return None
    if response.status_code == 200 and re.match(r'^[0-9a-f]{40}', response.text.strip()):
        return response.text.strip()[:40]
    if required:
        raise MTError('no checksum published at {0}.sha1 (HTTP {1})'
                      .format(url, response.status_code), 'try again later, or pass --source')
    return None


def _get(url, stream=False):
    try:
        response = requests.get(url, timeout=60, stream=stream)
    except requests.RequestException as e:
        raise MTError('cannot download {0}: {1}'.format(url, _reason(e)),
                      'check the network, or pass --source with a local copy')
    if response.status_code != 200:
        raise MTError('cannot download {0}: HTTP {1}'.format(url, response.status_code),
                      'check the URL')
    return response


def _reason(error):
    """The error at the bottom of a requests exception (urllib3 wraps it twice):
    "Failed to resolve 'wordpress.org' ...", not the whole retry story."""
    while getattr(error, 'reason', None) is not None or \
            (error.args and isinstance(error.args[0], Exception)):
        error = getattr(error, 'reason', None) or error.args[0]
    return error


def wordpress_root(tree):
    """The directory holding wp-load.php: the tree itself or its wordpress/ folder."""
    for candidate in (tree, os.path.join(tree, 'wordpress')):
        if os.path.isfile(os.path.join(candidate, 'wp-load.php')):
            return candidate
    raise MTError('{0} holds no WordPress release (no wp-load.php at its top or in wordpress/)'
                  .format(tree), 'pass the WordPress .tar.gz/.zip or its unpacked directory')


def scratch_dir(parent):
    """A temporary directory on the same filesystem as `parent` (cheap renames)."""
    return tempfile.mkdtemp(prefix='.mt-download-', dir=parent)
