import os

import pytest

from wo.multitenancy import lock
from wo.multitenancy.errors import EXIT_BUSY, Busy


def test_a_second_holder_is_refused_with_the_first_ones_pid(tmp_path):
    path = str(tmp_path / 'wo' / 'multitenancy.lock')
    with lock.exclusive(path):
        with pytest.raises(Busy) as busy:
            with lock.exclusive(path):
                pytest.fail('two holders at once')
    assert busy.value.exit_code == EXIT_BUSY
    assert busy.value.message == 'another wo multitenancy command is running (pid {0})'.format(
        os.getpid())


def test_the_lock_is_free_again_once_released(tmp_path):
    path = str(tmp_path / 'multitenancy.lock')
    with lock.exclusive(path):
        pass
    with lock.exclusive(path):
        with open(path) as f:
            assert f.read() == str(os.getpid())


def test_the_lock_is_released_when_the_holder_raises(tmp_path):
    path = str(tmp_path / 'multitenancy.lock')
    with pytest.raises(RuntimeError):
        with lock.exclusive(path):
            raise RuntimeError('a command failed')
    with lock.exclusive(path):
        pass
