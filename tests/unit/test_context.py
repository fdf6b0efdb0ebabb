"""What an interruption or an unexpected OSError says it left, from the journal."""
import signal

from wo.multitenancy.context import Journal
from wo.multitenancy.undo import Changes


def interrupted_in(journal, inside_scope):
    """The Interrupted error of a SIGTERM raised now (inside an undo scope or not)."""
    stop = KeyboardInterrupt()
    try:
        if inside_scope:
            with Changes(journal):
                raise stop
        raise stop
    except KeyboardInterrupt as e:
        return journal.interrupted(signal.SIGTERM, e)


def test_a_step_reported_is_named_in_lower_case():
    shown = []
    journal = Journal(shown.append)
    journal.report('Staging WordPress from wordpress.org')
    journal.report('[2/3] Converting b.test')
    assert shown == ['Staging WordPress from wordpress.org', '[2/3] Converting b.test']
    assert journal.step == '[2/3] converting b.test'


def test_inside_an_undo_scope_its_changes_were_undone():
    journal = Journal(lambda text: None)
    journal.report('Staging WordPress from wordpress.org')
    error = interrupted_in(journal, inside_scope=True)
    assert (error.exit_code, error.message, error.hint) == (
        143, 'interrupted by SIGTERM while staging WordPress from wordpress.org: its changes '
        'were undone', 'run the same command again')


def test_after_an_undo_scope_what_was_done_stays():
    journal = Journal(lambda text: None)
    with Changes(journal):
        journal.report('Switching every site to wp-2')
    journal.during('checking every site over HTTP')
    error = interrupted_in(journal, inside_scope=False)
    assert error.message == ('interrupted by SIGTERM while checking every site over HTTP: '
                             'what was done stays')
    assert error.hint == 'run the same command again: it finishes the rest'


def test_before_its_first_step():
    error = interrupted_in(Journal(lambda text: None), inside_scope=False)
    assert (error.message, error.hint) == ('interrupted by SIGTERM before its first step',
                                           'run the same command again')


def test_an_earlier_scope_undone_does_not_count_for_a_later_interruption():
    journal = Journal(lambda text: None)
    try:
        with Changes(journal):
            raise OSError(13, 'Permission denied')
    except OSError:
        pass
    journal.report('Recording the site')
    assert interrupted_in(journal, inside_scope=False).message == (
        'interrupted by SIGTERM while recording the site: what was done stays')


def test_an_os_error_names_itself_and_the_step():
    journal = Journal(lambda text: None)
    journal.report('Installing WordPress')
    error = OSError(28, 'No space left on device')
    try:
        with Changes(journal):
            raise error
    except OSError:
        pass
    unexpected = journal.unexpected(error)
    assert (unexpected.exit_code, unexpected.message) == (
        1, '[Errno 28] No space left on device while installing WordPress')
    assert unexpected.hint == ('its changes were undone; fix the cause (disk space, permissions) '
                               'and run the same command again')
