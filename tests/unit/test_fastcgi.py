import struct

from wo.multitenancy import phpfpm


def test_name_value_pairs_use_short_and_long_lengths():
    assert phpfpm._pair(b'A', b'xy') == b'\x01\x02Axy'
    long_value = b'v' * 200
    encoded = phpfpm._pair(b'K', long_value)
    assert encoded[:5] == b'\x01' + struct.pack('>I', 200 | 0x80000000)
    assert encoded.endswith(long_value)


def test_only_stdout_records_make_the_answer():
    answer = (phpfpm._record(6, b'Content-type: text/html\r\n\r\n{"scripts": 3}')
              + phpfpm._record(7, b'a warning on stderr')
              + phpfpm._record(6, b'')
              + phpfpm._record(3, b'\x00' * 8))
    assert phpfpm._stdout(answer) == b'Content-type: text/html\r\n\r\n{"scripts": 3}'
