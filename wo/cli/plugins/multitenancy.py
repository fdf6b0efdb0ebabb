"""wo multitenancy: command-line controller (skeleton)."""
from cement.core.controller import CementBaseController, expose


class MultitenancyController(CementBaseController):
    class Meta:
        label = 'multitenancy'
        stacked_on = 'base'
        stacked_type = 'nested'
        description = 'Many WordPress sites on one shared WordPress core'

    @expose(hide=True)
    def default(self):
        self.app.args.print_help()


def load(app):
    app.handler.register(MultitenancyController)
