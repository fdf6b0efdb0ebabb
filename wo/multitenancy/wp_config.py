"""A site's wp-config.php: what an existing one defines (read by PHP itself), and ours.

Ours is written for a site on the shared core (content in the site's htdocs/wp-content,
plugins and themes from the shared set) or, for `revert`, for a standalone site.
Values go into the file as PHP literals, so any text is safe in it.
"""
import json
import math
import os
import re
import secrets
import string

import pystache

from wo.multitenancy import fs, layout, phpfpm, pools, runner
from wo.multitenancy.errors import CommandFailed, InvalidInput, MTError

HERE = os.path.dirname(__file__)
READER = os.path.join(HERE, 'php', 'read-config.php')
SALT_NAMES = ('AUTH_KEY', 'SECURE_AUTH_KEY', 'LOGGED_IN_KEY', 'NONCE_KEY',
              'AUTH_SALT', 'SECURE_AUTH_SALT', 'LOGGED_IN_SALT', 'NONCE_SALT')
# Where the shared-core layout puts content and code: ours, never a site's.
LAYOUT_CONSTANTS = ('WP_CONTENT_DIR', 'WP_PLUGIN_DIR', 'WPMU_PLUGIN_DIR')
# A site that moves these elsewhere has a layout a conversion would break.
FOREIGN_LAYOUT = ('UPLOADS', 'WP_CONTENT_URL', 'WP_PLUGIN_URL', 'WPMU_PLUGIN_URL', 'WP_LANG_DIR')
_CONSTANT = re.compile(r'^[A-Za-z_][A-Za-z0-9_]*\Z')
_TABLE_PREFIX = re.compile(r'^[A-Za-z0-9_]+\Z')
_SALT_ALPHABET = string.ascii_letters + string.digits + '!#$%&()*+,-./:;<=>?@[]^_{|}~'


def path(settings, domain):
    return os.path.join(settings.site_root(domain), 'wp-config.php')


def php_literal(value):
    """The PHP literal of a plain value: None, bool, int, finite float, str, or a list or
    dict of those (an array). Anything else raises TypeError."""
    if value is None:
        return 'null'
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, int) or isinstance(value, float) and math.isfinite(value):
        return repr(value)
    if isinstance(value, str):
        return "'" + value.replace('\\', '\\\\').replace("'", "\\'") + "'"
    if isinstance(value, list):
        return 'array(' + ', '.join(php_literal(v) for v in value) + ')'
    if isinstance(value, dict):  # JSON's keys are text; PHP makes '5' the integer key 5
        return 'array(' + ', '.join('{0} => {1}'.format(php_literal(k), php_literal(v))
                                    for k, v in value.items()) + ')'
    raise TypeError('{0!r} has no PHP literal'.format(value))


def defaults(settings, domain, db=None):
    """{constant: PHP literal} of a new site: its database `db` (db_name, db_user,
    db_password, db_host), fresh salts, and the policy from the configuration."""
    values = {}
    if db:
        values.update(DB_NAME=db['db_name'], DB_USER=db['db_user'],
                      DB_PASSWORD=db['db_password'], DB_HOST=db['db_host'],
                      DB_CHARSET='utf8mb4', DB_COLLATE='')
    values.update(_fresh_salts())
    values.update(WP_CACHE_KEY_SALT=domain + ':', DISALLOW_FILE_EDIT=settings.disable_file_edit,
                  DISALLOW_FILE_MODS=settings.disable_file_mods,
                  WP_MEMORY_LIMIT=settings.wp_memory_limit,
                  WP_MAX_MEMORY_LIMIT=settings.wp_max_memory_limit, WP_DEBUG=False)
    return {name: php_literal(value) for name, value in values.items()}


def shared_layout(settings, domain, docroot):
    """{constant: PHP literal} that put a site on the shared core: its content in
    `docroot`/wp-content, plugins from the shared set through its own wp-content/plugins
    link (a canary site's link points at the version proven), core updates left to wo."""
    return {'WP_CONTENT_DIR': php_literal(docroot + '/wp-content'),
            'WP_PLUGIN_DIR': php_literal(docroot + '/wp-content/plugins'),
            'WPMU_PLUGIN_DIR': php_literal(settings.shared_content + '/mu-plugins'),
            'WP_AUTO_UPDATE_CORE': 'false'}


def plugins_through_docroot(settings, domain, php_version):
    """Make the site's WP_PLUGIN_DIR its own wp-content/plugins, as this version writes
    it, where an earlier one named the shared folder (both hold the same files); returns
    whether it is so now. A file that is not root's, or holds neither line, is left."""
    config = path(settings, domain)
    own = _plugin_dir_line(layout.htdocs(settings, domain) + '/wp-content/plugins')
    kept = fs.keep_file(config)
    if kept is None or kept[2][0] != 0:
        return False
    text = kept[0].decode('utf-8', 'replace')
    earlier = _plugin_dir_line(settings.shared_content + '/plugins')
    if own in text:
        return True
    if text.count(earlier) != 1:
        return False
    fs.restore_file(config, (text.replace(earlier, own).encode('utf-8'), kept[1], kept[2]))
    phpfpm.forget_scripts(settings, [php_version], config)
    return True


def _plugin_dir_line(directory):
    return "define( 'WP_PLUGIN_DIR', {0} );".format(php_literal(directory))


def read(settings, config_file, domain, php_version, user=None):
    """What `config_file` defines, evaluated by PHP as `user` (default: the web user):
    {'constants': {name: PHP literal}, 'table_prefix': PHP literal}.

    The file is the site's own code, so what PHP prints is checked and every value is
    rebuilt here as a PHP literal: a constant whose name is not a PHP identifier or whose
    value is not plain (an object, text that is not UTF-8, a number that is not finite),
    ABSPATH (where the core is, ours to say), or a table prefix WordPress would not
    take, raises InvalidInput."""
    try:
        done = runner.run([phpfpm.cli(php_version), READER, config_file, domain],
                          user=user or settings.web_user)
        defined = json.loads(done.stdout.strip().splitlines()[-1])
    except (CommandFailed, ValueError, IndexError) as e:
        raise MTError('cannot read {0}: {1}'.format(config_file, getattr(e, 'message', e)),
                      'php -l {0} shows whether PHP can parse it'.format(config_file))
    return _checked(config_file, defined)


def _checked(config_file, defined):
    if not isinstance(defined, dict) or not isinstance(defined.get('constants'), dict):
        raise InvalidInput('{0} printed no definitions when read'.format(config_file))
    odd = [n for n in defined['constants'] if not _CONSTANT.match(n) or n == 'ABSPATH']
    odd += [str(n) for n in defined.get('unsupported') or []]
    if odd:
        raise InvalidInput('{0} defines constants that are not plain names or values: {1}'.format(
            config_file, ', '.join(repr(n) for n in odd)),
            'only constants with plain names and values (text, numbers, true/false, arrays of '
            'those) are carried over: change or remove them, then run the same command again')
    prefix = defined.get('table_prefix')
    if not isinstance(prefix, str) or not _TABLE_PREFIX.match(prefix):
        raise InvalidInput('{0} sets $table_prefix to {1!r}, which WordPress does not take'
                           .format(config_file, prefix), 'use letters, digits and _ only')
    try:
        constants = {name: php_literal(value) for name, value in defined['constants'].items()}
    except TypeError as e:
        raise InvalidInput('{0}: {1}'.format(config_file, e))
    return {'constants': constants, 'table_prefix': php_literal(prefix)}


def check_convertible(settings, domain, constants):
    """Refuse a configuration that moves content or plugins where the shared layout
    cannot follow (ours, from an interrupted conversion, passes)."""
    ours = shared_layout(settings, domain, os.path.join(settings.site_root(domain), 'htdocs'))
    foreign = [n for n in LAYOUT_CONSTANTS if n in constants and constants[n] != ours[n]]
    foreign += [n for n in FOREIGN_LAYOUT if n in constants]
    if foreign:
        raise InvalidInput('{0} moves WordPress files with {1} in wp-config.php'.format(
            domain, ', '.join(foreign)), 'a site with its own layout cannot share the core')


def write(settings, domain, constants, table_prefix, docroot, shared=True):
    """Write the site's wp-config.php: `constants` ({name: PHP literal}), then for a
    site on the shared core the shared layout's, ABSPATH and WordPress' start.
    A shared-core site's file is root's, readable by its PHP's group (www-data, or a
    sovereign site's own), 0640; a standalone one the web user's."""
    values = dict(constants)
    if shared:
        values.update(shared_layout(settings, domain, docroot))
    data = dict(domain=domain, shared=shared, table_prefix=table_prefix,
                constants=[{'name': n, 'value': v} for n, v in values.items()],
                abspath=php_literal(docroot + ('/wp/' if shared else '/')))
    text = pystache.Renderer(escape=lambda s: s).render(_template(), data)
    owner = ('root', pools.php_user(settings, domain)) if shared else \
        (settings.web_user, settings.web_user)
    fs.write_file(path(settings, domain), text, mode=0o640, owner=owner)


def with_new_secrets(constants, db_user, db_password):
    """`constants` ({name: PHP literal}) with database user `db_user`, its password
    `db_password` and fresh salts."""
    values = dict(_fresh_salts(), DB_USER=db_user, DB_PASSWORD=db_password)
    return dict(constants, **{name: php_literal(value) for name, value in values.items()})


def without_layout(constants):
    """A shared-core site's constants less those of the shared layout (for `revert`)."""
    return {n: v for n, v in constants.items()
            if n not in LAYOUT_CONSTANTS and n != 'WP_AUTO_UPDATE_CORE'}


def _fresh_salts():
    return {name: ''.join(secrets.choice(_SALT_ALPHABET) for _ in range(64))
            for name in SALT_NAMES}


def _template():
    with open(os.path.join(HERE, 'templates', 'site-wp-config.mustache'), encoding='utf-8') as f:
        return f.read()
