"""Checks of user input that need nothing but the input itself."""
import re

from wo.multitenancy.errors import InvalidInput
from wo.multitenancy.settings import CACHE_TYPES, ISOLATIONS

# A lookalike of "-" that keyboards and word processors produce: each one is the
# reason a flag or domain that "looks right" is refused.
DASHES = {'\u2014': 'an em dash (\u2014)', '\u2013': 'an en dash (\u2013)',
          '\u2012': 'a figure dash (\u2012)', '\u2212': 'a minus sign (\u2212)',
          '\u2010': 'a Unicode hyphen (\u2010)', '\u2011': 'a non-breaking hyphen (\u2011)'}

_LABEL = re.compile(r'^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\Z')
_EMAIL_LOCAL = re.compile(r"^[a-zA-Z0-9!#$%&'*+/=?^_`{|}~.-]+\Z")  # what WordPress' is_email() takes
_DNS_PROVIDER = re.compile(r'^dns_[a-z0-9_]+\Z')
_USER = re.compile(r'^[A-Za-z0-9._@-]{1,60}\Z')


def reject_lookalike_dashes(arg):
    """Refuse an argument that starts with or contains a dash lookalike."""
    for char, name in DASHES.items():
        if char in arg:
            fixed = '--' + arg.lstrip(''.join(DASHES)) if arg[0] in DASHES else arg.replace(char, '-')
            raise InvalidInput('{0!r} contains {1}, not a hyphen'.format(arg, name),
                               'type it with plain hyphens: {0}'.format(fixed))


def parsable(args):
    """Refuse (InvalidInput) the arguments argparse would only call "unknown args": a
    flag typed with a dash lookalike (—le), or a domain starting with a hyphen."""
    for arg in args:
        if arg[:1] in DASHES:
            reject_lookalike_dashes(arg)
        elif arg.startswith('-') and not arg.startswith('--') and '.' in arg:
            domain(arg)


def domain(name):
    """Return `name` if it is a valid lower-case domain for a new site, else raise InvalidInput."""
    reject_lookalike_dashes(name)
    hint = 'give a bare domain such as example.com (lower case, no scheme, path or port)'
    if '/' in name or ':' in name:
        raise InvalidInput('{0!r} is not a bare domain: it contains a scheme, path or port'
                           .format(name), hint)
    if name != name.lower():
        raise InvalidInput('{0!r} has upper-case letters'.format(name),
                           'use {0}'.format(name.lower()))
    if len(name) > 253 or '.' not in name:
        raise InvalidInput('{0!r} is not a domain name'.format(name), hint)
    if name.startswith('www.'):
        raise InvalidInput('{0!r} starts with www.; the site answers for www. itself'
                           .format(name), 'use {0}'.format(name[4:]))
    for label in name.split('.'):
        if not label:
            raise InvalidInput('{0!r} has an empty label (two dots in a row, or a dot at'
                               ' either end)'.format(name), hint)
        if not _LABEL.match(label):
            raise InvalidInput('{0!r}: the label {1!r} may use only a-z, 0-9 and inner'
                               ' hyphens (no underscore, no leading or trailing hyphen)'
                               .format(name, label), hint)
    return name


def email(address):
    """Return `address` if WordPress would take it as an e-mail address, else raise."""
    local, _, host = (address or '').rpartition('@')
    labels = host.lower().split('.')
    if not (_EMAIL_LOCAL.match(local) and len(labels) > 1 and all(_LABEL.match(l) for l in labels)):
        raise InvalidInput('{0!r} is not an e-mail address'.format(address),
                           'pass --admin-email=you@example.com or set admin_email')
    return address


def dns_provider(name):
    """An acme.sh DNS API name such as dns_cf (it reaches a shell inside WordOps)."""
    if not _DNS_PROVIDER.match(name):
        raise InvalidInput('--dns={0!r} is not an acme.sh DNS API name'.format(name),
                           'use a name such as dns_cf or dns_ovh')
    return name


def admin_user(name):
    if not _USER.match(name or ''):
        raise InvalidInput('{0!r} is not a usable WordPress user name'.format(name),
                           'use letters, digits and . _ @ - (at most 60)')
    return name


def domains_or_all(domains, every, verb, example):
    """Refuse a command given neither domains nor --all (`every`), or both; `example`:
    the command given domains, for the hint."""
    if bool(domains) == every:
        raise InvalidInput('give the domains to {0}, or --all'.format(verb),
                           '{0}, or wo multitenancy {1} --all'.format(example, verb))


def one_domain(domains, example):
    """The one domain of `domains` (a command's positional arguments); refuses none or
    several, with `example` of the command's use as the hint."""
    if len(domains) != 1:
        raise InvalidInput('give exactly one domain (got {0})'.format(' '.join(domains) or 'none'),
                           'wo multitenancy ' + example)
    return domains[0]


def one_cache(flags, default):
    """The one cache type chosen among `flags` (names that were set), or `default`."""
    chosen = [f for f in flags if f in CACHE_TYPES]
    if len(chosen) > 1:
        raise InvalidInput('choose one cache type, not {0}'.format(
            ' and '.join('--' + f for f in chosen)))
    return chosen[0] if chosen else default


def one_php(flags, default):
    """The one PHP version ('8.2') chosen among flags such as 'php82', or `default`."""
    chosen = [f for f in flags if re.match(r'^php\d\d$', f)]
    if len(chosen) > 1:
        raise InvalidInput('choose one PHP version, not {0}'.format(
            ' and '.join('--' + f for f in chosen)))
    if not chosen:
        return default
    digits = chosen[0][3:]
    return '{0}.{1}'.format(digits[0], digits[1])


def isolation(model):
    """`model` if it is an isolation model (settings.ISOLATIONS), else InvalidInput."""
    if model not in ISOLATIONS:
        raise InvalidInput('--isolation {0!r} is not one of {1}'.format(
            model, ', '.join(ISOLATIONS)))
    return model
