"""The send buffer a TCP connection starts with, against Linux: `tcp_init_buffer_space`
sizes it from the congestion control's `sndbuf_expand` (2 windows, BBR 3), 10 segments
and Linux's per-MSS truesize bound. The same client runs natively in the namespace and
over libos, both with MSS clamped to 1460 (TCP_MAXSEG), and SO_SNDBUF must agree."""

import pytest

from conftest import LINUX_IP, PY, retry

CLIENT = """
import socket, sys
c = socket.socket()
c.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, 1460)
c.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, sys.argv[2].encode())
c.connect((sys.argv[1], 9000))
print(c.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF))
"""

SERVER = """
import socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('0.0.0.0', 9000))
s.listen(8)
while True:
    s.accept()[0].close()
"""


@pytest.mark.parametrize("cc", ["cubic", "bbr"])
def test_send_buffer_after_connect_is_linuxs(ns, cc):
    ns.popen(PY, "-c", SERVER)
    retry(lambda: ns.run(PY, "-c", CLIENT, LINUX_IP, cc))
    linux = int(ns.run(PY, "-c", CLIENT, LINUX_IP, cc).stdout)
    libos = int(ns.libos(PY, "-c", CLIENT, LINUX_IP, cc).stdout)
    # Linux 6.18 here: 2 (BBR 3) x 10 segments x 2,304 bytes, 46,080 and 69,120.
    assert linux > 16384, "tcp_wmem[1], not expanded"
    assert libos == linux
