"""The audit trail: one event per command that changes something (COMMANDS), in our
table of WordOps' database, which is root's alone (0600): no site can read or change it.

An event is written `started` before the command acts and closed with its result
before the command reports (each a committed SQLite transaction). One left `started` by
a process that is gone was killed: the next command closes it as `interrupted`.
What a command was given is kept without its secrets; a result is never kept whole
(create's holds the admin password), only the sites it names.
"""
import json
import os
import pwd
import re
import socket
import time
from datetime import datetime, timedelta, timezone

from dateutil import parser as dateparser

from wo.multitenancy import baseline, releases
from wo.multitenancy.errors import InvalidInput, MTError

COMMANDS = ('init', 'create', 'convert', 'revert', 'isolate', 'update', 'rollback',
            'baseline', 'delete', 'remove', 'verify', 'login', 'maintenance', 'backup',
            'restore', 'plugin_update', 'plugin_rollback', 'theme_update', 'theme_rollback')
# Commands that act on every site: their events name every site known when they began.
EVERY_SITE = ('init', 'update', 'rollback', 'baseline', 'remove', 'plugin_update',
              'plugin_rollback', 'theme_update', 'theme_rollback')
RESULTS = {0: 'ok', 1: 'failed', 2: 'refused', 3: 'unhealthy', 4: 'busy'}
NOT_OK = ('failed', 'refused', 'unhealthy', 'busy', 'interrupted')
_SECRET_OPTION = re.compile(r'^--[\w-]*(pass|secret|token|key)[\w-]*', re.I)
_URL_USERINFO = re.compile(r'(?<=://)[^/@\s]+@')
_RELATIVE = re.compile(r'^(\d+)([mhd])$')
_UNITS = {'m': 'minutes', 'h': 'hours', 'd': 'days'}


def begin(ctx, command, argv, domains):
    """Write the started event of `command` (given `argv`, naming `domains`) after
    closing those killed commands left; returns what close() needs, or None for a
    command that changes nothing."""
    close_interrupted(ctx.db)
    if command not in COMMANDS:
        return None
    if command in EVERY_SITE:
        domains = [s['domain'] for s in ctx.db.get_shared_sites()]
    actor, uid = who()
    pid = os.getpid()
    event = {'started_at': _stamp(now()), 'command': command, 'actor': actor, 'uid': uid,
             'arguments': json.dumps(without_secrets(argv)), 'pid': pid,
             'pid_start': _process_start(pid), 'sites': json.dumps(sorted(set(domains))),
             'result': 'started', 'state_before': json.dumps(server_state(ctx.settings))}
    return {'id': ctx.db.add_event(event), 'clock': time.monotonic(),
            'domains': set(domains), 'before': event['state_before']}


def _site_errors(result):
    """'<domain>: <error>; ...' of the sites a per-site result says failed or refused."""
    found = result.get('sites')
    return '; '.join('{0}: {1}'.format(r.get('domain'), r['error']) for r in found
                     if isinstance(r, dict) and r.get('error')) if isinstance(found, list) \
        else None


def close(ctx, started, exit_code, result=None, detail=None):
    """Close a started event (begin's answer; None: nothing) with `exit_code`, the
    sites `result` names and the error `detail` (or what the result says for the
    trail: its 'audit', or the errors of the sites it names)."""
    if started is None:  # not audited, or the command never began
        return
    if not detail and isinstance(result, dict):
        detail = result.get('audit') or _site_errors(result) or detail
    after = json.dumps(server_state(ctx.settings))
    ctx.db.close_event(started['id'], {
        'ended_at': _stamp(now()), 'exit_code': exit_code,
        'result': RESULTS.get(exit_code, 'interrupted'),
        'seconds': round(time.monotonic() - started['clock'], 3), 'detail': detail,
        'sites': json.dumps(sorted(started['domains'] | set(named_sites(result)))),
        'state_after': after if after != started['before'] else None})


def close_interrupted(db):
    """Close as `interrupted` every started event whose process is gone."""
    for event in db.events(results=['started']):
        if event['pid_start'] is not None and _process_start(event['pid']) != event['pid_start']:
            db.close_event(event['id'], {'result': 'interrupted', 'ended_at': _stamp(now()),
                                         'detail': 'the command was killed: its process '
                                                   'ended without closing its event'})


def named_sites(result):
    """The domains a command's result names: its own, or those of its 'sites' list."""
    if not isinstance(result, dict):
        return []
    listed = result['sites'] if isinstance(result.get('sites'), list) else [result]
    return [r['domain'] for r in listed if isinstance(r, dict) and isinstance(
        r.get('domain'), str)]


def without_secrets(argv):
    """`argv` with the value of any option named like a secret (--db-pass=…, --token …)
    and the user:password of any URL replaced by ***."""
    cleaned, hide_next = [], False
    for word in argv:
        if hide_next:
            cleaned.append('***')
            hide_next = False
            continue
        secret = _SECRET_OPTION.match(word)
        if secret and '=' in word:
            cleaned.append(word.split('=', 1)[0] + '=***')
        else:
            hide_next = bool(secret)
            cleaned.append(_URL_USERINFO.sub('***@', word))
    return cleaned


def who():
    """(name, uid) of whoever ran the command: the sudo user if any, else the login user
    (the process's user when there is no login, as from cron)."""
    if os.environ.get('SUDO_USER'):
        return os.environ['SUDO_USER'], int(os.environ.get('SUDO_UID', '-1'))
    try:
        name = os.getlogin()
    except OSError:
        name = pwd.getpwuid(os.getuid()).pw_name
    try:
        return name, pwd.getpwnam(name).pw_uid
    except KeyError:
        return name, os.getuid()


def server_state(settings):
    """What a command may change that the trail records before and after."""
    try:
        version = (baseline.read(settings) or {}).get('version')
    except MTError:  # not valid JSON: the command that needs it says so
        version = None
    return {'release': releases.current(settings), 'baseline': version}


def when(text, clock=None):
    """The UTC stamp of WHEN: a date, a time ('2026-12-01', '2026-12-01 14:00', in local
    time unless it names a zone) or an age ('30m', '2h', '7d' ago)."""
    moment = clock or now()
    relative = _RELATIVE.match(text.strip())
    try:
        if relative:
            return _stamp(moment - timedelta(**{_UNITS[relative.group(2)]: int(
                relative.group(1))}))
        parsed = dateparser.parse(text)
    except (ValueError, OverflowError) as e:
        raise InvalidInput('{0!r} is not a date, a time or an age: {1}'.format(text, e),
                           'for example 2026-12-01, "2026-12-01 14:00", 2h or 7d')
    return _stamp(parsed if parsed.tzinfo else parsed.astimezone())


def now():
    return datetime.now(timezone.utc)


def stamp_of(epoch):
    """The stamp of a Unix time."""
    return _stamp(datetime.fromtimestamp(epoch, timezone.utc))


def _stamp(moment):
    return moment.astimezone(timezone.utc).strftime('%Y-%m-%d %H:%M:%S.%f')


def _process_start(pid):
    """When process `pid` started (clock ticks after boot), or None when it is gone: a
    pid alone may be reused."""
    try:
        with open('/proc/{0}/stat'.format(pid), encoding='ascii', errors='replace') as f:
            return int(f.read().rsplit(')', 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def listing(db, site=None, since=None, until=None, failed=False):
    """The events asked for (`since`/`until`: WHEN texts), oldest first, as shown."""
    return [shown(e) for e in db.events(
        since=when(since) if since else None, until=when(until) if until else None,
        site=site, results=NOT_OK if failed else None)]


def shown(event):
    """An event with its JSON columns read."""
    return dict(event, **{k: json.loads(event[k]) if event[k] else None
                          for k in ('arguments', 'sites', 'state_before', 'state_after')})


def summary(db, day, keep_days):
    """What happened on `day` (a date, local time): counts by command and result, the
    sites anything failed on, refused logins by reason, failed verifications; `news`
    is whether any of those is not empty. Events older than `keep_days` are pruned."""
    start = datetime(day.year, day.month, day.day).astimezone()
    events = [shown(e) for e in db.events(since=_stamp(start),
                                          until=_stamp(start + timedelta(days=1)))]
    counts = {}
    for event in events:
        by_result = counts.setdefault(event['command'], {})
        by_result[event['result']] = by_result.get(event['result'], 0) + 1
    troubled = [e for e in events if e['result'] in NOT_OK]
    refused_logins = {}
    for event in troubled:
        if event['command'] == 'login-use':
            reason, times = _reason_and_times(event['detail'])
            refused_logins[reason] = refused_logins.get(reason, 0) + times
    pruned = db.prune_events(_stamp(now() - timedelta(days=keep_days)))
    return {'day': day.isoformat(), 'host': socket.gethostname(), 'events': len(events),
            'counts': counts,
            'failed_sites': sorted({d for e in troubled for d in e['sites'] or []}),
            'refused_logins': refused_logins,
            'failed_verifications': sorted({d for e in troubled if e['command'] == 'verify'
                                            for d in e['sites'] or []}),
            'news': bool(troubled), 'pruned': pruned}


def _reason_and_times(detail):
    """A login-use event's reason, and how many refusals it stands for ('…; 5 times')."""
    fields = (detail or '?').split('; ')
    times = [f[:-len(' times')] for f in fields[1:] if f.endswith(' times')]
    return fields[0], int(times[0]) if times and times[0].isdigit() else 1


def day_of(text, clock=None):
    """The date `--day` names (YYYY-MM-DD); default yesterday, the last whole day."""
    if text is None:
        return (clock or now()).astimezone().date() - timedelta(days=1)
    try:
        return datetime.strptime(text, '%Y-%m-%d').date()
    except ValueError:
        raise InvalidInput('--day {0!r} is not a date YYYY-MM-DD'.format(text),
                           'for example --day 2026-12-01')
