"""Let's Encrypt for a site, through WordOps' own WOAcme and SSL helpers."""
import contextlib
import os
import sys

from wo.multitenancy import fs, nginx
from wo.multitenancy.errors import MTError


def secure(ctl, settings, domain, dns, hsts, changes):
    """Issue (or reuse) a certificate for domain and www.domain, deploy it into the
    site's conf/nginx/ssl.conf, redirect HTTP to HTTPS, optionally add HSTS.

    WordOps' helpers exit the process on some failures (Log.error); that SystemExit
    is turned into MTError so the command's undo runs and the reason is shown.
    """
    redirect = os.path.join(settings.nginx_root, 'conf.d', 'force-ssl-{0}.conf'.format(domain))
    changes.on_failure('remove the certificate of ' + domain,
                       lambda: _forget(ctl, domain, redirect))
    try:
        with contextlib.redirect_stdout(sys.stderr):  # WordOps prints; stdout is for results
            _issue_and_deploy(ctl, domain, dns, hsts)
    except SystemExit:
        raise MTError("setting up Let's Encrypt for {0} failed".format(domain),
                      'see /var/log/wo/wordops.log, fix the cause, run the same command again')
    nginx.check_config('the SSL configuration of {0} was refused by nginx'.format(domain))
    nginx.reload()


def _issue_and_deploy(ctl, domain, dns, hsts):
    from wo.core.acme import WOAcme
    from wo.core.sslutils import SSL
    domains = [domain, 'www.' + domain]
    if WOAcme.cert_check(ctl, domain):
        SSL.archivedcertificatehandle(ctl, domain, domains)
    else:
        if not dns and not WOAcme.check_dns(ctl, domains):
            raise MTError('{0} does not point at this server'.format(domain),
                          'fix its DNS records, or use --dns=<provider>')
        acmedata = dict(dns=bool(dns), acme_dns=dns or 'dns_cf', dnsalias=False,
                        acme_alias='', keylength=_keylength(ctl))
        if not WOAcme.setupletsencrypt(ctl, domains, acmedata):
            raise MTError("Let's Encrypt did not issue a certificate for " + domain,
                          'see /var/log/wo/wordops.log')
        if WOAcme.deploycert(ctl, domain) != 0:  # WordOps returns 0 when deployed
            raise MTError('the certificate of {0} could not be deployed'.format(domain))
    if hsts:
        SSL.setuphsts(ctl, domain)
    SSL.httpsredirect(ctl, domain, domains, True)


def _keylength(ctl):
    if ctl.app.config.has_section('letsencrypt'):
        return ctl.app.config.get('letsencrypt', 'keylength')
    return 'ec-384'


def _forget(ctl, domain, redirect):
    from wo.core.acme import WOAcme
    fs.remove(redirect)
    WOAcme.removeconf(ctl, domain)
