"""wo multitenancy: many WordPress sites on one shared WordPress core.

The controller parses arguments, calls the commands in multitenancy_functions and
is the only place that turns an error into a message and an exit code:
0 done (or nothing to do), 1 failed and rolled back, 2 refused (bad input, nothing
changed), 3 unhealthy, 4 another wo multitenancy command is running.
"""
import json
import logging
import logging.handlers
import os
import sys

from cement.core.controller import CementBaseController, expose

from wo.cli.plugins import multitenancy_functions as mt
from wo.cli.plugins.multitenancy_db import MTDatabase
from wo.multitenancy import settings as mt_settings
from wo.multitenancy import validate
from wo.multitenancy.context import Context
from wo.multitenancy.errors import EXIT_UNHEALTHY, InvalidInput, MTError
from wo.multitenancy.sites import NewSite
from wo.multitenancy.wordops import Caller

CACHE_FLAGS = (('wpfc', 'Nginx FastCGI cache'), ('wpredis', 'Redis page cache'),
               ('wprocket', 'WP Rocket'), ('wpce', 'Cache Enabler'), ('wpsc', 'WP Super Cache'))
EPILOG = ('Exit codes: 0 done or nothing to do, 1 failed (rolled back), 2 refused '
          '(nothing changed), 3 unhealthy, 4 another wo multitenancy command is running.')


def _php_flags():
    from wo.core.variables import WOVar
    return [(['--' + flag], dict(help='PHP {0}'.format(version), action='store_true'))
            for flag, version in WOVar.wo_php_versions.items()]


class MTCommand(CementBaseController):
    """Base of the wo multitenancy subcommands: settings, state, errors, output."""

    class Meta:
        stacked_on = 'multitenancy'
        stacked_type = 'nested'
        aliases_only = True
        epilog = EPILOG

    def _context(self):
        settings = mt_settings.from_app(self.app)
        database = MTDatabase(settings.wo_database)
        database.initialize_tables()
        _attach_syslog(settings)
        return Context(ctl=Caller(self.app), settings=settings, db=database,
                          report=self._progress)

    def _progress(self, text):
        if sys.stderr.isatty():  # from cron, only what changed or failed is printed
            print('  ' + text + ' ...', file=sys.stderr, flush=True)
        logging.getLogger('wo.multitenancy').info(text)
        self.app.log.info(text)

    def _run(self, command):
        """Run command(context); any MTError becomes a message on stderr and an exit code."""
        try:
            return command(self._context())
        except MTError as e:
            self._fail(e.message, e.hint, e.exit_code)

    def _fail(self, message, hint, exit_code):
        self.app.log.error(message)
        logging.getLogger('wo.multitenancy').error(message)
        refuse(self.app, message, hint, exit_code)

    def _fail_for_sites(self, failed, what='not on the new release'):
        """Exit 1 naming the sites a command could not finish (running it again does)."""
        if failed:
            self._fail('{0} site(s) {1}: {2}'.format(len(failed), what, '; '.join(
                '{0}: {1}'.format(d, p) for d, p in sorted(failed.items()))),
                'fix the cause and run the same command again: it finishes them', 1)

    def _one_domain(self, command):
        """The one domain the command was given; refuses none or several (exit 2)."""
        domains = self.app.pargs.domain
        if len(domains) != 1:
            self._fail('give exactly one domain', 'wo multitenancy {0} example.com'.format(command), 2)
        return domains[0]

    def _emit(self, data, text):
        print(json.dumps(data, indent=2, sort_keys=True) if self.app.pargs.json else text)


def _attach_syslog(settings):
    logger = logging.getLogger('wo.multitenancy')
    logger.setLevel(logging.INFO)
    if settings.enable_syslog and os.path.exists('/dev/log') and not any(
            isinstance(h, logging.handlers.SysLogHandler) for h in logger.handlers):
        handler = logging.handlers.SysLogHandler(address='/dev/log')
        handler.setFormatter(logging.Formatter(settings.syslog_tag + ': %(message)s'))
        logger.addHandler(handler)


# Without a handler, Python's last resort prints every record on stderr, beside our message.
logging.getLogger('wo.multitenancy').addHandler(logging.NullHandler())


class MultitenancyController(CementBaseController):
    class Meta:
        label = 'multitenancy'
        stacked_on = 'base'
        stacked_type = 'nested'
        description = ('Host many WordPress sites on one shared WordPress core: '
                       'one release on disk serves every site')
        epilog = EPILOG

    @expose(hide=True)
    def default(self):
        self.app.args.print_help()


class InitController(MTCommand):
    class Meta:
        label = 'mt_init'
        aliases = ['init']
        description = ('Create the shared root, stage a WordPress release (the latest from '
                       'wordpress.org, checksum-verified, unless --source), seed the baseline '
                       'plugins and theme, and switch to it. Does nothing when already set up, '
                       'unless --force.')
        arguments = [
            (['--force'], dict(action='store_true',
                               help='stage and switch to a fresh release even when set up')),
            (['--source'], dict(metavar='PATH|URL',
                                help='WordPress .tar.gz/.zip, its directory, or a URL '
                                     '(for servers without internet)')),
        ]

    @expose(hide=True)
    def default(self):
        pargs = self.app.pargs
        result = self._run(lambda ctx: mt.init_shared(ctx, pargs.source, pargs.force))
        if not result['changed']:
            print(result['message'])
            return
        print('Shared core ready: {0} (WordPress {1})'.format(result['release'], result['wp_version']))
        self._fail_for_sites(result['failed'])


class UpdateController(MTCommand):
    class Meta:
        label = 'mt_update'
        aliases = ['update']
        description = ('Update every site to a new WordPress release: stage it (checksum-'
                       'verified download, or --source), prove it on a canary site (its '
                       'database upgraded, probed over HTTP) unless --force, switch every '
                       'site at once, upgrade every database, purge page caches, prune old '
                       'releases. Nothing to do: exit 0, and without a terminal nothing is '
                       'printed. For cron: "17 4 * * * root /usr/local/bin/wo multitenancy '
                       'update".')
        arguments = [
            (['--force'], dict(action='store_true',
                               help='skip the canary; stage even the version already running')),
            (['--source'], dict(metavar='PATH|URL', help='WordPress .tar.gz/.zip, its directory, or a URL')),
            (['--version'], dict(metavar='X.Y.Z', dest='wp_version',
                                 help='this wordpress.org release instead of the latest')),
            (['--json'], dict(action='store_true', help='print the result as JSON')),
        ]

    @expose(hide=True)
    def default(self):
        pargs = self.app.pargs
        result = self._run(lambda ctx: mt.update(ctx, pargs.source, pargs.wp_version, pargs.force))
        _report_switch(self, result, 'Updated')


class RollbackController(MTCommand):
    class Meta:
        label = 'mt_rollback'
        aliases = ['rollback']
        description = ('Switch every site back to the previous release (or --to RELEASE) in '
                       'one step, proven on a canary site first unless --force. WordPress '
                       'cannot downgrade a database: the newer tables stay, and each '
                       'database is set to the older core\'s version so it runs without '
                       'asking for a "Database Update".')
        arguments = [
            (['--force'], dict(action='store_true', help='skip the canary')),
            (['--to'], dict(metavar='RELEASE', help='a release kept under releases/ (see status)')),
            (['--json'], dict(action='store_true', help='print the result as JSON')),
        ]

    @expose(hide=True)
    def default(self):
        pargs = self.app.pargs
        result = self._run(lambda ctx: mt.rollback(ctx, pargs.to, pargs.force))
        _report_switch(self, result, 'Rolled back')


def _report_switch(command, result, verb):
    """Print an update's or rollback's result; with nothing done and no terminal (cron),
    nothing, unless --json asked for the result."""
    if not result['changed']:
        if command.app.pargs.json or sys.stdout.isatty():
            command._emit(result, 'Already on {release} (WordPress {wp_version}): nothing to do.'
                          .format(**result))
        return
    command._emit(result, '{0} {1} site(s) to {2} (WordPress {3}); previous release {4} is kept.{5}'
                  .format(verb, result['sites'], result['release'], result['wp_version'],
                          result['previous'], '\n' + result['note'] if 'note' in result else ''))
    command._fail_for_sites(result['failed'])


class CreateController(MTCommand):
    class Meta:
        label = 'mt_create'
        aliases = ['create']
        description = ('Create a WordPress site on the shared core: its own database (WordOps '
                       'setupdatabase), wp-config.php, uploads and nginx vhost (WordOps '
                       'includes), WordPress installed and the baseline applied.')
        arguments = [
            (['domain'], dict(nargs='*', help='the domain of the new site, e.g. example.com')),
            (['--letsencrypt', '--le'], dict(action='store_true', dest='letsencrypt',
                                             help="secure it with Let's Encrypt")),
            (['--hsts'], dict(action='store_true', help='send HSTS (needs --le)')),
            (['--dns'], dict(nargs='?', const='dns_cf', metavar='PROVIDER',
                             help='acme.sh DNS API for the certificate (default dns_cf)')),
            (['--admin-email'], dict(dest='admin_email', metavar='EMAIL',
                                     help='admin e-mail (default: admin_email setting)')),
            (['--admin-user'], dict(dest='admin_user', default='admin', metavar='NAME',
                                    help='admin user name (default: admin)')),
            (['--json'], dict(action='store_true',
                              help='print the result (URLs, admin user and password) as JSON')),
        ] + [(['--' + flag], dict(action='store_true', help=text))
             for flag, text in CACHE_FLAGS] + _php_flags()

    @expose(hide=True)
    def default(self):
        self._run(self._create)

    def _create(self, ctx):
        site = self._new_site(ctx.settings)
        result = mt.create_site(ctx, site)
        self._emit(result, 'Site ready: {0}\n  Admin: {1}  user {2}  password {3}\n'
                   '  (the password is shown once and not logged)'.format(
                       result['url'], result['admin_url'], result['admin_user'],
                       result['admin_password']))

    def _new_site(self, settings):
        pargs = self.app.pargs
        if len(pargs.domain) != 1:
            raise InvalidInput('give exactly one domain (got {0})'.format(
                ' '.join(pargs.domain) or 'none'), 'wo multitenancy create example.com --wpfc')
        flags = [name for name, value in vars(pargs).items() if value is True]
        letsencrypt = pargs.letsencrypt or bool(pargs.dns) or settings.auto_ssl
        return NewSite(
            domain=pargs.domain[0],
            php_version=validate.one_php(flags, settings.php_version),
            cache=validate.one_cache(flags, settings.default_cache),
            letsencrypt=letsencrypt, hsts=pargs.hsts or (letsencrypt and settings.enable_hsts),
            dns=pargs.dns, admin_email=pargs.admin_email or settings.admin_email,
            admin_user=pargs.admin_user)


class DeleteController(MTCommand):
    class Meta:
        label = 'mt_delete'
        aliases = ['delete']
        description = ('Delete a site on the shared core: its vhost, certificate, database '
                       'and database user, files and records. The shared core is not touched. '
                       'Asks first, unless --force (needed without a terminal). A delete that '
                       'stopped part-way finishes when run again.')
        arguments = [
            (['domain'], dict(nargs='*', help='the site to delete')),
            (['--force'], dict(action='store_true', help='do not ask')),
            (['--json'], dict(action='store_true', help='print the result as JSON')),
        ]

    @expose(hide=True)
    def default(self):
        pargs = self.app.pargs
        domain = self._one_domain('delete')

        def delete(ctx):
            confirm('Delete {0}: its vhost, database, files and records?'.format(domain),
                    pargs.force)
            return mt.delete_site(ctx, domain)
        result = self._run(delete)
        self._emit(result, 'Deleted {0}.'.format(domain))


class RemoveController(MTCommand):
    class Meta:
        label = 'mt_remove'
        aliases = ['remove']
        description = ('Remove the shared-core infrastructure: the shared root (releases, '
                       'shared plugins and themes, baseline) and our records. Lists what it '
                       'removes; refuses while sites exist unless --force, which deletes them '
                       'too. Asks first, unless --force. The plugin stays installed.')
        arguments = [
            (['--force'], dict(action='store_true', help='also delete every site; do not ask')),
            (['--json'], dict(action='store_true', help='print what was removed as JSON')),
        ]

    @expose(hide=True)
    def default(self):
        pargs = self.app.pargs

        def remove(ctx):
            plan = mt.removal_plan(ctx)
            print('This removes {0} and {1} site(s): {2}'.format(
                plan['shared_root'], len(plan['sites']), ', '.join(plan['sites']) or 'none'),
                file=sys.stderr)
            if plan['backups']:
                print('and the backups convert took: {0}'.format(', '.join(plan['backups'])),
                      file=sys.stderr)
            if plan['sites'] and not pargs.force:
                raise InvalidInput('{0} site(s) still run on the shared core'.format(
                    len(plan['sites'])), 'delete them first, or pass --force to delete them too')
            confirm('Remove all of it?', pargs.force)
            return mt.remove_everything(ctx)
        result = self._run(remove)
        self._emit(result, 'Removed {0} and {1} site(s).'.format(result['shared_root'],
                                                                  len(result['sites'])))


class ConvertController(MTCommand):
    class Meta:
        label = 'mt_convert'
        aliases = ['convert']
        description = ('Move standalone WordOps WordPress sites (wo site create --wp) onto '
                       'the shared core. Per site: a backup of its files and database under '
                       '<shared_root>/backups, then its core replaced by links to the shared '
                       'one, its wp-config.php adapted (database, salts and its own settings '
                       'kept), its uploads, vhost, theme and content kept, its database '
                       'upgraded when the shared core is newer. Refuses a site whose core is '
                       'newer than the shared one, or which uses plugins or themes the shared '
                       'set lacks (named; --force adds them). A site that fails is put back '
                       'as it was and the others go on; exit 1 if any failed, 2 if all that '
                       'failed were refused. A stopped conversion finishes when run again.')
        arguments = [
            (['domain'], dict(nargs='*', help='the sites to convert')),
            (['--all'], dict(action='store_true', dest='every',
                             help='every standalone WordPress site WordOps knows')),
            (['--dry-run'], dict(action='store_true', dest='dry_run',
                                 help='check each site and print the plan; change nothing')),
            (['--force'], dict(action='store_true',
                               help='add plugins and themes the shared set lacks to it')),
            (['--json'], dict(action='store_true', help='print the results as JSON')),
        ]

    @expose(hide=True)
    def default(self):
        pargs = self.app.pargs
        if bool(pargs.domain) == pargs.every:
            self._fail('give the domains to convert, or --all', 'wo multitenancy convert '
                       'example.com blog.example.com, or wo multitenancy convert --all', 2)
        results = self._run(lambda ctx: mt.convert_sites(ctx, pargs.domain, pargs.every,
                                                         pargs.force, pargs.dry_run))
        self._emit({'sites': results, 'failed': sum(r['status'] in ('failed', 'refused')
                                                    for r in results)}, _conversion_text(results))
        failed = [r for r in results if r['status'] in ('failed', 'refused')]
        if failed:
            self.app.close(2 if all(r['status'] == 'refused' for r in failed) else 1)


def _conversion_text(results):
    lines = []
    for r in results:
        if r['status'] == 'converted':
            lines.append('converted  {domain}  ({0:.2f} MB of its own besides uploads; backup '
                         '{backup})'.format(r['own_disk_bytes'] / 1e6, **r))
        elif r['status'] == 'planned':
            lines.append('plan       {0}'.format(_plan_text(r)))
        elif r['status'] == 'unchanged':
            lines.append('unchanged  {domain}  ({note})'.format(**r))
        else:
            lines.append('{status:10} {domain}: {error}{0}'.format(
                ' -- ' + r['hint'] if r['hint'] else '', **r))
    counts = {}
    for r in results:
        counts[r['status']] = counts.get(r['status'], 0) + 1
    lines.append('{0} site(s): {1}'.format(len(results), ', '.join(
        '{0} {1}'.format(n, status) for status, n in sorted(counts.items())) or 'nothing to do'))
    return '\n'.join(lines)


def _plan_text(plan):
    if 'note' in plan:
        return '{domain}: {note}'.format(**plan)
    return ('{domain}: back up to {backup_to}, WordPress {wp_version} -> {release_wp_version} '
            '({release}), keep uploads, database, theme and {0} setting(s) of wp-config.php{1}'
            .format(len(plan['settings_kept']), '; add to the shared set: ' +
                    ', '.join(plan['add_to_shared']) if plan['add_to_shared'] else '', **plan))


class RevertController(MTCommand):
    class Meta:
        label = 'mt_revert'
        aliases = ['revert']
        description = ('Give a site on the shared core its own core again: a copy of the '
                       'current release, with copies of the shared plugins and themes, laid '
                       'out as wo site create --wp does. Its database, uploads, vhost and '
                       'settings are kept; it stays a WordOps site. A stopped revert '
                       'finishes when run again.')
        arguments = [
            (['domain'], dict(nargs='*', help='the site to revert')),
            (['--json'], dict(action='store_true', help='print the result as JSON')),
        ]

    @expose(hide=True)
    def default(self):
        domain = self._one_domain('revert')
        result = self._run(lambda ctx: mt.revert_site(ctx, domain))
        self._emit(result, '{0} runs on its own core again.'.format(domain))


def confirm(question, force):
    """Go on when forced or when the person at the terminal says yes; refuse otherwise."""
    if force:
        return
    if not sys.stdin.isatty():
        raise InvalidInput('this deletes data: pass --force when no one can answer a question')
    if input(question + ' [y/N] ').strip().lower() not in ('y', 'yes'):
        raise InvalidInput('nothing was changed', 'answer y to go on, or pass --force')


class ListController(MTCommand):
    class Meta:
        label = 'mt_list'
        aliases = ['list']
        description = 'List the sites on the shared core.'
        arguments = [(['--json'], dict(action='store_true', help='print JSON'))]

    @expose(hide=True)
    def default(self):
        sites = self._run(mt.list_sites)
        lines = ['{domain:40} php {php:4} {cache:8} {release}'.format(**s) for s in sites]
        self._emit(sites, '\n'.join(lines) if lines else 'No sites on the shared core yet.')


class StatusController(MTCommand):
    class Meta:
        label = 'mt_status'
        aliases = ['status']
        description = ('Show the current release and WordPress version, the releases kept, '
                       'disk use, and each site\'s health from a real HTTP request. '
                       'Exits 3 when a site is unhealthy.')
        arguments = [(['--json'], dict(action='store_true', help='print JSON'))]

    @expose(hide=True)
    def default(self):
        report = self._run(mt.status)
        self._emit(report, _status_text(report))
        if not report['healthy']:
            self.app.close(EXIT_UNHEALTHY)


def _status_text(report):
    lines = ['Current release: {release} (WordPress {wp_version})'.format(**report),
             'Shared root uses {0:.1f} MB; baseline version {1}'.format(
                 report['shared_disk_bytes'] / 1e6, report['baseline_version']), 'Releases:']
    for r in report['releases']:
        lines.append('  {0} {1:24} WordPress {2:8} {3:.1f} MB'.format(
            '*' if r['current'] else ' ', r['release'], r['wp_version'], r['disk_bytes'] / 1e6))
    lines.append('Sites:' if report['sites'] else 'Sites: none')
    for s in report['sites']:
        lines.append('  {0:40} {1:9} {2} ({3:.0f} KB own files)'.format(
            s['domain'], 'ok' if s['ok'] else 'UNHEALTHY',
            s['problem'] or 'WordPress {0}'.format(s['version']), s['own_disk_bytes'] / 1e3))
    return '\n'.join(lines)


class BaselineController(MTCommand):
    class Meta:
        label = 'mt_baseline'
        aliases = ['baseline']
        description = ('Show the baseline (the theme and plugins every site must have), or '
                       'change it and bring every site to it. A plugin or theme is a '
                       'wordpress.org slug, a .zip or a directory.')
        arguments = [
            (['--add-plugin'], dict(action='append', default=[], metavar='PLUGIN',
                                    dest='add_plugin', help='add a plugin (repeatable)')),
            (['--remove-plugin'], dict(action='append', default=[], metavar='SLUG',
                                       dest='remove_plugin', help='stop requiring a plugin')),
            (['--theme'], dict(metavar='THEME', help='the theme every site uses')),
            (['--json'], dict(action='store_true', help='print JSON')),
        ]

    @expose(hide=True)
    def default(self):
        pargs = self.app.pargs
        if not (pargs.add_plugin or pargs.remove_plugin or pargs.theme):
            current = self._run(mt.show_baseline)
            self._emit(current, _baseline_text(current))
            return
        current, failed = self._run(lambda ctx: mt.change_baseline(
            ctx, pargs.add_plugin, pargs.remove_plugin, pargs.theme))
        self._emit(dict(current, failed_sites=failed), _baseline_text(current))
        self._fail_for_sites(failed, 'could not be brought to the baseline')


def _baseline_text(current):
    return 'Baseline version {version}\n  theme:   {theme}\n  plugins: {0}\n  auto-activate: {1}'.format(
        ', '.join(current['plugins']) or 'none', 'yes' if current['auto_activate'] else 'no', **current)


def refuse(app, message, hint, exit_code):
    """Print an error and its hint on stderr and end the command with exit_code.
    Without a terminal (cron, scripts) it is one line."""
    if hint:
        message += ('\n  ' if sys.stderr.isatty() else ' -- ') + hint
    print('Error: ' + message, file=sys.stderr)
    app.close(exit_code)


def refuse_unparsable_args(app):
    """Explain the arguments argparse would only call "unknown args": a flag typed with
    an em or en dash (—le), or a domain starting with a hyphen."""
    argv = sys.argv[1:]  # app.argv has lost the words of the dispatched commands by now
    if not argv or argv[0] != 'multitenancy':
        return
    for arg in argv[1:]:
        try:
            if arg[:1] in validate.DASHES:
                validate.reject_lookalike_dashes(arg)
            elif arg.startswith('-') and not arg.startswith('--') and '.' in arg:
                validate.domain(arg)
        except InvalidInput as e:
            refuse(app, e.message, e.hint, e.exit_code)


def load(app):
    app.hook.register('pre_argument_parsing', refuse_unparsable_args)
    for controller in (MultitenancyController, InitController, CreateController,
                       UpdateController, RollbackController, ConvertController,
                       RevertController, DeleteController, RemoveController, ListController,
                       StatusController, BaselineController):
        app.handler.register(controller)
