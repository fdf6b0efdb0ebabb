"""Maintenance pages: nginx answers a site's visitors 503 with Retry-After, from a
static page of root's, without PHP. /wp-login.php, /wp-admin/, the page of a login
link (/?wo-mt-login), /wp-cron.php, the static files under /wp-includes/ and
/wp-content/, and every request with a WordPress login cookie (the site's admins, and
our own probes: health.PROBE_COOKIE) still reach the site.

The page and its include lie in the site's conf/nginx, root's alone; the include being
there is what says maintenance is on. update and rollback do not touch either, so a
site stays in maintenance through them; delete removes them with the site.
A login cookie is no secret: a visitor who sends one sees the site. Maintenance tells
visitors to come back; it is not access control.
"""
import html
import os
import time

from wo.multitenancy import fs, nginx
from wo.multitenancy.errors import InvalidInput

INCLUDE = 'wo-multitenancy-maintenance.conf'
PAGE = 'wo-multitenancy-maintenance.html'
PAGE_URI = '/' + PAGE  # internal: a visitor asking for it gets 404
RETRY_AFTER = 600  # seconds
DEFAULT_MESSAGE = '{0} is down for maintenance. Please come back soon.'

# Server-level rewrites: they run before any location (cache included), and again for
# the error page's internal redirect, which must pass.
INCLUDE_TEXT = '''# wo multitenancy maintenance, on since {since} (wo multitenancy maintenance off {domain})
set $wo_mt_closed 1;
if ($uri ~ "^/(wp-login\\.php$|wp-cron\\.php$|wp-admin/|wp-includes/|wp-content/|{page}$)") {{
    set $wo_mt_closed 0;
}}
if ($args ~ "(^|&)wo-mt-login(=|&|$)") {{
    set $wo_mt_closed 0;
}}
if ($uri ~ "^/wp-(includes|content)/.*\\.php$") {{
    set $wo_mt_closed 1;
}}
if ($http_cookie ~ "wordpress_logged_in_") {{
    set $wo_mt_closed 0;
}}
if ($wo_mt_closed) {{
    return 503;
}}
error_page 503 {uri};
location = {uri} {{
    internal;
    alias {page_path};
    add_header Retry-After {retry} always;
    add_header Cache-Control "no-store" always;
}}
'''

PAGE_TEXT = '''<!DOCTYPE html>
<html><head><meta charset="utf-8"><meta name="robots" content="noindex">
<title>Maintenance</title></head>
<body><p>{0}</p></body></html>
'''


def include_path(settings, domain):
    return os.path.join(nginx.site_conf_dir(settings, domain), INCLUDE)


def page_path(settings, domain):
    return os.path.join(nginx.site_conf_dir(settings, domain), PAGE)


def is_on(settings, domain):
    return os.path.exists(include_path(settings, domain))


def message_of(settings, domain):
    """The message visitors of a site in maintenance read (None when it is not)."""
    if not is_on(settings, domain):
        return None
    with open(page_path(settings, domain), encoding='utf-8') as f:
        text = f.read()
    return html.unescape(text.split('<p>', 1)[1].split('</p>', 1)[0])


def turn_on(settings, domain, message, changes):
    """Write the site's page, then its include (the undo removes both); whether it
    changed. nginx is tested and reloaded by the caller."""
    message = message or DEFAULT_MESSAGE.format(domain)
    if message_of(settings, domain) == message:
        return False
    nginx.require_roots_conf_dir(settings, domain)
    if not is_on(settings, domain):  # a new message for a site in maintenance stays
        changes.on_failure('take {0} out of maintenance'.format(domain),
                           lambda: turn_off(settings, domain))
    fs.write_file(page_path(settings, domain), PAGE_TEXT.format(html.escape(message)))
    fs.write_file(include_path(settings, domain), INCLUDE_TEXT.format(
        since=time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime()), domain=domain, page=PAGE,
        uri=PAGE_URI, page_path=page_path(settings, domain), retry=RETRY_AFTER))
    return True


def turn_off(settings, domain):
    """Remove the include, then the page; whether it was on."""
    was_on = is_on(settings, domain)
    fs.remove(include_path(settings, domain))
    fs.remove(page_path(settings, domain))
    return was_on


def require_message(message):
    """A message is one line of text, 500 characters at most."""
    if message is not None and (not message.strip() or len(message) > 500 or
                                any(ord(c) < 32 for c in message)):
        raise InvalidInput('the maintenance message must be one line of 1 to 500 characters',
                      'for example --message "Back at 14:00 UTC"')

