"""WP-Cron run by the system: one cron line (/etc/cron.d/wo-multitenancy-wp-cron, the
installer's) runs `wo multitenancy cron --run` every minute, which runs the due events of
every live site on the shared core, as the site's own PHP user with its pool's settings
(wordpress.task 'cron'), one site after another, each at its own second of the minute
(the splay), so that sites due together do not start together.

Visitors then no longer run them: the MU-plugin php/wo-system-cron.php defines
DISABLE_WP_CRON while the heartbeat file (touched by every run) is fresh. When the system
cron stops, the heartbeat goes stale and the sites run WP-Cron themselves again.

Whether a site is due is read by root from its database (the first key of its `cron`
option, which WordPress keeps sorted): no PHP starts for a site with nothing due. A run
that finds the last one still going stops at once (one lock); a site's job holds the
site's own lock (lock.site_job), which delete respects.
"""
import hashlib
import os
import re
import time

from wo.multitenancy import fs, layout, lock, mariadb, verification, wordpress
from wo.multitenancy.errors import Busy, MTError

SPLAY_SECONDS = 30  # sites start within the first half of the minute
JOB_SECONDS = 120  # what one site's due events may take
HEARTBEAT_STALE = 600  # seconds without a run before the sites take WP-Cron back (the MU-plugin's)
PLUGIN = 'wo-system-cron.php'
PLUGIN_SOURCE = os.path.join(os.path.dirname(__file__), 'php', PLUGIN)
# The start of WordPress' serialized cron array: its first (earliest) time and hook; or
# an array with no event, only its version.
_FIRST_EVENT = re.compile(r'a:\d+:\{i:(\d{1,12});a:\d+:\{s:\d+:"([^"]{1,191})";')
_NO_EVENT = re.compile(r'a:1:\{s:7:"version";i:\d+;\}\Z')


def heartbeat_file(settings):
    return os.path.join(settings.shared_root, 'config', 'cron-heartbeat')


def splay(domain):
    """The second of the minute a site's events start at (the same every minute)."""
    return int(hashlib.sha256(domain.encode()).hexdigest()[:8], 16) % SPLAY_SECONDS


def next_event(ctl, site):
    """{'at': time, 'hook'} of the site's (our row) earliest WP-Cron event; None when it
    has none (or no cron option); {'at': None, 'hook': None} when that cannot be read (no
    database known, an options table we do not read, an error): then it is run, and its
    WordPress tells."""
    unknown = {'at': None, 'hook': None}
    if not site['db_name']:
        return unknown
    try:
        value = mariadb.option_start(ctl, site['db_name'], 'cron', 256)
    except Exception:  # the site's database is the site's: any error of it is its own
        return unknown
    if value is None:  # no cron option: WordPress has scheduled nothing
        return None
    found = _FIRST_EVENT.match(value)
    if found:
        return {'at': int(found.group(1)), 'hook': found.group(2)}
    return None if _NO_EVENT.match(value) else unknown


def is_due(event, now):
    return event is not None and (event['at'] is None or event['at'] <= now)


def heartbeat(settings):
    """{'running': whether the sites leave WP-Cron to the system cron now (the MU-plugin's
    test), 'last_run': when it last ran (epoch seconds) or None}."""
    try:
        at = int(os.stat(heartbeat_file(settings)).st_mtime)
    except FileNotFoundError:
        return {'running': False, 'last_run': None}
    return {'running': time.time() - at < HEARTBEAT_STALE, 'last_run': at}


def run_due(ctx, sites, clock=time.time, sleep=time.sleep):
    """Run the due events of each of `sites` (our rows) at its splay second; {domain:
    its job's report} of the sites that had any. Raises Busy when the last run still
    runs."""
    with lock.exclusive(os.path.join(ctx.settings.control_dir, 'cron.lock'),
                        'the last run of the system cron'):
        install(ctx.settings)
        started = clock()
        reports = {}
        for site in sorted(sites, key=lambda s: splay(s['domain'])):
            sleep(max(0.0, started + splay(site['domain']) - clock()))
            if is_due(next_event(ctx.ctl, site), clock()):
                beat(ctx.settings)  # a long run does not hand WP-Cron back to the sites
                reports[site['domain']] = run_site(ctx, site)
        return reports


def run_site(ctx, site):
    """One site's due events, under its job lock: {'at', 'ok', 'ran', 'left', 'seconds',
    'error'}, also kept in the registry. A site whose job runs already is left to it;
    one no longer live once the lock is held (a delete went first) is left alone."""
    domain, began = site['domain'], time.time()
    report = {'at': time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(began)), 'ok': False,
              'ran': 0, 'left': None, 'error': None}
    try:
        with lock.site_job(ctx.settings, domain):
            now = ctx.db.get_site(domain)
            if not now or now['state'] != 'live':
                return dict(report, ok=True, error='no longer live')
            done = verification.shaped(wordpress.task(
                ctx.settings, domain, now['php_version'], 'cron', timeout=JOB_SECONDS),
                verification.CRON_SIDE)
            report.update(ok=True, ran=done['due_before'], left=done['due_after'])
    except Busy:
        return dict(report, ok=True, error='its job was running already')
    except MTError as e:
        report['error'] = e.message
    except Exception as e:  # one site never stops the others' run
        report['error'] = 'unexpected {0}: {1}'.format(type(e).__name__, e)
    report['seconds'] = round(time.time() - began, 2)
    try:
        ctx.db.record_cron(domain, report)
    except Exception as e:  # WordOps' database busy: the run goes on, the next records
        report['error'] = (report['error'] or '') + ' (not recorded: {0})'.format(e)
    return report


def install(settings):
    """The MU-plugin in the shared set, and a fresh heartbeat for it (beat)."""
    layout.install_mu_plugin(settings, PLUGIN_SOURCE)
    beat(settings)


def beat(settings):
    fs.write_file(heartbeat_file(settings), '{0}\n'.format(int(time.time())))
