"""Where wo multitenancy logs: the `wo.multitenancy` logger, to syslog when asked
(enable_syslog, with syslog_tag), never through Python's last-resort handler."""
import logging
import logging.handlers
import os

log = logging.getLogger('wo.multitenancy')
# Without a handler, Python's last resort prints every record on stderr, beside our message.
log.addHandler(logging.NullHandler())


def attach_syslog(settings):
    """Send the logger's records to syslog too, once, when enable_syslog and /dev/log."""
    log.setLevel(logging.INFO)
    if settings.enable_syslog and os.path.exists('/dev/log') and not any(
            isinstance(h, logging.handlers.SysLogHandler) for h in log.handlers):
        handler = logging.handlers.SysLogHandler(address='/dev/log')
        handler.setFormatter(logging.Formatter(settings.syslog_tag + ': %(message)s'))
        log.addHandler(handler)
