"""A compromised site's PHP, racing root: run as the web user, it keeps swapping each
PATH between what is there and a link to TARGET, as fast as it can, until killed.

    runuser -u www-data -- python3 tests/flipper.py TARGET PATH [PATH ...]

Each swap is one renameat2(RENAME_EXCHANGE) of PATH and a link beside it, so PATH is
always there: a real directory or file one moment, a link to TARGET the next. TARGET
"fifo" swaps it with a FIFO instead (opening one for reading waits for a writer). A swap
the web user may not make yet (the directory is root's, or not there) is tried again,
and again.
"""
import ctypes
import os
import sys

AT_FDCWD, RENAME_EXCHANGE = -100, 2


def main(target, paths):
    libc = ctypes.CDLL(None, use_errno=True)
    pairs = [(os.fsencode(p), os.fsencode(p + '.mt-flip')) for p in paths]
    print('flipping', flush=True)
    while True:
        for path, link in pairs:
            if libc.renameat2(AT_FDCWD, path, AT_FDCWD, link, RENAME_EXCHANGE) != 0:
                try:  # the link is not there yet: the directory may have become ours
                    os.mkfifo(link) if target == 'fifo' else os.symlink(target, link)
                except OSError:
                    pass


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2:])
