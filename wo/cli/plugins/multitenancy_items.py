"""wo multitenancy plugin and theme: the versions of the shared plugins and themes, updated,
rolled back and listed as the core's releases are. Their controllers build on
multitenancy.MTCommand, which parses, runs and prints them and turns their errors into
exit codes."""
from cement.core.controller import expose

from wo.cli.plugins import multitenancy_everyday_functions as everyday
from wo.cli.plugins import multitenancy_functions as mt
from wo.cli.plugins.multitenancy import MTCommand, report_quietly
from wo.multitenancy import texts

ACTIONS = ('update', 'rollback', 'list')


class ItemCommand(MTCommand):
    """plugin or theme: its Meta names the kind."""

    class Meta:
        arguments = [
            (['action'], dict(choices=ACTIONS, help='update, rollback or list')),
            (['slug'], dict(nargs='*', help='the slugs (their folders in the shared wp-content)')),
            (['--all'], dict(action='store_true', dest='every',
                             help='update: every one of the shared set')),
            (['--source'], dict(metavar='ZIP|DIR|URL',
                                help='update: the new version from a .zip, a folder or a URL '
                                     '(one slug; default: wordpress.org)')),
            (['--version'], dict(metavar='X', dest='item_version',
                                 help='update: this wordpress.org version instead of the latest')),
            (['--to'], dict(metavar='VERSION', help='rollback: a version kept (see list)')),
            (['--force'], dict(action='store_true', help='update, rollback: skip the canary')),
            (['--json'], dict(action='store_true', help='print the result as JSON')),
        ]

    def _kind(self):
        return self._meta.label.replace('mt_', '', 1) + 's'

    def _audited(self):
        name, argv, domains = super()._audited()
        return '{0}_{1}'.format(name, self.app.pargs.action), argv, domains

    @expose(hide=True)
    def default(self):
        pargs, kind = self.app.pargs, self._kind()
        if pargs.action == 'list':
            self._run(lambda ctx: everyday.list_items(ctx, kind),
                      lambda listing: self._emit(listing, texts.items_text(listing)))
        elif pargs.action == 'update':
            self._run(lambda ctx: mt.item_update(ctx, kind, pargs.slug, pargs.every, pargs.source,
                                                 pargs.item_version, pargs.force),
                      lambda result: report_quietly(
                          self, result, texts.item_switch_text(result, 'Updated')))
        else:
            self._run(lambda ctx: mt.item_rollback(ctx, kind, pargs.slug, pargs.to,
                                                   pargs.force),
                      lambda result: report_quietly(
                          self, result, texts.item_switch_text(result, 'Rolled back')))


class PluginController(ItemCommand):
    class Meta:
        label = 'mt_plugin'
        aliases = ['plugin']
        description = (
            'The shared plugins, kept as versions like the core\'s releases. update: stage '
            'the new version (wordpress.org, its published checksums verified, or --source), '
            'prove it on a canary site that has it active (pages and /wp-admin/ answer '
            'without a PHP error), switch every site at once, let each site using it '
            'upgrade, purge page caches, probe those sites, keep keep_releases versions. '
            'rollback: back to the version before (or --to), the same way. list: the version '
            'in use, those kept, the sites that have it active.')


class ThemeController(ItemCommand):
    class Meta:
        label = 'mt_theme'
        aliases = ['theme']
        description = (
            'The shared themes, kept as versions like the core\'s releases: update, rollback '
            'and list as for plugins (see wo multitenancy plugin --help); a theme\'s users '
            'are the sites that have it, or a child of it, as their theme.')


CONTROLLERS = (PluginController, ThemeController)
