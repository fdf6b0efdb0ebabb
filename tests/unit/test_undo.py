import pytest

from wo.multitenancy.undo import Changes


def test_undos_run_in_reverse_when_a_step_fails():
    done = []
    with pytest.raises(RuntimeError):
        with Changes() as changes:
            changes.on_failure('first', lambda: done.append('first'))
            changes.on_failure('second', lambda: done.append('second'))
            raise RuntimeError('step three failed')
    assert done == ['second', 'first']


def test_nothing_is_undone_after_success():
    done = []
    with Changes() as changes:
        changes.on_failure('first', lambda: done.append('first'))
    assert done == []


# SystemExit is what a WordOps helper's Log.error raises.
@pytest.mark.parametrize('failure', [OSError('cannot'), SystemExit(1)])
def test_a_failing_undo_does_not_stop_the_others(failure):
    done = []

    def broken():
        raise failure

    with pytest.raises(ValueError):
        with Changes() as changes:
            changes.on_failure('first', lambda: done.append('first'))
            changes.on_failure('broken', broken)
            raise ValueError()
    assert done == ['first']


@pytest.mark.parametrize('interruption', [SystemExit(1), KeyboardInterrupt()])
def test_exits_and_interrupts_also_unwind(interruption):
    done = []
    with pytest.raises(type(interruption)):
        with Changes() as changes:
            changes.on_failure('first', lambda: done.append('first'))
            raise interruption
    assert done == ['first']



def test_nothing_done_before_or_after_keep_is_undone():
    done = []
    with pytest.raises(RuntimeError):
        with Changes() as changes:
            changes.on_failure('before', lambda: done.append('before'))
            changes.keep()
            changes.on_failure('after', lambda: done.append('after'))
            raise RuntimeError('a step past the point of no return failed')
    assert done == [] and changes.kept and changes.undone_cleanly


def test_the_journal_is_told_a_kept_scope_left_its_changes():
    class Journal:
        def scope_ended(self, exc):
            self.ended_with = exc

    journal = Journal()
    with pytest.raises(RuntimeError):
        with Changes(journal) as changes:
            changes.keep()
            raise RuntimeError()
    assert journal.ended_with is None
    with pytest.raises(RuntimeError):
        with Changes(journal):
            raise RuntimeError('undone')
    assert str(journal.ended_with) == 'undone'
