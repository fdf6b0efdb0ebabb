"""Real WordPress releases for the tests, built without internet.

wordpress.org is out of reach on the test machines; the npm package
@wp-playground/wordpress-builds carries real releases: src/wordpress/wp-X.Y.zip holds
the PHP and public/wp-X.Y/ the static assets that zip leaves out. Together they are a
complete release, packed here as wordpress.org packs it (wordpress-X.Y.Z.tar.gz with a
wordpress/ top folder and a .sha1 beside it).
"""
import hashlib
import os
import shutil
import subprocess
import tarfile
import zipfile

PACKAGE = '@wp-playground/wordpress-builds@0.9.19'
CACHE = os.environ.get('MT_TEST_CACHE', '/var/cache/wo-multitenancy-tests')
VERSIONS = {'6.5': '6.5.5', '6.4': '6.4.5'}
# What the playground adds to a release and wordpress.org's does not have.
PLAYGROUND_ONLY = ('wp-config.php', '.default_theme', 'wp-content/database')


def release_tarball(branch):
    """Path of wordpress-<version>.tar.gz for branch '6.5' or '6.4', built once."""
    version = VERSIONS[branch]
    tarball = os.path.join(CACHE, 'wordpress-{0}.tar.gz'.format(version))
    if not os.path.exists(tarball + '.sha1'):
        _build(branch, tarball)
    return tarball


def with_php_fatal(tarball, target):
    """The release unpacked under `target` with a PHP fatal error in wp-settings.php (a
    release every canary refuses); the directory holding wordpress/."""
    with tarfile.open(tarball) as tar:
        tar.extractall(target)
    with open(os.path.join(target, 'wordpress', 'wp-settings.php'), 'a') as f:
        f.write('\nmt_release_is_broken();\n')
    return str(target)


def bundled_theme(tarball, slug, target):
    """Unpack the theme `slug` a release tarball bundles under `target`; its folder."""
    folder = 'wordpress/wp-content/themes/' + slug
    with tarfile.open(tarball) as tar:
        tar.extractall(target, members=[m for m in tar.getmembers()
                                        if m.name == folder or m.name.startswith(folder + '/')])
    return os.path.join(target, folder)


def _package_dir():
    unpacked = os.path.join(CACHE, 'package')
    if not os.path.isdir(unpacked):
        os.makedirs(CACHE, exist_ok=True)
        subprocess.run(['npm', 'pack', '--silent', PACKAGE], cwd=CACHE, check=True,
                       stdout=subprocess.DEVNULL)
        archive = [n for n in os.listdir(CACHE) if n.endswith('.tgz')][0]
        with tarfile.open(os.path.join(CACHE, archive)) as tar:
            tar.extractall(CACHE)
        os.unlink(os.path.join(CACHE, archive))
    return unpacked


def _build(branch, tarball):
    package = _package_dir()
    tree = os.path.join(CACHE, 'build-' + branch, 'wordpress')
    shutil.rmtree(os.path.dirname(tree), ignore_errors=True)
    with zipfile.ZipFile(os.path.join(package, 'src', 'wordpress', 'wp-{0}.zip'.format(branch))) as z:
        z.extractall(tree)
    assets = os.path.join(package, 'public', 'wp-' + branch)
    for top in ('wp-admin', 'wp-content', 'wp-includes'):
        shutil.copytree(os.path.join(assets, top), os.path.join(tree, top), dirs_exist_ok=True)
    for extra in PLAYGROUND_ONLY:
        path = os.path.join(tree, extra)
        shutil.rmtree(path) if os.path.isdir(path) else os.path.exists(path) and os.unlink(path)
    with tarfile.open(tarball + '.tmp', 'w:gz') as tar:
        tar.add(tree, arcname='wordpress')
    os.replace(tarball + '.tmp', tarball)
    with open(tarball, 'rb') as f:
        digest = hashlib.sha1(f.read()).hexdigest()
    with open(tarball + '.sha1', 'w') as f:
        f.write(digest)
    shutil.rmtree(os.path.dirname(tree))
