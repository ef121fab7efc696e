"""The TCP sink the interop tests run on the Linux side: a Python script that listens on
(ip, port), prints LISTENING, reads one connection to its end, then prints the byte
count and SHA-256 of what it read (and, if asked, the peer's address)."""

import textwrap


def sink_script(ip, port, with_peer=False):
    family = "AF_INET6" if ":" in ip else "AF_INET"
    peer = ", peer[0]" if with_peer else ""
    return textwrap.dedent(f"""
        import hashlib, socket
        s = socket.socket(socket.{family}, socket.SOCK_STREAM)
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
