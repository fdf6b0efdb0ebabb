"""The one place wo multitenancy sends mail: through the server's sendmail (postfix,
exim, msmtp's …), as cron does."""
from email.message import EmailMessage

from wo.multitenancy import runner
from wo.multitenancy.errors import MTError

SENDMAIL = '/usr/sbin/sendmail'


def send(to, subject, body):
    """Hand a plain-text mail to sendmail; MTError when it refuses or is missing."""
    message = EmailMessage()
    message['To'], message['Subject'] = to, subject
    message.set_content(body)
    try:
        runner.run([SENDMAIL, '-t', '-oi'], input=message.as_string(), timeout=60)
    except MTError as e:  # CommandFailed: refused, missing or too slow
        raise MTError('could not mail {0}: {1}'.format(to, e.message),
                      'install a mail transfer agent that provides ' + SENDMAIL +
                      ', or leave alert_email empty and let cron mail the output')
