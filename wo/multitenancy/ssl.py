"""Let's Encrypt for a site, through WordOps' own WOAcme and SSL helpers.

WordOps' SSL code hard-codes /var/www/<domain>, so sites with Let's Encrypt need
sites_root = /var/www (checked before anything changes).
"""
import contextlib
import os
import sys

from wo.multitenancy import fs, nginx
from wo.multitenancy.errors import MTError


def secure(ctl, settings, domain, dns, hsts, changes):
    """Deploy a certificate for domain and www.domain into the site's conf/nginx/ssl.conf
    (reusing one acme.sh already holds, issuing one otherwise), redirect HTTP to HTTPS,
    optionally add HSTS. The undo removes the redirect, and the certificate only when
    this run issued it."""
    from wo.core.acme import WOAcme
    redirect = _redirect(settings, domain)
    changes.on_failure('remove the HTTPS redirect of ' + domain, lambda: fs.remove(redirect))
    with contextlib.redirect_stdout(sys.stderr):  # WordOps prints; stdout is for results
        if not WOAcme.cert_check(ctl, domain):
            changes.on_failure('remove the new certificate of ' + domain,
                               lambda: WOAcme.removeconf(ctl, domain))
            _issue(ctl, domain, dns)
        held = nginx.hold_tls_conf(settings, domain)
        if held:
            changes.on_failure('remove the TLS listeners of ' + domain,
                               lambda: fs.remove(nginx.tls_conf(settings, domain)))
        WOAcme.deploycert(ctl, domain)  # returns 0; a failure exits through Log.error
        if held:
            nginx.write_tls_listeners(ctl.app, settings, domain)
        _redirect_and_hsts(ctl, domain, hsts)
    nginx.check_config('the SSL configuration of {0} was refused by nginx'.format(domain))
    nginx.reload()


def remove(ctl, settings, domain):
    """Remove the HTTPS redirect and acme.sh's certificate of a deleted site."""
    from wo.core.acme import WOAcme
    fs.remove(_redirect(settings, domain))
    with contextlib.redirect_stdout(sys.stderr):
        WOAcme.removeconf(ctl, domain)


def _redirect(settings, domain):
    return os.path.join(settings.nginx_root, 'conf.d', 'force-ssl-{0}.conf'.format(domain))


def _issue(ctl, domain, dns):
    from wo.core.acme import WOAcme
    domains = [domain, 'www.' + domain]
    if not dns and not WOAcme.check_dns(ctl, domains):
        raise MTError('{0} does not point at this server'.format(domain),
                      'fix its DNS records, or use --dns=<provider>')
    acmedata = dict(dns=bool(dns), acme_dns=dns or 'dns_cf', dnsalias=False,
                    acme_alias='', keylength=_keylength(ctl))
    WOAcme.setupletsencrypt(ctl, domains, acmedata)  # a failure exits through Log.error


def _redirect_and_hsts(ctl, domain, hsts):
    from wo.core.sslutils import SSL
    if hsts:
        SSL.setuphsts(ctl, domain)
    SSL.httpsredirect(ctl, domain, [domain, 'www.' + domain], True)


def _keylength(ctl):
    if ctl.app.config.has_section('letsencrypt'):
        return ctl.app.config.get('letsencrypt', 'keylength')
    return 'ec-384'
