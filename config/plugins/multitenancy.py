"""WordOps plugin loader for wo multitenancy, installed as /var/lib/wo/plugins/multitenancy.py.

WordOps (Cement) imports every plugin enabled in /etc/wo/plugins.d and stops with a
traceback if one is missing. This loader, looked up before WordOps' own plugin
package, hands over to the installed plugin, and does nothing once
`pip uninstall wordops-multitenancy` has removed it, so `wo` keeps working.
"""


def load(app):
    try:
        from wo.cli.plugins.multitenancy import load as load_multitenancy
    except ImportError:
        return
    load_multitenancy(app)
