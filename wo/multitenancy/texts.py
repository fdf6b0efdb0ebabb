"""What each command's result looks like as text for a person (`--json` prints the
result itself). Pure functions: the controller prints what they return."""
import re
import time

from wo.multitenancy import baseline, shared_items

_CONTROL = re.compile(r'[\x00-\x1f\x7f]')


def printable(text):
    """`text` (which may hold what a site said) with no line or terminal escape of its
    own: each control character is a `?`."""
    return _CONTROL.sub('?', text)


def init_text(result):
    if not result['changed']:
        return result['message']
    return '\n'.join(['Shared core ready: {release} (WordPress {wp_version})'.format(**result)]
                     + ['Note: ' + note for note in result['notes']])


def switch_text(result, verb):
    """An update's or rollback's result (`verb`: Updated, Rolled back)."""
    if not result['changed']:
        return 'Already on {release} (WordPress {wp_version}): nothing to do.'.format(**result)
    return '{0} {1} site(s) to {2} (WordPress {3}); previous release {4} is kept.{5}'.format(
        verb, result['sites'], result['release'], result['wp_version'], result['previous'],
        '\n' + result['note'] if 'note' in result else '')


def update_text(result):
    """update's result: the core's line, then a line for each shared plugin and theme
    that moved or failed."""
    lines = [switch_text(result, 'Updated')] if 'release' in result else []
    for kind in ('plugins', 'themes'):
        moved = [i for i in result.get(kind, []) if i['changed'] or i.get('error')]
        if moved:
            lines += [kind[:-1] + ' ' + line for line in
                      item_switch_text({'items': moved}, 'Updated').splitlines()]
        lines += ['{0} {1}: not updated, {2}'.format(kind[:-1], slug, why)
                  for slug, why in sorted(result.get('not_updated_' + kind, {}).items())]
    if 'themes' in result and not (result['plugins'] or result['themes']):
        lines.append('Shared plugins and themes: nothing newer on wordpress.org to update to.')
    return '\n'.join(lines)


def item_switch_text(result, verb):
    """A plugin|theme update's or rollback's result, one line per plugin or theme."""
    lines = []
    for item in result.get('items', [result]):
        if item.get('error'):
            lines.append('{0}: {1}{2}'.format(item['slug'], 'switched to {0}, then: '.format(
                item['switched']) if item['switched'] else 'not switched: ', item['error']))
            continue
        if not item['changed']:
            lines.append('{slug}: already on {version}, nothing to do.'.format(**item))
            continue
        lines.append('{0} {1} to {2} (was {3}) on every site; {4} site(s) use it{5}.'.format(
            verb, item['slug'], item['version'], item['previous'], len(item['sites_using']),
            ', proven on ' + item['canary'] if item.get('canary') else ', no canary'))
    return '\n'.join(lines)


def items_text(listing):
    """plugin|theme list: one line per plugin or theme of the shared set."""
    row = '{0:<28} {1:<12} {2:<10} {3:<24} {4}'
    lines = [row.format(listing['kind'].upper(), 'IN USE', 'PINNED', 'KEPT', 'SITES')]
    for item in listing['items']:
        lines.append(row.format(
            item['slug'], item['version'] or '?', item['pinned'] or '-',
            ', '.join(item['kept']) or '(not versioned yet)', ', '.join(item['sites']) or '-'))
    if listing['unknown']:
        lines.append('Could not tell for: ' + ', '.join(listing['unknown']))
    return '\n'.join(lines)


def login_text(result):
    return ('Site ready: {url}\n  Admin: {admin_url}  user {admin_user}  password '
            '{admin_password}\n  (the password is shown once and not logged)'.format(**result))


def login_link_text(result):
    return ('Login link for {user} on {domain}, valid once until {expires_at} ({ttl} s):\n'
            '{url}'.format(**result))


def removal_text(plan):
    lines = ['This removes {0} and {1} site(s): {2}'.format(
        plan['shared_root'], len(plan['sites']), ', '.join(plan['sites']) or 'none')]
    if plan['backups']:
        lines.append('and the backups convert took: {0}'.format(', '.join(plan['backups'])))
    return '\n'.join(lines)


def removed_text(plan):
    return 'Removed {0} and {1} site(s).'.format(plan['shared_root'], len(plan['sites']))


def per_site_text(results):
    """A line per site of convert or isolate, then the count of each status."""
    lines = []
    for r in results:
        if r['status'] == 'isolated':
            lines.append('isolated   {domain}  ({isolation}{0})'.format(
                ': its PHP runs as ' + r['system_user'] if r['system_user'] else '', **r))
            lines += ['           Note: ' + r['note']] if 'note' in r else []
            lines += ['           Note: no longer works, its definer gone with the old '
                      'database account: {0} -- recreate it with another DEFINER, or drop '
                      'it'.format(printable(thing)) for thing in r.get('orphaned', ())]
            lines += ['           Note: not handed over: ' + printable(thing)
                      for thing in r.get('left_alone', ())]
        elif r['status'] == 'converted':
            lines.append('converted  {domain}  ({0:.2f} MB of its own besides uploads; backup '
                         '{backup})'.format(r['own_disk_bytes'] / 1e6, **r))
        elif r['status'] == 'planned':
            lines.append('plan       {0}'.format(plan_text(r)))
        elif r['status'] == 'unchanged':
            lines.append('unchanged  {domain}  ({note})'.format(**r))
        else:
            lines.append(printable('{status:10} {domain}: {error}{0}'.format(
                ' -- ' + r['hint'] if r['hint'] else '', **r)))
    counts = {}
    for r in results:
        counts[r['status']] = counts.get(r['status'], 0) + 1
    lines.append('{0} site(s): {1}'.format(len(results), ', '.join(
        '{0} {1}'.format(n, status) for status, n in sorted(counts.items())) or 'nothing to do'))
    return '\n'.join(lines)


def plan_text(plan):
    if 'note' in plan:
        return '{domain}: {note}'.format(**plan)
    return ('{domain}: back up to {backup_to}, WordPress {wp_version} -> {release_wp_version} '
            '({release}), keep uploads, database, theme and {0} setting(s) of wp-config.php{1}'
            .format(len(plan['settings_kept']), '; add to the shared set: ' +
                    ', '.join(plan['add_to_shared']) if plan['add_to_shared'] else '', **plan))


def list_text(sites):
    lines = ['{domain:40} php {php:4} {cache:8} {release}{0}'.format(
        '' if s['state'] == 'live' else '  ({0})'.format(s['state']), **s) for s in sites]
    return '\n'.join(lines) if lines else 'No sites on the shared core yet.'


def status_text(report):
    lines = ['Current release: {release} (WordPress {wp_version})'.format(**report),
             'Shared root uses {0:.1f} MB; baseline version {1}'.format(
                 report['shared_disk_bytes'] / 1e6, report['baseline_version']), 'Releases:']
    for r in report['releases']:
        lines.append('  {0} {1:24} WordPress {2:8} {3:.1f} MB'.format(
            '*' if r['current'] else ' ', r['release'], r['wp_version'], r['disk_bytes'] / 1e6))
    lines.append('Sites:' if report['sites'] else 'Sites: none')
    for s in report['sites']:
        lines.append('  {0:40} {1:9} {2} ({3:.0f} KB own files){4}'.format(
            s['domain'], 'ok' if s['ok'] else 'UNHEALTHY',
            s['problem'] or 'WordPress {0}'.format(s['version']), s['own_disk_bytes'] / 1e3,
            ', in maintenance' if s['maintenance'] else ''))
    return '\n'.join(lines)


def maintenance_text(results):
    return '\n'.join('{0:10} {1}  ({2})'.format(r['status'], r['domain'], 'in maintenance'
                                                 if r['maintenance'] else 'open to visitors')
                     for r in results) or 'no sites'


def cron_text(report):
    beat = report['system_cron']
    lines = ['System cron: {0}'.format(
        'runs the sites\' WP-Cron events (last run {0})'.format(_utc(beat['last_run']))
        if beat['running'] else 'not running: page views run each site\'s WP-Cron'
        + (' (last run {0})'.format(_utc(beat['last_run'])) if beat['last_run'] else ''))]
    for s in report['sites']:
        event, run = s['next_event'], s['last_run']
        lines.append(printable('  {0:40} second {1:2}  next: {2}  last run: {3}'.format(
            s['domain'], s['splay_second'], _event_text(event),
            'none' if not run else '{at} UTC, {ran} event(s){0}'.format(
                '' if run['ok'] else ', FAILED: ' + (run['error'] or ''), **run))))
    return '\n'.join(lines)


def _event_text(event):
    if event is None:
        return 'none'
    if event['at'] is None:
        return 'not readable (each run runs it)'
    return '{0} ({1})'.format(_utc(event['at']), event['hook'])


def cron_run_text(outcome):
    """Nothing unless a site's run failed: cron mails what a command prints."""
    return '\n'.join(printable('FAILED {0}: {1}'.format(domain, r['error']))
                     for domain, r in sorted(outcome['sites'].items()) if not r['ok'])


def _utc(epoch):
    return time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime(epoch))


def backup_text(outcome):
    lines = ['{domain:40} snapshot {snapshot}  {0:.1f} MB added  {seconds:.1f} s{1}'.format(
        r['added_bytes'] / 1e6, '  ({0} forgotten)'.format(len(r['forgotten']))
        if 'forgotten' in r else '', **r) for r in outcome['sites']]
    if outcome['repository_bytes'] is not None:
        lines.append('The repository stores {0:.1f} MB.'.format(outcome['repository_bytes'] / 1e6))
    return '\n'.join(lines)


def snapshots_text(found):
    return '\n'.join(['{0}:'.format(found['domain'])] + ([
        '  {short_id}  {time}'.format(**s) for s in found['snapshots']] or ['  none']))


def restore_text(result):
    versions = 'it ran WordPress {0} then and runs {1} now'.format(
        result['ran']['wp_version'], result['runs']['wp_version'])
    if result.get('copy_of'):
        return ('{domain} is a copy of {copy_of} at snapshot {snapshot} ({taken_at}); {0}.\n'
                '  {url}\n  wo multitenancy login {domain} logs you in; wo multitenancy '
                'delete {domain} removes it.'.format(versions, **result))
    return '{domain} is back to snapshot {snapshot} ({taken_at}); {0}.'.format(versions, **result)


def baseline_text(current):
    pins = ['{0} {1}'.format(slug, version) for kind in shared_items.KINDS
            for slug, version in sorted(baseline.pins(current, kind).items())]
    reach = ['  {kind} {slug} is at {0}: the next update brings every site to {pinned}'.format(
        p['in_use'] or 'a version it does not name', **p) for p in current.get('pins_to_reach', [])]
    return '\n'.join(['Baseline version {version}\n  theme:   {theme}\n  plugins: {0}\n  '
                      'auto-activate: {1}\n  pinned:  {2}'.format(
                          ', '.join(current['plugins']) or 'none',
                          'yes' if current['auto_activate'] else 'no',
                          ', '.join(pins) or 'none (all follow wordpress.org)', **current)] + reach)


def verification_text(reports):
    """Per site, a line per check: pass or FAIL, what was found (with what the site
    itself said, whose control characters are shown as ?, so it cannot print lines of
    its own), and what to do."""
    lines = []
    for report in reports:
        lines.append('{0}: {1}'.format(report['domain'], 'verified' if report['ok'] else 'FAILED'))
        for c in report['checks']:
            lines.append('  {0:4} {1:17} {2}'.format('pass' if c['ok'] else 'FAIL', c['check'],
                                                     printable(c['detail'])))
            if c['hint']:
                lines.append('       {0:17} -> {1}'.format('', c['hint']))
    return '\n'.join(lines)


def info_text(record):
    """The registry's record of a site, then its last verification."""
    lines = ['{0:17} {1}'.format(name, record[name]) for name in (
        'domain', 'state', 'state_at', 'isolation', 'system_user', 'socket', 'site_root', 'php',
        'cache', 'ssl', 'release', 'baseline_version', 'db_name', 'db_user', 'db_host',
        'db_grant_host', 'created_at')]
    if record['moving_to']:
        lines.insert(4, '{0:17} {1} (a stopped isolate: wo multitenancy isolate {2} finishes '
                        'it)'.format('moving_to', record['moving_to'], record['domain']))
    last = record['last_verification']
    lines.append('{0:17} {1}'.format('verified', 'never (wo multitenancy verify {0})'.format(
        record['domain']) if not last else '{0} at {1}'.format(
        'passed' if last['ok'] else 'FAILED', record['verified_at'])))
    if last:
        lines += verification_text([last]).splitlines()[1:]
    return '\n'.join(lines)


def audit_text(result):
    """The audit trail's events, one line each: when, who, command, result, sites."""
    if not result['events']:
        return 'No events.'
    return '\n'.join(printable('{0}  {1:<10} {2:<10} {3:<11} {4}{5}'.format(
        e['started_at'][:19], e['actor'] or '?', e['command'], e['result'] + (
            ' ({0})'.format(e['exit_code']) if e['exit_code'] not in (0, None) else ''),
        ', '.join(e['sites'] or []) or '-', ' -- ' + e['detail'] if e['detail'] else ''))
        for e in result['events'])


def summary_subject(report):
    return 'wo multitenancy on {0}, {1}: {2}'.format(report['host'], report['day'], ', '.join(
        '{0} {1}'.format(n, name) for name, n in (
            ('site(s) failed', len(report['failed_sites'])),
            ('refused login(s)', sum(report['refused_logins'].values())),
            ('failed verification(s)', len(report['failed_verifications']))) if n)
        or 'news')


def summary_text(report):
    """A day's summary; empty on a day without news (so that cron mails nothing)."""
    if not report['news']:
        return ''
    lines = ['{0} event(s) on {1}:'.format(report['events'], report['day'])]
    lines += ['  {0}: {1}'.format(command, ', '.join(
        '{0} {1}'.format(n, result) for result, n in sorted(results.items())))
        for command, results in sorted(report['counts'].items())]
    for title, items in (('Sites that failed something', report['failed_sites']),
                         ('Failed verifications', report['failed_verifications'])):
        if items:
            lines.append('{0}: {1}'.format(title, ', '.join(items)))
    if report['refused_logins']:
        lines.append('Refused logins: ' + ', '.join('{0} {1}'.format(n, printable(
            reason)) for reason, n in sorted(report['refused_logins'].items())))
    return '\n'.join(lines)
