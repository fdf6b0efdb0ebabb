"""Small archives and trees shaped like WordPress releases, for the unit tests."""
import io
import os
import tarfile

VERSION_PHP = "<?php\n$wp_version = '{0}';\n$wp_db_version = {1};\n"
CORE_FILES = ('wp-load.php', 'wp-settings.php', 'wp-blog-header.php', 'wp-login.php',
              'wp-cron.php', 'index.php', 'wp-config-sample.php', 'wp-admin/admin.php',
              'wp-admin/includes/upgrade.php')


def make_release_tree(root, version='6.5.5', db_version=57155, theme='twentytwentyfour'):
    """A directory shaped like a WordPress release (tiny files, real names), shipping
    `theme` as its default theme and hello.php."""
    for name in CORE_FILES:
        path = os.path.join(root, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            f.write('<?php // {0}\n'.format(name))
    os.makedirs(os.path.join(root, 'wp-includes'), exist_ok=True)
    with open(os.path.join(root, 'wp-includes', 'version.php'), 'w') as f:
        f.write(VERSION_PHP.format(version, db_version))
    with open(os.path.join(root, 'wp-includes', 'default-constants.php'), 'w') as f:
        f.write("<?php define( 'WP_DEFAULT_THEME', '{0}' );\n".format(theme))
    os.makedirs(os.path.join(root, 'wp-content', 'themes', theme), exist_ok=True)
    os.makedirs(os.path.join(root, 'wp-content', 'plugins'), exist_ok=True)
    with open(os.path.join(root, 'wp-content', 'plugins', 'hello.php'), 'w') as f:
        f.write('<?php /* Plugin Name: Hello Dolly */\n')
    return root


def make_release_tarball(tmp_path, version='6.5.5', db_version=57155, theme='twentytwentyfour'):
    tree = make_release_tree(str(tmp_path / 'src' / version / 'wordpress'), version, db_version,
                             theme)
    tarball = str(tmp_path / 'wordpress-{0}.tar.gz'.format(version))
    with tarfile.open(tarball, 'w:gz') as tar:
        tar.add(tree, arcname='wordpress')
    return tarball


def tarball_with(tmp_path, name, data=b'x', member_type=tarfile.REGTYPE, linkname=''):
    path = str(tmp_path / 'evil.tar.gz')
    with tarfile.open(path, 'w:gz') as tar:
        info = tarfile.TarInfo(name)
        info.type = member_type
        info.linkname = linkname
        info.size = len(data) if member_type == tarfile.REGTYPE else 0
        tar.addfile(info, io.BytesIO(data) if member_type == tarfile.REGTYPE else None)
    return path
