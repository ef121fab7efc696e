"""The TCP stream scripts the interop tests run on the Linux side: a source that sends
`size` bytes of the test pattern (conftest.pattern) and waits for the peer's FIN, and a
sink that reads one connection to its end and prints the byte count and SHA-256."""

import textwrap


def family(ip):
    return "AF_INET6" if ":" in ip else "AF_INET"


def source_script(ip, port, size, timeout=30):
    """Connects to (ip, port), prints "LOCAL <port>", sends the pattern, then half-closes
    and waits for the peer's FIN."""
    return textwrap.dedent(f"""
        import socket
        data = bytes(((i * 7) + (i >> 8)) & 0xff for i in range({size}))
        c = socket.socket(socket.{family(ip)}, socket.SOCK_STREAM)
        c.settimeout({timeout}); c.connect(("{ip}", {port}))
        print("LOCAL", c.getsockname()[1], flush=True)
        c.sendall(data); c.shutdown(socket.SHUT_WR)
        assert c.recv(1) == b""
        c.close()
    """)


def sink_script(ip, port, with_peer=False):
    """Listens on (ip, port), prints LISTENING, then "<bytes> <sha256>" (and the peer's
    address if `with_peer`) once the one connection ends."""
    peer = ", peer[0]" if with_peer else ""
    return textwrap.dedent(f"""
        import hashlib, socket
        s = socket.socket(socket.{family(ip)}, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("{ip}", {port})); s.listen(1)
        print("LISTENING", flush=True)
        c, peer = s.accept(); h = hashlib.sha256(); n = 0
        while True:
            b = c.recv(65536)
            if not b: break
            h.update(b); n += len(b)
        c.close(); print(n, h.hexdigest(){peer}, flush=True)
    """)
