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

