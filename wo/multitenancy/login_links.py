"""One-time admin login links (`login`), and the events of their use that the sites
keep for root's audit trail.

Each site has a key of its own, derived from a secret only root reads
(<control_dir>/login-master.key): HMAC-SHA256(secret, "wo-multitenancy login key" NUL
domain). It is written to <site root>/login.key, root's, readable by the site's PHP
group alone, as its wp-config.php is: a sovereign site's key is its own; shared sites
(www-data, WordOps' model) can read each other's. The verifier is an MU-plugin of the
shared set (php/wo-login-links.php), which documents the token.
"""
import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import time

from wo.multitenancy import audit, fs, mariadb, pools
from wo.multitenancy.errors import InvalidInput, MTError

PLUGIN = 'wo-login-links.php'
PLUGIN_SOURCE = os.path.join(os.path.dirname(__file__), 'php', PLUGIN)
CAP = 300  # seconds: the verifier refuses any link older than this
DEFAULT_TTL = 60
EVENT_PREFIX = '_wo_mt_login_event_'
_PATH = re.compile(r'^/(?!/)[^\\\s\x00-\x1f\x7f]{0,2000}\Z')
_MAX_EVENT = 4096  # bytes: a longer value is not one of ours


def require_ttl(ttl):
    if not 1 <= ttl <= CAP:
        raise InvalidInput('--ttl {0} is not between 1 and {1} seconds'.format(ttl, CAP),
                           'a login link lives {0} s by default, {1} s at most'.format(
                               DEFAULT_TTL, CAP))


def require_path(redirect):
    """Refuse a --redirect that is not a path on the site itself."""
    if redirect is not None and not _PATH.match(redirect):
        raise InvalidInput('--redirect {0!r} is not a path on the site'.format(redirect),
                           'give a path such as /wp-admin/edit.php (no scheme, no host)')


def install_plugin(settings):
    with open(PLUGIN_SOURCE, encoding='utf-8') as f:
        fs.write_file(os.path.join(settings.shared_content, 'mu-plugins', PLUGIN), f.read())


def install_key(settings, domain):
    """The site's key in <site root>/login.key (written anew: the same bytes each time)."""
    fs.write_file(key_file(settings, domain), site_key(settings, domain).hex() + '\n',
                  mode=0o640, owner=('root', pools.php_user(settings, domain)))


def key_file(settings, domain):
    return os.path.join(settings.site_root(domain), 'login.key')


def site_key(settings, domain):
    return hmac.new(_master_secret(settings), b'wo-multitenancy login key\0' +
                    domain.encode(), hashlib.sha256).digest()


def token(key, claims):
    """<claims>.<signature>, base64url without padding, as the verifier takes it."""
    body = _b64(json.dumps(claims, separators=(',', ':'), sort_keys=True).encode())
    return body + '.' + _b64(hmac.new(key, b'wo-mt-login.' + body.encode(),
                                      hashlib.sha256).digest())


def claims(domain, user, ttl, redirect=None, clock=time.time, random=secrets.token_hex):
    """What a link for `user` on `domain` says: valid `ttl` seconds from now, once."""
    issued = int(clock())
    found = {'pur': 'login', 'aud': domain, 'sub': user, 'iat': issued, 'exp': issued + ttl,
             'jti': random(16)}
    if redirect:
        found['red'] = redirect
    return found


def url(domain, https, signed):
    """The link: the token in the fragment, which no browser sends to a server."""
    return '{0}://{1}/?wo-mt-login#{2}'.format('https' if https else 'http', domain, signed)


def collect_events(ctx):
    """Move the events of every site's login links (uses and refusals the sites kept)
    into the audit trail; how many. What a site kept is its own word about its own
    links: it is read as data, bounded, and filed under that site alone."""
    moved = 0
    for site in ctx.db.get_shared_sites():
        if not site['db_name'] or site['state'] != 'live':
            continue
        for value in mariadb.take_options(ctx.ctl, site['db_name'], EVENT_PREFIX):
            event = _event(site['domain'], value)
            if event:
                ctx.db.add_event(event)
                moved += 1
    return moved


def _event(domain, value):
    try:
        kept = json.loads(value) if len(value) <= _MAX_EVENT else None
    except ValueError:
        kept = None
    if not isinstance(kept, dict) or kept.get('result') not in ('ok', 'refused'):
        return None
    at = kept.get('at') if isinstance(kept.get('at'), int) else None
    stamp = audit.stamp_of(at) if at and abs(time.time() - at) < 400 * 86400 else \
        audit.stamp_of(time.time())
    detail = '; '.join('{0}{1}'.format(label, str(kept[k])[:64]) for k, label in (
        ('reason', ''), ('link', 'link '), ('user', 'user ')) if kept.get(k) is not None)
    return {'started_at': stamp, 'ended_at': stamp, 'command': 'login-use',
            'result': kept['result'], 'sites': json.dumps([domain]),
            'actor': 'visitor ' + str(kept.get('from'))[:64], 'detail': detail,
            'arguments': json.dumps([])}


def _master_secret(settings):
    """The secret every site key comes from, made once (root's alone; of two commands
    making it at once, the first one's stays)."""
    path = os.path.join(settings.control_dir, 'login-master.key')
    if not os.path.exists(path):
        try:
            fs.write_file(path, secrets.token_hex(32) + '\n', mode=0o600, exclusive=True)
        except MTError:  # another command made it meanwhile
            pass
    with open(path, encoding='ascii') as f:
        return bytes.fromhex(f.read().strip())


def _b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b'=').decode()
