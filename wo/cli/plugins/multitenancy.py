"""wo multitenancy: many WordPress sites on one shared WordPress core.

The controller parses arguments, calls the commands in multitenancy_functions,
prints their results, and is the only place that turns an error into a message and
an exit code: 0 done (or nothing to do), 1 failed (rolled back, or left for the same
command to finish, as its message says), 2 refused (bad
input, nothing changed), 3 unhealthy, 4 another wo multitenancy command is running,
128 + N stopped by signal N (130 Ctrl-C, 143 SIGTERM). What a command's outcome
means (which code, which message) is decided by the command; the controller prints.
"""
import json
import sys

from cement.core.controller import CementBaseController, expose

from wo.cli.plugins import multitenancy_functions as mt
from wo.multitenancy import texts, validate
from wo.multitenancy.errors import InvalidInput, MTError
from wo.multitenancy.logs import log
from wo.multitenancy.settings import ISOLATIONS

CACHE_FLAGS = (('wpfc', 'Nginx FastCGI cache'), ('wpredis', 'Redis page cache'),
               ('wprocket', 'WP Rocket'), ('wpce', 'Cache Enabler'), ('wpsc', 'WP Super Cache'))
EPILOG = ('Exit codes: 0 done or nothing to do, 1 failed (rolled back, or left for the same '
          'command to finish: its message says which), 2 refused '
          '(nothing changed), 3 unhealthy, 4 another wo multitenancy command is running, '
          '130 or 143 interrupted (Ctrl-C, SIGTERM).')


def _isolation_option(text, default=None):
    """--isolation MODEL, one of settings.ISOLATIONS."""
    return (['--isolation'], dict(choices=ISOLATIONS, default=default, metavar='MODEL',
                                  help=text))


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

    def _progress(self, text):
        text = texts.printable(text)  # a step may name a site's file
        if sys.stderr.isatty():  # from cron, only what changed or failed is printed
            print('  ' + text + ' ...', file=sys.stderr, flush=True)
        log.info(text)
        self.app.log.info(text)

    def _run(self, command, show):
        """Run command(context) and show(result). An MTError is the end: the result it
        carries is shown first, then its message goes to stderr, and the command exits
        with its code."""
        try:
            result = mt.run(command, self.app, self._progress, *self._audited())
        except MTError as e:
            if e.result is not None:
                show(e.result)
            self._fail(e)
        show(result)

    def _audited(self):
        """What the audit trail keeps of this command: its name, its words, its domains."""
        domains = getattr(self.app.pargs, 'domain', None) or []
        return (self._meta.label.replace('mt_', '', 1), sys.argv[2:],
                [domains] if isinstance(domains, str) else domains)

    def _fail(self, error):
        if error.message:
            self.app.log.error(error.message)
            log.error(error.message)
        refuse(self.app, error)

    def _emit(self, data, text):
        print(json.dumps(data, indent=2, sort_keys=True) if self.app.pargs.json else text)


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
            (['--json'], dict(action='store_true', help='print the result as JSON')),
        ]

    @expose(hide=True)
    def default(self):
        pargs = self.app.pargs
        self._run(lambda ctx: mt.init_shared(ctx, pargs.source, pargs.force),
                  lambda result: self._emit(result, texts.init_text(result)))


class UpdateController(MTCommand):
    class Meta:
        label = 'mt_update'
        aliases = ['update']
        description = ('Update every site to a new WordPress release: stage it (checksum-'
                       'verified download, or --source), prove it on a canary site (its '
                       'database upgraded, probed over HTTP) unless --force, switch every '
                       'site at once, upgrade every database, purge page caches, prune old '
                       'releases. Then every shared plugin and theme that wordpress.org has '
                       'a newer version of, each as "plugin update" does (not with --source '
                       'or --version, which name a core release). Nothing to do: exit 0, and '
                       'without a terminal nothing is printed. For cron: "17 4 * * * root '
                       '/usr/local/bin/wo multitenancy update".')
        arguments = [
            (['--force'], dict(action='store_true',
                               help='the core: skip the canary, stage even the version already '
                                    'running (plugins and themes keep their canary)')),
            (['--source'], dict(metavar='PATH|URL', help='WordPress .tar.gz/.zip, its directory, or a URL')),
            (['--version'], dict(metavar='X.Y.Z', dest='wp_version',
                                 help='this wordpress.org release instead of the latest')),
            (['--core-only'], dict(action='store_true', dest='core_only',
                                   help='the core alone, not the shared plugins and themes')),
            (['--plugins-only'], dict(action='store_true', dest='plugins_only',
                                      help='the shared plugins and themes alone, not the core')),
            (['--json'], dict(action='store_true', help='print the result as JSON')),
        ]

    @expose(hide=True)
    def default(self):
        pargs = self.app.pargs
        self._run(lambda ctx: mt.update(ctx, pargs.source, pargs.wp_version, pargs.force,
                                        pargs.core_only, pargs.plugins_only),
                  lambda result: report_quietly(self, result, texts.update_text(result)))


class RollbackController(MTCommand):
    class Meta:
        label = 'mt_rollback'
        aliases = ['rollback']
        description = ('Switch every site back to the previous release (or --to) in '
                       'one step, proven on a canary site first unless --force. WordPress '
                       'cannot downgrade a database: the newer tables stay, and each '
                       'database is set to the older core\'s version so it runs without '
                       'asking for a "Database Update".')
        arguments = [
            (['--force'], dict(action='store_true', help='skip the canary')),
            (['--to'], dict(metavar='RELEASE|X.Y.Z',
                            help='a release kept under releases/ (see status), or a WordPress '
                                 'version: its newest kept release (the same on every server '
                                 'of a fleet; nothing to do when it is in use)')),
            (['--json'], dict(action='store_true', help='print the result as JSON')),
        ]

    @expose(hide=True)
    def default(self):
        pargs = self.app.pargs
        self._run(lambda ctx: mt.rollback(ctx, pargs.to, pargs.force),
                  lambda result: report_quietly(
                      self, result, texts.switch_text(result, 'Rolled back')))


def report_quietly(command, result, text):
    """Print the result of a switch (update, rollback, plugin|theme update and rollback),
    `text` for a person: from cron (no terminal), nothing when it did nothing, unless
    --json asked for it."""
    if result['changed'] or command.app.pargs.json or sys.stdout.isatty():
        command._emit(result, text)


class CreateController(MTCommand):
    class Meta:
        label = 'mt_create'
        aliases = ['create']
        description = ('Create a WordPress site on the shared core: its own database (WordOps '
                       'setupdatabase), wp-config.php, uploads and nginx vhost (WordOps '
                       'includes), WordPress installed and the baseline applied. A sovereign '
                       'site also gets its own system user and PHP-FPM pool. Its database and '
                       'isolation are verified (see verify) before nginx routes a request to '
                       'it.')
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
            _isolation_option("sovereign (its own user and pool) or shared (WordOps' "
                              'www-data pools); default: the isolation setting'),
            (['--keep-failed'], dict(action='store_true', dest='keep_failed',
                                     help='a site failing verification is kept, unrouted, '
                                          'for diagnosis (wo multitenancy info)')),
            (['--json'], dict(action='store_true',
                              help='print the result (URLs, admin user and password) as JSON')),
        ] + [(['--' + flag], dict(action='store_true', help=text))
             for flag, text in CACHE_FLAGS] + _php_flags()

    @expose(hide=True)
    def default(self):
        pargs = self.app.pargs
        flags = [name for name, value in vars(pargs).items() if value is True]
        self._run(lambda ctx: mt.create_site(
            ctx, pargs.domain, flags, letsencrypt=pargs.letsencrypt, hsts=pargs.hsts,
            dns=pargs.dns, admin_email=pargs.admin_email, admin_user=pargs.admin_user,
            isolation=pargs.isolation, keep_failed=pargs.keep_failed),
            lambda result: self._emit(result, texts.login_text(result)))


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

        def delete(ctx):
            domain = validate.one_domain(pargs.domain, 'delete example.com')
            confirm('Delete {0}: its vhost, database, files and records?'.format(domain),
                    pargs.force)
            return mt.delete_site(ctx, domain)
        self._run(delete, lambda result: self._emit(result, 'Deleted {domain}.'.format(**result)))


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
            print(texts.removal_text(plan), file=sys.stderr)
            mt.require_removable(plan, pargs.force)
            confirm('Remove all of it?', pargs.force)
            return mt.remove_everything(ctx, pargs.force)
        self._run(remove, lambda result: self._emit(result, texts.removed_text(result)))


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
            _isolation_option('sovereign: each converted site is then isolated (see '
                              'isolate); default: the isolation setting'),
            (['--json'], dict(action='store_true', help='print the results as JSON')),
        ]

    @expose(hide=True)
    def default(self):
        pargs = self.app.pargs
        self._run(lambda ctx: mt.convert_sites(ctx, pargs.domain, pargs.every, pargs.force,
                                               pargs.dry_run, pargs.isolation),
                  lambda outcome: self._emit(outcome, texts.per_site_text(outcome['sites'])))

    def _audited(self):
        """A dry run changes nothing: the audit trail does not keep it."""
        name, argv, domains = super()._audited()
        return (None if self.app.pargs.dry_run else name), argv, domains


class IsolateController(MTCommand):
    class Meta:
        label = 'mt_isolate'
        aliases = ['isolate']
        description = ('Move live sites on the shared core to the sovereign model (their own '
                       'system user and PHP-FPM pool, shut in by open_basedir and file modes) '
                       'or, with --isolation shared, back to WordOps\' www-data pools, with '
                       'no failed request; each is verified there (see verify) and put back '
                       'when it fails (one whose old database account was dropped already '
                       'is left for the same command to finish), and the others go on. Exit 1 if any failed, 2 if all '
                       'that failed were refused.')
        arguments = [
            (['domain'], dict(nargs='*', help='the sites to move')),
            (['--all'], dict(action='store_true', dest='every',
                             help='every live site on the shared core not in that model')),
            _isolation_option('sovereign (default) or shared', 'sovereign'),
            (['--force'], dict(action='store_true',
                               help='going sovereign, replace the database account even '
                                    'though it defined routines, triggers, views or events: '
                                    'they stop working, and each is named (the way past ones '
                                    'a shared site that knows the password makes again each '
                                    'time they are dropped)')),
            (['--json'], dict(action='store_true', help='print the results as JSON')),
        ]

    @expose(hide=True)
    def default(self):
        pargs = self.app.pargs
        self._run(lambda ctx: mt.isolate_sites(ctx, pargs.domain, pargs.every, pargs.isolation,
                                               pargs.force),
                  lambda outcome: self._emit(outcome, texts.per_site_text(outcome['sites'])))


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
        domains = self.app.pargs.domain
        self._run(lambda ctx: mt.revert_site(ctx, validate.one_domain(domains,
                                                                      'revert example.com')),
                  lambda result: self._emit(result, '{domain} runs on its own core again.'
                                            .format(**result)))


def confirm(question, force):
    """Go on when forced or when the person at the terminal says yes; refuse otherwise."""
    if force:
        return
    if not sys.stdin.isatty():
        raise InvalidInput('this deletes data: pass --force when no one can answer a question')
    if input(question + ' [y/N] ').strip().lower() not in ('y', 'yes'):
        raise InvalidInput('nothing was changed', 'answer y to go on, or pass --force')


def refuse(app, error):
    """Print an MTError and its hint on stderr (nothing for one without a message: its
    result said it) and end the command with its exit code. Without a terminal (cron,
    scripts) it is one line. Never returns: where app.close does not exit (a test app),
    SystemExit is raised, so no code after a refusal runs."""
    if error.message:  # either may hold what a site said (a file's or a trigger's name)
        message = texts.printable(error.message)
        if error.hint:
            message += ('\n  ' if sys.stderr.isatty() else ' -- ') + texts.printable(error.hint)
        print('Error: ' + message, file=sys.stderr)
    app.close(error.exit_code)
    raise SystemExit(error.exit_code)


def refuse_unparsable_args(app):
    """Explain the arguments argparse would only call "unknown args": a flag typed with
    an em or en dash (—le), or a domain starting with a hyphen."""
    argv = sys.argv[1:]  # app.argv has lost the words of the dispatched commands by now
    if argv and argv[0] == 'multitenancy':
        try:
            validate.parsable(argv[1:])
        except InvalidInput as e:
            refuse(app, e)


def load(app):
    from wo.cli.plugins import multitenancy_everyday as everyday  # they build on MTCommand
    from wo.cli.plugins import multitenancy_items as items
    app.hook.register('pre_argument_parsing', refuse_unparsable_args)
    for controller in (MultitenancyController, InitController, CreateController,
                       UpdateController, RollbackController, ConvertController, IsolateController,
                       RevertController, DeleteController, RemoveController) + everyday.CONTROLLERS + \
            items.CONTROLLERS:
        app.handler.register(controller)
