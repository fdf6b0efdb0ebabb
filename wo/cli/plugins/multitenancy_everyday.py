"""wo multitenancy's everyday commands on the sites there are: list, status, info, verify,
baseline, login, maintenance, cron, backup, restore and audit. Their controllers build on multitenancy.MTCommand, which
parses, runs and prints them and turns their errors into exit codes; the commands that
make, move or remove sites and releases are in multitenancy.py.
"""
from cement.core.controller import expose

from wo.cli.plugins import multitenancy_everyday_functions as everyday
from wo.cli.plugins.multitenancy import MTCommand
from wo.multitenancy import texts, validate


class ListController(MTCommand):
    class Meta:
        label = 'mt_list'
        aliases = ['list']
        description = 'List the sites on the shared core.'
        arguments = [(['--json'], dict(action='store_true', help='print JSON'))]

    @expose(hide=True)
    def default(self):
        self._run(everyday.list_sites, lambda sites: self._emit(sites, texts.list_text(sites)))


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
        self._run(everyday.status, lambda report: self._emit(report, texts.status_text(report)))


class InfoController(MTCommand):
    class Meta:
        label = 'mt_info'
        aliases = ['info']
        description = ('Show what the registry holds of a site on the shared core: its state '
                       '(provisioning, verifying, live, failed, deleting), root, PHP, cache, '
                       'release, database, database user and the host it was created at, and '
                       'its last verification. Never a password.')
        arguments = [
            (['domain'], dict(nargs='*', help='the site')),
            (['--json'], dict(action='store_true', help='print JSON')),
        ]

    @expose(hide=True)
    def default(self):
        domains = self.app.pargs.domain
        self._run(lambda ctx: everyday.site_info(ctx, validate.one_domain(domains, 'info example.com')),
                  lambda record: self._emit(record, texts.info_text(record)))


class VerifyController(MTCommand):
    class Meta:
        label = 'mt_verify'
        aliases = ['verify']
        description = ('Verify sites on the shared core, each check named with pass or FAIL: '
                       'database_writer (its database user exists at exactly the host it was '
                       'created at, no anonymous account, WordOps\' grants on its own '
                       'database alone, no other account granted on it, and the site can '
                       'write, read and drop a table), '
                       'host_binding (MariaDB takes the site\'s connection for that account), '
                       'schema_and_users (its tables, db_version, an administrator), '
                       'no_legacy_paths (nothing left of an own core, no link or option '
                       'pointing out of its root and the shared core), jobs_drain (its due '
                       'WP-Cron events run and none is left), isolation (a sovereign site: '
                       'its pool, socket and files as written, and its own PHP reaches nothing '
                       'of other sites or the shared core), serves (it answers through '
                       'nginx). Exits 3 when any check fails.')
        arguments = [
            (['domain'], dict(nargs='*', help='the sites to verify')),
            (['--all'], dict(action='store_true', dest='every', help='every site on the shared core')),
            (['--json'], dict(action='store_true', help='print the results as JSON')),
        ]

    @expose(hide=True)
    def default(self):
        pargs = self.app.pargs
        self._run(lambda ctx: everyday.verify_sites(ctx, pargs.domain, pargs.every),
                  lambda outcome: self._emit(outcome, texts.verification_text(outcome['sites'])))


class BaselineController(MTCommand):
    class Meta:
        label = 'mt_baseline'
        aliases = ['baseline']
        description = ('Show the baseline (the theme and plugins every site must have, and '
                       'the versions shared plugins and themes are pinned to), or change it '
                       'and bring every site to it. A plugin or theme is a wordpress.org '
                       'slug, a .zip or a directory. A pin changes no site now: update '
                       '(and plugin|theme update without --version) brings the plugin to '
                       'its version, and refuses another one.')
        arguments = [
            (['--add-plugin'], dict(action='append', default=[], metavar='PLUGIN',
                                    dest='add_plugin', help='add a plugin (repeatable)')),
            (['--remove-plugin'], dict(action='append', default=[], metavar='SLUG',
                                       dest='remove_plugin', help='stop requiring a plugin')),
            (['--theme'], dict(metavar='THEME', help='the theme every site uses')),
            (['--pin-plugin'], dict(action='append', default=[], metavar='SLUG=VERSION',
                                    dest='pin_plugin',
                                    help='keep a shared plugin at VERSION: update brings it '
                                         'there and no further; SLUG=latest follows '
                                         'wordpress.org again (repeatable)')),
            (['--pin-theme'], dict(action='append', default=[], metavar='SLUG=VERSION',
                                   dest='pin_theme', help='the same for a shared theme')),
            (['--json'], dict(action='store_true', help='print JSON')),
        ]

    @expose(hide=True)
    def default(self):
        pargs = self.app.pargs
        self._run(lambda ctx: everyday.change_baseline(
            ctx, pargs.add_plugin, pargs.remove_plugin, pargs.theme,
            {'plugins': pargs.pin_plugin, 'themes': pargs.pin_theme}),
                  lambda current: self._emit(current, texts.baseline_text(current)))


class LoginController(MTCommand):
    class Meta:
        label = 'mt_login'
        aliases = ['login']
        description = ("Print a link that logs its bearer into a site's dashboard once, as "
                       '--user (default: its first administrator), within --ttl seconds '
                       '(default 60, at most 300: the site refuses an older link whatever it '
                       'says). The token is in the link\'s #fragment, which browsers never '
                       'send, so it reaches no log, Referer or cache; the page it opens is '
                       'posted with one click, so a mail scanner or link preview that fetches '
                       'the link uses nothing. It is '
                       'signed with a key of that site alone and is refused on any other. A '
                       'second use, a late one, a tampered one or one for a deleted user gets '
                       'one neutral page (403); each use and refusal is in the audit trail '
                       '(with the first 8 characters of its id).')
        arguments = [
            (['domain'], dict(nargs='*', help='the site')),
            (['--user'], dict(metavar='LOGIN', help='log in as this user')),
            (['--redirect'], dict(metavar='PATH', help='where to land, a path on the site '
                                                        '(default: the dashboard)')),
            (['--ttl'], dict(type=int, default=60, metavar='SECONDS',
                             help='how long the link lives, 1 to 300 (default 60)')),
            (['--json'], dict(action='store_true', help='print JSON')),
        ]

    @expose(hide=True)
    def default(self):
        pargs = self.app.pargs
        domains = pargs.domain
        self._run(lambda ctx: everyday.login(ctx, validate.one_domain(domains, 'login example.com'),
                                       pargs.user, pargs.redirect, pargs.ttl),
                  lambda result: self._emit(result, texts.login_link_text(result)))


class MaintenanceController(MTCommand):
    class Meta:
        label = 'mt_maintenance'
        aliases = ['maintenance']
        description = ('Put sites on the shared core in maintenance, or take them out: their '
                       'visitors get a 503 page with Retry-After, served by nginx without PHP, '
                       'while /wp-login.php, /wp-admin/, static files and whoever is logged in '
                       'still reach the site. It lasts through update and rollback; status '
                       'shows it.')
        arguments = [
            (['mode'], dict(choices=('on', 'off'), help='on or off')),
            (['domain'], dict(nargs='*', help='the sites')),
            (['--all'], dict(action='store_true', dest='every', help='every site on the shared core')),
            (['--message'], dict(metavar='TEXT', help='what visitors read (one line; default: '
                                                       '"<site> is down for maintenance. Please '
                                                       'come back soon.")')),
            (['--json'], dict(action='store_true', help='print the results as JSON')),
        ]

    @expose(hide=True)
    def default(self):
        pargs = self.app.pargs
        self._run(lambda ctx: everyday.set_maintenance(ctx, pargs.mode, pargs.domain, pargs.every,
                                                 pargs.message),
                  lambda outcome: self._emit(outcome, texts.maintenance_text(outcome['sites'])))


class CronController(MTCommand):
    class Meta:
        label = 'mt_cron'
        aliases = ['cron']
        description = ('Show whether the system cron runs the sites\' WP-Cron events '
                       '(/etc/cron.d/wo-multitenancy-wp-cron, every minute), and each site\'s next '
                       'event, the second of the minute it starts at, and its last run. With '
                       '--run, do what that cron line does: run the due events of every live '
                       'site, as the site\'s own PHP user, one site after another, each at its '
                       'own second of the minute; quiet unless a site\'s run failed (exit 1). '
                       'While it runs, page views do not start WP-Cron (DISABLE_WP_CRON); '
                       'ten minutes without a run and the sites run it themselves again.')
        arguments = [
            (['--run'], dict(action='store_true', help='run the due events now (the cron line)')),
            (['--json'], dict(action='store_true', help='print JSON')),
        ]

    @expose(hide=True)
    def default(self):
        if self.app.pargs.run:
            self._run(everyday.run_cron, lambda outcome: self._emit_if_news(
                outcome, texts.cron_run_text(outcome)))
        else:
            self._run(everyday.cron_jobs, lambda report: self._emit(report, texts.cron_text(report)))

    def _emit_if_news(self, outcome, text):
        if self.app.pargs.json:
            self._emit(outcome, text)
        elif text:
            print(text)


class BackupController(MTCommand):
    class Meta:
        label = 'mt_backup'
        aliases = ['backup']
        description = ('Back up sites on the shared core into the restic repository '
                       '(backup_repository: deduplicated, encrypted, checked; its password '
                       'is root\'s alone): a snapshot per site of its wp-config.php, its '
                       'uploads, a consistent dump of its database (no lock that stops the '
                       'site) and its registry record with the core, baseline, plugins and '
                       'theme it runs. Never the shared core. --prune then keeps keep_daily, '
                       'keep_weekly and keep_monthly snapshots per site and frees the rest. '
                       '--list shows a site\'s snapshots.')
        arguments = [
            (['domain'], dict(nargs='*', help='the sites')),
            (['--all'], dict(action='store_true', dest='every', help='every live site on the shared core')),
            (['--prune'], dict(action='store_true', help='then forget snapshots beyond the retention')),
            (['--list'], dict(action='store_true', help='list the snapshots of one site')),
            (['--json'], dict(action='store_true', help='print JSON')),
        ]

    @expose(hide=True)
    def default(self):
        pargs = self.app.pargs
        if pargs.list:
            self._run(lambda ctx: everyday.snapshots_of(ctx, validate.one_domain(
                pargs.domain, 'backup --list example.com')),
                lambda found: self._emit(found, texts.snapshots_text(found)))
        else:
            self._run(lambda ctx: everyday.back_up_sites(ctx, pargs.domain, pargs.every, pargs.prune),
                      lambda outcome: self._emit(outcome, texts.backup_text(outcome)))


class RestoreController(MTCommand):
    class Meta:
        label = 'mt_restore'
        aliases = ['restore']
        description = ('Bring a site\'s database and uploads back to a snapshot (the newest '
                       'unless --snapshot), the site in maintenance meanwhile, its database '
                       'upgraded to the core it runs now, and proven over HTTP before it says '
                       'done. Its wp-config.php stays (its database account is the one that '
                       'works now). A restore that fails puts the database and the uploads '
                       'back as they were. With --as NEWDOMAIN the snapshot becomes a new '
                       'site of that name instead, for inspection (the site itself is not '
                       'touched and need not exist any more): made as create makes one, with '
                       'the snapshot\'s PHP version, cache and isolation, on plain HTTP, its '
                       'addresses moved to NEWDOMAIN (links in its posts still name the old '
                       'one); wo multitenancy login NEWDOMAIN logs you in.')
        arguments = [
            (['domain'], dict(nargs='*', help='the site the snapshot is of')),
            (['--snapshot'], dict(metavar='ID', help='the snapshot (backup --list shows them)')),
            (['--as'], dict(metavar='NEWDOMAIN', dest='as_domain',
                            help='restore into a new site of this name')),
            (['--json'], dict(action='store_true', help='print JSON')),
        ]

    @expose(hide=True)
    def default(self):
        pargs = self.app.pargs
        self._run(lambda ctx: everyday.restore_site(ctx, validate.one_domain(
            pargs.domain, 'restore example.com'), pargs.snapshot, pargs.as_domain),
            lambda result: self._emit(result, texts.restore_text(result)))

    def _audited(self):
        """The copy --as makes is in the audit trail of its own domain too."""
        name, words, domains = super()._audited()
        return name, words, domains + [d for d in [self.app.pargs.as_domain] if d]


class AuditController(MTCommand):
    class Meta:
        label = 'mt_audit'
        aliases = ['audit']
        description = ('List the audit trail: every command that changed something (init, '
                       'create, convert, revert, isolate, update, rollback, baseline, delete, '
                       'remove, verify, login) and every use or refusal of a login link, who ran '
                       'it (the sudo user, else the login user), '
                       'its arguments without secrets, the sites it touched, its result and '
                       'exit code, how long it took, and the release and baseline before and '
                       'after when they changed. A command killed before it could record its '
                       'end is shown as interrupted once any command runs again. --summary '
                       'prints what happened on one day, nothing on a day without news '
                       '(anything failed, refused, unhealthy, busy or interrupted), mails it '
                       'to alert_email when set, and prunes events older than '
                       'audit_keep_days: run it daily from cron (README).')
        arguments = [
            (['--site'], dict(metavar='DOMAIN', help='only events that touched this site')),
            (['--since'], dict(metavar='WHEN', help='from WHEN on: a date, a time or an age '
                                                     '(2026-12-01, "2026-12-01 14:00", 2h, 7d)')),
            (['--until'], dict(metavar='WHEN', help='before WHEN')),
            (['--failed'], dict(action='store_true', help='only events that did not end ok')),
            (['--summary'], dict(action='store_true', help="one day's summary")),
            (['--day'], dict(metavar='YYYY-MM-DD', help='the day of --summary (default: '
                                                        'yesterday, the last whole day)')),
            (['--json'], dict(action='store_true', help='print JSON')),
        ]

    @expose(hide=True)
    def default(self):
        pargs = self.app.pargs
        if pargs.summary:
            self._run(lambda ctx: everyday.audit_summary(ctx, pargs.day), self._summary)
        else:
            self._run(lambda ctx: everyday.audit_events(ctx, pargs.site, pargs.since, pargs.until,
                                                   pargs.failed),
                      lambda result: self._emit(result, texts.audit_text(result)))

    def _summary(self, report):
        text = texts.summary_text(report)
        if self.app.pargs.json:
            self._emit(report, text)
        elif text and 'mailed_to' not in report:
            print(text)


CONTROLLERS = (ListController, StatusController, InfoController, VerifyController,
               BaselineController, LoginController, MaintenanceController, CronController,
               BackupController, RestoreController, AuditController)
