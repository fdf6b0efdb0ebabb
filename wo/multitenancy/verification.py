"""Verifying a site on the shared core: named checks, each passed or failed with what
it found and what to do about it.

The database checks compare what MariaDB holds (read as root: the site cannot change
it) with the registry -- the host its user was created at -- and then use the site's
own connection (its DB_HOST, user and password, through WordPress) for the rest: who
MariaDB takes it for, a write/read/drop round trip, its tables and administrators.
WordOps' setupdatabase ignores a failed GRANT; these checks are what catch it. Then
its files and options (nothing outside its root and the shared core), a sovereign
site's isolation (isolation.py), its WP-Cron queue (run and emptied), and an HTTP probe.

What the site's PHP reports is the site's own word: a compromised site can make its
own checks pass, never another site's, and never the ones root reads itself (its
accounts and grants in MariaDB, its files, the probe).
"""
import os
import re
import stat

from wo.multitenancy import fleet, isolation, layout, mariadb, pools, site_files, wordpress
from wo.multitenancy.errors import MTError

CRON_SECONDS = 120  # what a site's due WP-Cron events may take in a verification
REPORT_SECONDS = 60  # what the site's WordPress may take to report on itself
MAX_ENTRIES = 1000000  # entries of a document root (uploads included) walked at most
# What php/wp-runner.php's verify and cron print: key -> type.
SITE_SIDE = {'current_user': str, 'round_trip': bool, 'round_trip_error': str,
             'missing_tables': list, 'db_version': int, 'core_db_version': int,
             'administrators': int, 'paths': dict}
CRON_SIDE = {'due_before': int, 'due_after': int}

_GRANT = re.compile(r'^GRANT (?P<privileges>.+?) ON '
                    r'(?:PROCEDURE |FUNCTION |PACKAGE BODY |PACKAGE )?(?P<target>\S+) TO ')


def verify(ctx, site, database):
    """Every check of one site on the shared core (our row `site`; `database`: its
    db_name, db_user, db_grant_host, or None when not known):
    {'domain', 'ok', 'checks': [{'check', 'ok', 'detail', 'hint'}]}."""
    settings, domain, php_version = ctx.settings, site['domain'], site['php_version']
    seen = site_side(settings, domain, php_version)
    if database:
        checks = database_checks(ctx.ctl, database, seen)
    else:  # recorded before the registry held it, and wo site delete removed WordOps' row
        checks = [_check(name, ['its database is not known'], '',
                         'wo multitenancy delete {0} removes what is left'.format(domain))
                  for name in ('database_writer', 'host_binding', 'schema_and_users')]
    checks.append(no_legacy_paths(settings, domain, seen))
    checks += isolation_checks(ctx, site)
    checks += [jobs_drain(settings, domain, php_version), serves(site)]
    return {'domain': domain, 'ok': all(c['ok'] for c in checks), 'checks': checks}


def require_before_routing(ctx, domain, php_version, db, installed):
    """Raise MTError naming each check of a new site that failed: its database
    account and connection; once WordPress is `installed`, its schema too, and a
    sovereign site's isolation."""
    seen = site_side(ctx.settings, domain, php_version)
    checks = database_checks(ctx.ctl, db, seen)
    checks = checks + isolation_checks(ctx, ctx.db.get_site(domain)) if installed else \
        checks[:2]
    require_passed({'domain': domain, 'checks': checks})


def gate(ctx, site, database, undone=''):
    """`verify` on a site a command just changed, before the change is recorded: its
    report, or MTError naming each failed check, the hint after `undone` (what the
    command's undo does, when the command does not say it itself)."""
    ctx.report('Verifying ' + site['domain'])
    report = verify(ctx, site, database)
    require_passed(report, undone)
    return report


def require_passed(report, before_hint=''):
    """Raise MTError naming each check of `report` (verify's) that failed, with the
    first one's hint after `before_hint`."""
    failed = [c for c in report['checks'] if not c['ok']]
    if failed:
        raise MTError('{0} failed verification: {1}'.format(report['domain'], '; '.join(
            '{check}: {detail}'.format(**c) for c in failed)), before_hint + failed[0]['hint'])


def not_verified(domain, problem):
    """The report of a site whose checks could not run (`problem`: why)."""
    return {'domain': domain, 'ok': False, 'checks': [_check(
        'verification', [problem], '', 'run wo multitenancy verify {0} again'.format(domain))]}


def isolation_checks(ctx, site):
    """[check 5] of a sovereign site (our row `site`), or of one whose move between the
    models stopped part-way (failed); [] for a shared one."""
    stopped = site.get('move')  # a row being made has none
    if stopped:
        return [_check('isolation', ['a move to the {0} model stopped part-way'.format(
            stopped['to'])], '', 'wo multitenancy isolate {0} finishes it'.format(
                site['domain']))]
    if not pools.sovereign(ctx.settings, site['domain']):
        return []
    others = [s['domain'] for s in ctx.db.get_shared_sites() if s['domain'] != site['domain']]
    return [isolation.check(ctx.settings, site, others)]


def site_side(settings, domain, php_version):
    """What the site's own WordPress reports (php/wp-runner.php's verify), or {'error'}
    when it did not: it could not connect to its database, or its code died."""
    try:
        return shaped(wordpress.task(settings, domain, php_version, 'verify',
                                      timeout=REPORT_SECONDS), SITE_SIDE)
    except MTError as e:
        return {'error': e.message}


def database_checks(ctl, db, seen):
    """database_writer, host_binding, schema_and_users for the site whose database is
    `db` (db_name, db_user, db_grant_host: the host its user was created at); `seen`:
    site_side()."""
    grant_host = db['db_grant_host']
    return [database_writer(ctl, db['db_name'], db['db_user'], grant_host, seen),
            host_binding(db['db_user'], grant_host, seen),
            schema_and_users(seen)]


def database_writer(ctl, db_name, db_user, grant_host, seen):
    """The user exists at exactly `grant_host`, no anonymous account can shadow it, its
    grants are WordOps' set on its own database alone, and the site can write, read and
    drop a table."""
    problems = []
    hosts = mariadb.account_hosts(ctl, db_user)
    if hosts != [grant_host]:
        problems.append('{0} has accounts at {1}; the registry has {2} only'.format(
            db_user, ', '.join(repr(h) for h in hosts) or 'no host', repr(grant_host)))
    anonymous = mariadb.account_hosts(ctl, '')
    if anonymous:
        problems.append('anonymous accounts at {0} can stand in for it'.format(
            ', '.join(repr(h) for h in anonymous)))
    if grant_host in hosts:
        problems += grant_problems(mariadb.grants(ctl, db_user, grant_host), db_name)
    others = mariadb.other_grantees(ctl, db_name, db_user)
    if others:  # a stopped isolate leaves the account it replaced
        problems.append('other accounts have grants on {0}: {1}'.format(db_name, ', '.join(
            others)))
    problems += public_problems(mariadb.public_grants(ctl))
    if 'error' in seen:
        problems.append('its WordPress could not report: ' + seen['error'])
    elif not seen['round_trip']:
        problems.append('the site cannot write, read and drop a table: ' +
                        (seen['round_trip_error'] or 'no error given'))
    return _check('database_writer', problems, '{0}@{1} writes {2}'.format(
        db_user, grant_host, db_name),
        'give {0}@{1} WordOps\' grants on `{2}`.* alone (as wo site create does), drop '
        'its other accounts, any anonymous one and any other account with grants on `{2}`, '
        'then verify again'.format(
            db_user, grant_host, db_name))


def grant_problems(statements, db_name):
    """What in SHOW GRANTS `statements` is not WordOps' set on `db_name`.* alone (the
    routines the site made in it may carry their own EXECUTE, ALTER ROUTINE)."""
    problems, own = [], False
    schemas = ('`{0}`.'.format(db_name), '`{0}`.'.format(db_name.replace('_', '\\_')))
    for statement in statements:
        found = _GRANT.match(statement)
        if not found:
            if statement.startswith('GRANT '):  # a role: its privileges are the account's
                problems.append('a role: ' + statement.split(' TO ')[0][len('GRANT '):])
            continue  # SET DEFAULT ROLE names the role granted above
        privileges = {p.strip().upper() for p in found['privileges'].split(',')}
        target = found['target']
        if 'WITH GRANT OPTION' in statement.upper():
            problems.append('it may grant privileges on ' + target)
        if target == '*.*':
            if privileges != {'USAGE'}:
                problems.append('global privileges: ' + ', '.join(sorted(privileges)))
        elif target in (schema + '*' for schema in schemas):
            own = True
            problems += _own_database_problems(target, privileges)
        elif not (target.startswith(schemas) and privileges <= mariadb.SITE_PRIVILEGES):
            problems.append('privileges on another database or table: ' + target)
    if not own:
        problems.append('no grant on `{0}`.*'.format(db_name))
    return problems


def _own_database_problems(target, privileges):
    if privileges == {'ALL PRIVILEGES'}:
        return ['ALL PRIVILEGES on {0}: more than WordOps\' set'.format(target)]
    missing = sorted(mariadb.SITE_PRIVILEGES - privileges)
    extra = sorted(privileges - mariadb.SITE_PRIVILEGES)
    if not (missing or extra):
        return []
    return ['on {0}: {1}'.format(target, '; '.join(filter(None, (
        'missing ' + ', '.join(missing) if missing else '',
        'beyond WordOps\' set ' + ', '.join(extra) if extra else ''))))]


def public_problems(statements):
    """Privileges granted TO PUBLIC: every account has them, the site's too."""
    return ['granted to every account (PUBLIC): ' + s for s in statements]


def host_binding(db_user, grant_host, seen):
    """MariaDB takes the site's connection (the transport its DB_HOST selects: a
    socket for localhost, TCP otherwise) for the account at the registry's host."""
    expected = '{0}@{1}'.format(db_user, grant_host)
    if 'error' in seen:
        problems = ['not tried: its WordPress could not report']
    elif seen['current_user'] != expected:
        problems = ['MariaDB takes the site for {0}; the registry has {1}'.format(
            seen['current_user'], expected)]
    else:
        problems = []
    return _check('host_binding', problems, 'MariaDB takes the site for ' + expected,
                  'the account must be at the host MariaDB sees for DB_HOST (localhost for '
                  'a socket, 127.0.0.1 for TCP to it): recreate it there')


def schema_and_users(seen):
    """WordPress' tables with the site's prefix, its database at the core's db_version,
    an administrator."""
    if 'error' in seen:
        problems = ['not tried: its WordPress could not report']
    else:
        problems = []
        if seen['missing_tables']:
            problems.append('tables missing: ' + ', '.join(seen['missing_tables']))
        if seen['db_version'] != seen['core_db_version']:
            problems.append('db_version {0}, the core wants {1}'.format(
                seen['db_version'], seen['core_db_version']))
        if not seen['administrators']:
            problems.append('no administrator')
    return _check('schema_and_users', problems, 'tables, db_version and an administrator',
                  'restore the database from its backup, or run wo multitenancy update '
                  '--force for the db_version')


def no_legacy_paths(settings, domain, seen):
    """Nothing of the site depends on a path outside its root and the shared core: no
    file of an own core left in its document root (each PHP entry point is the stub),
    no link out of them or into a release, no option holding such a path."""
    try:
        problems = _legacy_files(settings, domain)
    except (MTError, OSError) as e:
        problems = ['its document root cannot be walked: {0}'.format(e)]
    if 'error' not in seen:
        problems += _legacy_options(settings, domain, seen['paths'])
    return _check('no_legacy_paths', problems, 'everything it uses is in its root or the shared core',
                  'remove what is named (a leftover of its own core, a link out of its root) '
                  'and clear the options named, then verify again')


def _legacy_files(settings, domain):
    root, docroot = settings.site_root(domain), layout.htdocs(settings, domain)
    content, problems, seen = os.path.join(docroot, 'wp-content'), [], 0
    with site_files.opened_dir(root, 'htdocs') as top:
        stub = os.stat(layout.ENTRY_STUB, dir_fd=top, follow_symlinks=False).st_ino
        for fd, where, dirs, others in site_files.walk(top, docroot):
            seen += len(dirs) + len(others)
            if seen > MAX_ENTRIES:
                return problems + ['more than {0} entries: not walked whole'.format(MAX_ENTRIES)]
            for name in others:
                path = os.path.join(where, name)
                try:
                    st = os.stat(name, dir_fd=fd, follow_symlinks=False)
                    target = os.readlink(name, dir_fd=fd) if stat.S_ISLNK(st.st_mode) else None
                except FileNotFoundError:  # gone meanwhile
                    continue
                if target is not None:
                    if _leads_out(settings, root, where, target, path):
                        problems.append('{0} links to {1}'.format(path, target))
                elif name.endswith('.php') and st.st_ino != stub and not (
                        where == content or where.startswith(content + '/')
                        or path == os.path.join(docroot, 'wp-config.php')):
                    problems.append(path + ' is not the entry stub: a file of its own core')
    return problems


def _leads_out(settings, root, where, target, path):
    """Whether the link at `path` (in directory `where`, to `target`) names a release, or
    leads out of the site root and the shared core once every link on the way is
    followed (os.path.realpath: lstat and readlink alone, nothing is opened)."""
    named = os.path.normpath(os.path.join(where, target))
    return _in(named, settings.releases_dir) or not any(
        _in(os.path.realpath(path), os.path.realpath(top)) for top in (root, settings.shared_root))


def _legacy_options(settings, domain, paths):
    """Option values naming a place for uploads other than its wp-content/uploads
    (upload_path), or a release or a place outside the site and the shared core (theme
    roots, which WordPress also stores relative to wp-content: "/themes" names no place
    of the server's)."""
    root, problems = settings.site_root(domain), []
    for option, value in sorted(paths.items()):
        for found in (value.values() if isinstance(value, dict) else [value]):
            if not isinstance(found, str) or not found:
                continue
            place = os.path.normpath(found) if os.path.isabs(found) else None
            if option == 'upload_path':
                wrong = layout.uploads_elsewhere(settings, domain, found)
            else:
                wrong = place is not None and (_in(place, settings.releases_dir) or (
                    os.path.lexists(place) and not _ours(settings, root, place)))
            if wrong:
                problems.append('option {0} holds {1}'.format(option, found))
    return problems


def _ours(settings, root, place):
    """Whether `place` lies in the site root or the shared core, and not in a release
    (releases are pruned; sites run `current`)."""
    return not _in(place, settings.releases_dir) and (
        _in(place, root) or _in(place, settings.shared_root))


def _in(place, top):
    return place == top or place.startswith(top + '/')


def jobs_drain(settings, domain, php_version):
    """The site's due WP-Cron events run, as its PHP user through its own PHP, and
    none is due after."""
    try:
        done = shaped(wordpress.task(settings, domain, php_version, 'cron',
                                      timeout=CRON_SECONDS), CRON_SIDE)
    except MTError as e:
        problems, done = [e.message], {}
    else:
        problems = [] if not done['due_after'] else [
            '{due_after} of its {due_before} due WP-Cron events are still due after running '
            'them'.format(**done)]
    return _check('jobs_drain', problems, 'ran its {0} due WP-Cron events; none is left'.format(
        done.get('due_before')), 'see the PHP error log of the site for the event that fails')


def serves(site):
    """It answers well through nginx; a site that is not live is not routed (its name
    would reach nginx's default site, which answers too)."""
    found = fleet.probe(site)
    return _check('serves', [] if found['ok'] else [found['problem']],
                  'answers HTTP {0} through nginx'.format(found['status']),
                  'see /var/log/nginx/{0}.error.log'.format(site['domain']))


def shaped(report, shapes):
    """`report`, what the site's WordPress printed, if it has the shape our task prints
    (`shapes`: key -> type); the site's own code ran, so it is checked."""
    wrong = sorted(k for k, kind in shapes.items() if not isinstance(report, dict)
                   or not isinstance(report.get(k), kind)
                   or (kind is int and isinstance(report[k], bool)))
    if not wrong and 'missing_tables' in shapes and not all(
            isinstance(t, str) for t in report['missing_tables']):
        wrong = ['missing_tables']
    if wrong:
        raise MTError('its WordPress reported {0} in a shape our task does not print'.format(
            ', '.join(wrong)))
    return report


def _check(name, problems, passed, hint):
    return {'check': name, 'ok': not problems,
            'detail': '; '.join(problems) if problems else passed,
            'hint': hint if problems else None}
