"""WordOps plugin loader for wo multitenancy, installed as /var/lib/wo/plugins/multitenancy.py
by install-multitenancy.sh.

WordOps (Cement) imports every plugin enabled in /etc/wo/plugins.d, looking in
/var/lib/wo/plugins first, and stops `wo` with a traceback if one is missing. This
loader hands over to the installed package (wordops-multitenancy) and does nothing
once `pip uninstall wordops-multitenancy` has removed it, so `wo` keeps working.
"""
try:
    from wo.cli.plugins.multitenancy import load as _load
except ModuleNotFoundError as error:
    if error.name != 'wo.cli.plugins.multitenancy':
        raise  # the plugin is there but broken: show why
    _load = None


def load(app):
    if _load is not None:
        _load(app)
