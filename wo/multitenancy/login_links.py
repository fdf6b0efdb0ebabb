"""One-time admin login links (`login`), and the events of their use that the sites
keep for root's audit trail.

Each site has a key of its own, derived from a secret only root reads
(<control_dir>/login-master.key): HMAC-SHA256(secret, "wo-multitenancy login key" NUL
domain NUL nonce), the nonce random in the registry, new when the site is registered and
when it changes isolation model (a shared site may have read the key before). It is
written to <site root>/login.key, root's, readable by the site's PHP group alone, as
its wp-config.php is: a sovereign site's key is its own; shared sites (www-data,
WordOps' model) can read each other's. The verifier is an MU-plugin of the shared set
(php/wo-login-links.php), which documents the token.
"""
import base64
import hashlib
import hmac
import ipaddress
import json
import os
import re
import secrets
import time

from wo.multitenancy import audit, fs, layout, mariadb, pools
from wo.multitenancy.errors import InvalidInput, MTError

PLUGIN = 'wo-login-links.php'
PLUGIN_SOURCE = os.path.join(os.path.dirname(__file__), 'php', PLUGIN)
CAP = 300  # seconds: the verifier refuses any link older than this
DEFAULT_TTL = 60
EVENT_PREFIX = '_wo_mt_login_event_'
COUNT_PREFIX = '_wo_mt_login_count_'
# The verifier's reasons (php/wo-login-links.php): UNSIGNED ones anyone can cause.
UNSIGNED = ('no key', 'malformed', 'bad signature')
REASONS = UNSIGNED + ('used', 'malformed claims', 'wrong purpose', 'wrong host', 'wrong origin',
                      'issued in the future', 'expired', 'unknown user', 'replayed',
                      'not recorded')
LOGIN = re.compile(r'^[A-Za-z0-9 _.@-]{1,60}\Z')  # what WordPress takes as a user login
_LINK_ID = re.compile(r'^[0-9a-f]{8}\Z')
_PATH = re.compile(r'^/(?!/)[^\\\s\x00-\x1f\x7f]{0,2000}\Z')


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
    layout.install_mu_plugin(settings, PLUGIN_SOURCE)


def install_key(settings, site):
    """The key of `site` (our row) in <site root>/login.key, written anew; the key."""
    domain, key = site['domain'], site_key(settings, site)
    fs.write_file(key_file(settings, domain), key.hex() + '\n', mode=0o640,
                  owner=('root', pools.php_user(settings, domain)))
    return key


def forget_key(settings, domain):
    """The site's key file goes (its nonce changed: the next `login` writes the new key)."""
    fs.remove(key_file(settings, domain))


def key_file(settings, domain):
    return os.path.join(settings.site_root(domain), 'login.key')


def site_key(settings, site):
    """The key of `site` (our row: its domain and login nonce)."""
    return hmac.new(_master_secret(settings), b'wo-multitenancy login key\0' +
                    site['domain'].encode() + b'\0' + (site['login_nonce'] or '').encode(),
                    hashlib.sha256).digest()


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


def collect_events(ctx, sites=None):
    """Move the events of the login links of `sites` (our rows; default every live one)
    into the audit trail: the uses and refusals each site kept, and its counts of
    refusals anyone could send (unsigned). What a site kept is its own word about its
    own links: read as data, checked field by field, filed under that site alone, and
    deleted only once it is in the trail. A site whose options cannot be read is
    reported and skipped."""
    for site in ctx.db.get_shared_sites() if sites is None else sites:
        if not site['db_name'] or site['state'] not in ('live', 'deleting'):
            continue
        try:
            kept = mariadb.read_options(ctx.ctl, site['db_name'], EVENT_PREFIX)
            counted = mariadb.read_options(ctx.ctl, site['db_name'], COUNT_PREFIX)
        except Exception as e:  # the driver's errors: one site's tables must not stop the rest
            ctx.report('could not read the login events of {0}: {1}'.format(site['domain'], e))
            continue
        events = [_event(site['domain'], value) for value in kept.values()]
        events += [_count(site['domain'], name[len(COUNT_PREFIX):], value)
                   for name, value in counted.items()]
        for event in events:
            if event:
                ctx.db.add_event(event)
        mariadb.delete_options(ctx.ctl, site['db_name'], list(kept) + list(counted))


def _event(domain, value):
    """The audit event of one use or refusal a site kept, or None for what is not one."""
    try:
        kept = json.loads(value)
    except ValueError:
        return None
    if not isinstance(kept, dict) or kept.get('result') not in ('ok', 'refused') or \
            kept.get('reason') not in REASONS:
        return None
    fields = [kept['reason']]
    if isinstance(kept.get('link'), str) and _LINK_ID.match(kept['link']):
        fields.append('link ' + kept['link'])
    if isinstance(kept.get('user'), str) and LOGIN.match(kept['user']):
        fields.append('user ' + kept['user'])
    return _site_event(domain, kept['result'], '; '.join(fields), _moment(kept.get('at')),
                       _address(kept.get('from')))


def _count(domain, reason, value):
    """The audit event of a site's count of one unsigned refusal, or None."""
    reason = reason.replace('_', ' ')
    if reason not in UNSIGNED or not value.isdigit():
        return None
    return _site_event(domain, 'refused', '{0}; {1} times'.format(reason, int(value)),
                       time.time(), None)


def _site_event(domain, result, detail, at, address):
    stamp = audit.stamp_of(at)
    return {'started_at': stamp, 'ended_at': stamp, 'command': 'login-use', 'result': result,
            'sites': json.dumps([domain]), 'detail': detail, 'arguments': json.dumps([]),
            'actor': 'visitor ' + address if address else 'visitors'}


def _moment(at):
    """When the site says it happened (a Unix time, to the microsecond), if that is
    within the last day; else now."""
    now = time.time()
    plausible = isinstance(at, (int, float)) and not isinstance(at, bool)
    return at if plausible and now - 86400 <= at <= now + 60 else now


def _address(text):
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


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
