"""The shim's contract beyond the happy path: mixed host/libos fd sets in select, poll
and epoll; host fds untouched; clear messages (and no hang) for a bad config, a missing
TAP permission and unsupported calls; fork behaviour; and a PIPE link joining two
unprivileged libos processes."""

import os
import shutil
import subprocess
import tempfile
import textwrap

import pytest

from conftest import (LIBOS_IP, LINUX_IP, NUSE_BIN, NUSE_LIB, PY, require_bins, require_root, retry,
                      sh, sha256, tap_config)

# A Linux-side TCP server for the mixed-poll tests: waits for "go", answers "hello",
# then holds the connection until the client closes.
LINUX_GO_SERVER = textwrap.dedent(f"""
    import socket
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("{LINUX_IP}", 9000)); s.listen(1)
    print("LISTENING", flush=True)
    c, _ = s.accept()
    assert c.recv(2) == b"go"
    c.sendall(b"hello")
    c.recv(1)
""")

MIXED_CLIENT = textwrap.dedent(f"""
    import os, select, socket, threading, time
    a, b = socket.socketpair()                    # host AF_UNIX pair
    s = socket.create_connection(("{LINUX_IP}", 9000), timeout=10)   # libos TCP
    s.setblocking(True)

    def sel(fds, t):
        return set(select.select(fds, [], [], t)[0])

    def pol(fds, t):
        p = select.poll()
        for f in fds:
            p.register(f, select.POLLIN)
        return {{f for f in fds if any(fd == f.fileno() for fd, _ in p.poll(t * 1000))}}

    def epo(fds, t):
        e = select.epoll()
        for f in fds:
            e.register(f, select.EPOLLIN)
        ready = {{fd for fd, _ in e.poll(t)}}
        e.close()
        return {{f for f in fds if f.fileno() in ready}}

    for name, wait in (("select", sel), ("poll", pol), ("epoll", epo)):
        t0 = time.time()
        assert wait([a, s], 0.2) == set(), name            # nothing ready: times out
        assert time.time() - t0 >= 0.15, name
        b.send(b"x")                                       # host fd ready only
        assert wait([a, s], 5) == {{a}}, name
        a.recv(1)
        # Blocked on both, woken by the host fd.
        threading.Timer(0.2, lambda: b.send(b"y")).start()
        assert wait([a, s], 5) == {{a}}, name
        a.recv(1)
        print(name, "ok", flush=True)

    # Blocked on both, woken by the libos socket (data from Linux).
    s.send(b"go")
    for name, wait in (("select", sel), ("poll", pol), ("epoll", epo)):
        assert wait([a, s], 5) == {{s}}, name
    assert s.recv(5) == b"hello"
    # A writable libos socket with a host fd in the write set, through select.
    assert set(select.select([], [s, b], [], 1)[1]) == {{s, b}}
    s.close()
    print("MIXED OK", flush=True)
""")


def test_mixed_select_poll_epoll(ns):
    srv = ns.popen(PY, "-u", "-c", LINUX_GO_SERVER)
    assert srv.stdout.readline().strip() == "LISTENING"
    r = ns.libos(PY, "-u", "-c", MIXED_CLIENT, timeout=60, check=False)
    assert r.returncode == 0 and "MIXED OK" in r.stdout, r.stdout + r.stderr


UNSUPPORTED = textwrap.dedent(f"""
    import errno, os, socket
    r, w = os.pipe()
    s = socket.socket()
    s.bind(("0.0.0.0", 0))
    try:
        os.splice(s.fileno(), w, 10)
        raise SystemExit("splice worked?")
    except OSError as e:
        print("splice errno", e.errno)
    try:
        socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        raise SystemExit("AF_PACKET worked?")
    except OSError as e:
        print("packet errno", e.errno)
    # Host fds are untouched: a pipe and a file still work next to libos sockets.
    os.write(w, b"ok")
    assert os.read(r, 2) == b"ok"
    with open(__file__ if "__file__" in dir() else "/etc/hostname") as f:
        f.read()
    print("DONE", flush=True)
""")


def test_unsupported_calls_are_reported_not_hung(ns):
    r = ns.libos(PY, "-c", UNSUPPORTED, timeout=30, check=False)
    out = r.stdout + r.stderr
    assert r.returncode == 0 and "DONE" in r.stdout, out
    assert "splice() on a libos socket is not supported" in r.stderr, out
    assert "socket(AF_PACKET" in r.stderr and "not supported by libos" in r.stderr, out


FORK = textwrap.dedent(f"""
    import os, socket
    s = socket.socket()
    s.bind(("0.0.0.0", 0))
    port = s.getsockname()[1]
    pid = os.fork()
    if pid == 0:
        # The child reaches the parent's instance: its inherited socket and new ones work.
        assert s.getsockname()[1] == port
        c = socket.create_connection(("{LINUX_IP}", 9100), timeout=10)
        c.sendall(b"from the child")
        assert c.recv(100) == b"from the child"
        c.close()
        os._exit(0)
    _, st = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(st) == 0, st
    assert s.getsockname()[1] == port          # the parent's sockets still work
    print("FORK OK", flush=True)
""")


FORKING_SERVER = textwrap.dedent(f"""
    import http.server, os, socketserver, sys
    class Server(socketserver.ForkingMixIn, http.server.HTTPServer):
        pass
    os.chdir(sys.argv[1])
    Server(("{LIBOS_IP}", 8090), http.server.SimpleHTTPRequestHandler).serve_forever()
""")


def test_fork_child_uses_the_parents_instance(ns):
    srv = ns.popen(PY, "-u", "-c", ECHO_SERVER)
    assert srv.stdout.readline().strip() == "LISTENING"
    r = ns.libos(PY, "-c", FORK, timeout=30, check=False)
    assert r.returncode == 0 and "FORK OK" in r.stdout, r.stdout + r.stderr


def test_forking_server_over_libos(ns):
    """An accept-and-fork server (socketserver.ForkingMixIn): each request is served by
    a child on the socket it inherited, after the parent closed its own copy."""
    www = os.path.join(ns.tmp, "www")
    os.makedirs(www)
    blob = os.urandom(1 << 20)
    with open(os.path.join(www, "blob"), "wb") as f:
        f.write(blob)
    ns.libos_popen(PY, "-u", "-c", FORKING_SERVER, www)
    out = os.path.join(ns.tmp, "got")
    for _ in range(3):
        retry(lambda: ns.run("curl", "-sSf", "--max-time", "20", "-o", out,
                             f"http://{LIBOS_IP}:8090/blob", timeout=30))
        assert sha256(open(out, "rb").read()) == sha256(blob)
        os.unlink(out)


@pytest.mark.parametrize("text,line,what", [
    ("interface tap0\n\taddress 10.0.0.1\n\tnetmask 255.255.0.255\n", 3, "not contiguous"),
    ("interface tap0\n\tadress 10.0.0.1\n", 2, "unknown interface key 'adress'"),
    ("route\n\tnetwork 10.0.0.0\n\tnetmask 255.0.0.0\n\tgateway ten\n", 4, "not an IPv4"),
    ("sysctl net.ipv4.no_such_knob 1\n", 1, "sysctl net.ipv4.no_such_knob"),
])
def test_bad_config_names_the_line(text, line, what):
    require_bins()
    d = tempfile.mkdtemp()
    conf = os.path.join(d, "bad.conf")
    with open(conf, "w") as f:
        f.write(text)
    # The launcher checks the file before running anything...
    r = sh(NUSE_BIN, "--config", conf, "--", "true", check=False, timeout=20)
    if "sysctl" not in what:
        assert r.returncode == 2, r
        assert f"line {line}:" in r.stderr and what in r.stderr, r.stderr
    # ...and the shim itself refuses it (plain LD_PRELOAD form), before main.
    env = dict(os.environ, LD_PRELOAD=NUSE_LIB, NUSECONF=conf)
    r = subprocess.run(["curl", "-s", "http://127.0.0.1:1/"], env=env, capture_output=True,
                       text=True, timeout=20)
    if "sysctl" in what:
        # Sysctl names are checked by the kernel when the instance starts.
        assert r.returncode != 0 and f"line {line}:" in r.stderr and what in r.stderr, r
    else:
        assert r.returncode == 2 and f"line {line}:" in r.stderr and what in r.stderr, r
    shutil.rmtree(d)


def test_missing_config_file_is_reported():
    require_bins()
    r = sh(NUSE_BIN, "--config", "/nonexistent/nuse.conf", "--", "true", check=False)
    assert r.returncode == 2 and "cannot read NUSECONF /nonexistent/nuse.conf" in r.stderr


def test_missing_tap_permission_is_reported(ns):
    # An unprivileged user cannot open /dev/net/tun: a clear message, an error from the
    # program's socket call, no hang.
    d = tempfile.mkdtemp(prefix="nuse-perm-")
    os.chmod(d, 0o755)
    conf = tap_config(os.path.join(d, "nuse.conf"))
    os.chmod(conf, 0o644)
    r = ns.run("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--",
               NUSE_BIN, "--config", conf, "--", "curl", "-sS", "--max-time", "5",
               f"http://{LINUX_IP}:8000/", check=False, timeout=30)
    shutil.rmtree(d)
    assert r.returncode != 0, r
    assert "cannot open device tap0" in r.stderr and "CAP_NET_ADMIN" in r.stderr, r.stderr


def test_missing_raw_interface_is_reported(ns):
    conf = os.path.join(ns.tmp, "raw.conf")
    with open(conf, "w") as f:
        f.write("interface nosuch0\n\taddress 10.9.0.2\n\tnetmask 255.255.255.0\n"
                "\tviftype RAW\n")
    r = ns.libos("curl", "-sS", "--max-time", "5", "http://10.9.0.1/", conf=conf, check=False,
                 timeout=30)
    assert r.returncode != 0
    assert "line 1: cannot open device nosuch0" in r.stderr, r.stderr


def pipe_conf(d, name, addr):
    path = os.path.join(d, name)
    with open(path, "w") as f:
        f.write(f"interface p0\n\taddress {addr}\n\tnetmask 255.255.255.0\n"
                f"\tviftype PIPE\n\tpipepath {d}/link\n")
    return path


def test_two_unprivileged_processes_over_a_pipe():
    """No root, no namespace: python3 http.server and curl, each on its own libos
    instance, joined by a PIPE interface; the body is verified."""
    require_bins()
    d = tempfile.mkdtemp(prefix="nuse-pipe-")
    os.chmod(d, 0o777)
    blob = os.urandom(1 << 20)
    with open(os.path.join(d, "blob"), "wb") as f:
        f.write(blob)
    os.chmod(os.path.join(d, "blob"), 0o644)
    drop = (["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"]
            if os.geteuid() == 0 else [])
    srv = subprocess.Popen(drop + [NUSE_BIN, "--config", pipe_conf(d, "a.conf", "10.7.0.1"),
                                   "--", PY, "-u", "-m", "http.server", "8080", "--bind",
                                   "10.7.0.1", "--directory", d],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out = os.path.join(d, "got")
        cli = [NUSE_BIN, "--config", pipe_conf(d, "b.conf", "10.7.0.2"), "--", "curl", "-sSf",
               "--max-time", "20", "-o", out, "http://10.7.0.1:8080/blob"]
        retry(lambda: sh(*(drop + cli), timeout=30), timeout=15)
        assert sha256(open(out, "rb").read()) == sha256(blob)
        assert os.stat(out).st_uid == (65534 if drop else os.geteuid())
    finally:
        srv.terminate()
        srv.wait(timeout=10)
        shutil.rmtree(d, ignore_errors=True)


def test_attach_runs_a_program_on_a_running_instance(ns):
    """`libos-nuse attach PID -- curl ...` from outside the namespace: curl's sockets live
    on the instance of the `sleep` process (the host itself has no route to the TAP
    subnet), and the body is verified; ping works through the same path."""
    blob = os.urandom(1 << 20)
    www = os.path.join(ns.tmp, "www")
    os.makedirs(www)
    with open(os.path.join(www, "blob"), "wb") as f:
        f.write(blob)
    ns.popen(PY, "-m", "http.server", "8000", "--bind", LINUX_IP, "--directory", www)
    holder = ns.libos_popen("sleep", "60")
    ctl = f"/tmp/libos-nuse.{holder.pid}.ctl"
    retry(lambda: os.path.exists(ctl), timeout=10)
    out = os.path.join(ns.tmp, "got")
    retry(lambda: sh(NUSE_BIN, "attach", str(holder.pid), "--", "curl", "-sSf", "--max-time",
                     "20", "-o", out, f"http://{LINUX_IP}:8000/blob", timeout=30))
    assert sha256(open(out, "rb").read()) == sha256(blob)
    r = sh(NUSE_BIN, "attach", ctl, "--", "wget", "-q", "-t", "1", "-T", "20", "-O", out,
           f"http://{LINUX_IP}:8000/blob", timeout=30, check=False)
    assert r.returncode == 0, r.stderr
    assert sha256(open(out, "rb").read()) == sha256(blob)
    r = sh(NUSE_BIN, "attach", str(holder.pid), "--", "ping", "-c", "2", "-i", "0.2", LINUX_IP,
           timeout=30, check=False)
    assert " 0% packet loss" in r.stdout, r.stdout + r.stderr
    holder.terminate()
    holder.wait(timeout=10)
    # SIGTERM leaves the socket file; attach then says the instance is gone.
    r = sh(NUSE_BIN, "attach", str(holder.pid), "--", "true", check=False, timeout=10)
    assert r.returncode == 2 and "is not running" in r.stderr, r.stderr
    if os.path.exists(ctl):
        os.unlink(ctl)


def test_attach_to_nothing_is_reported():
    require_bins()
    r = sh(NUSE_BIN, "attach", "999999999", "--", "true", check=False, timeout=10)
    assert r.returncode == 2 and "no libos instance at /tmp/libos-nuse.999999999.ctl" in r.stderr


CLOSE_ALL = textwrap.dedent(f"""
    import os, socket, urllib.request
    s = socket.socket()                       # a libos socket the program owns
    mine = s.fileno()
    # What some daemons do at start-up: close every fd but stdio, one by one and by range.
    for fd in range(3, 64):
        try:
            os.close(fd)
        except OSError:
            pass
    os.closerange(3, 1024)
    # The instance survived: fetch over libos.
    body = urllib.request.urlopen("http://{LINUX_IP}:8000/blob", timeout=10).read()
    print("GOT", len(body), flush=True)
""")


def test_program_closing_all_fds_keeps_the_instance(ns):
    www = os.path.join(ns.tmp, "www")
    os.makedirs(www)
    with open(os.path.join(www, "blob"), "wb") as f:
        f.write(b"z" * 100000)
    ns.popen(PY, "-m", "http.server", "8000", "--bind", LINUX_IP, "--directory", www)
    retry(lambda: ns.run("curl", "-sf", "-o", "/dev/null", f"http://{LINUX_IP}:8000/"))
    r = ns.libos(PY, "-c", CLOSE_ALL, timeout=30, check=False)
    assert r.returncode == 0 and "GOT 100000" in r.stdout, r.stdout + r.stderr


ECHO_SERVER = textwrap.dedent(f"""
    import socket, threading
    def tcp():
        s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("{LINUX_IP}", 9100)); s.listen(4)
        while True:
            c, _ = s.accept()
            def echo(c=c):
                while True:
                    b = c.recv(65536)
                    if not b:
                        break
                    c.sendall(b)
                c.close()
            threading.Thread(target=echo, daemon=True).start()
    def udp():
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind(("{LINUX_IP}", 9101))
        while True:
            b, a = u.recvfrom(65536)
            u.sendto(b, a)
    threading.Thread(target=udp, daemon=True).start()
    print("LISTENING", flush=True)
    tcp()
""")


def test_c_program_covers_the_remaining_calls(ns):
    """A C program (fortified: __read_chk, __recv_chk, __recvfrom_chk, __poll_chk) for
    the calls the stock programs do not reach: SO_RCVTIMEO, readv/writev, MSG_WAITALL,
    dup2/dup3, fcntl/FIONBIO, ppoll, pselect, epoll_pwait, sendfile, interface ioctls,
    shutdown, sendmmsg/recvmmsg."""
    gcc = shutil.which("gcc") or shutil.which("cc")
    assert gcc, "a C compiler is needed (the Rust toolchain's linker)"
    exe = os.path.join(ns.tmp, "calls")
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "calls.c")
    sh(gcc, "-O2", "-D_FORTIFY_SOURCE=2", "-o", exe, src)
    imports = sh("nm", "-D", exe).stdout
    for chk in ("__read_chk", "__recv_chk", "__recvfrom_chk", "__poll_chk"):
        assert chk in imports, f"{chk} not used by the fortified build"
    srv = ns.popen(PY, "-u", "-c", ECHO_SERVER)
    assert srv.stdout.readline().strip() == "LISTENING"
    r = ns.libos(exe, timeout=60, check=False)
    assert r.returncode == 0 and "ALL OK" in r.stdout, r.stdout + r.stderr


def test_ip_over_libos_and_attach(ns):
    """The real iproute2 `ip` on libos's rtnetlink: `ip addr show` lists the instance's
    interfaces; through `attach`, `ip addr add` changes a running instance (Linux then
    reaches it at the new address), `ip route add` and `ip link set mtu` show up in
    `ip route/link show`, and a duplicate route is refused like Linux does."""
    probe = ns.libos("ip", "addr", "show", check=False, timeout=20)
    assert probe.returncode == 0, probe.stderr
    assert "tap0" in probe.stdout and f"{LIBOS_IP}/24" in probe.stdout, probe.stdout
    holder = ns.libos_popen("sleep", "60")
    retry(lambda: os.path.exists(f"/tmp/libos-nuse.{holder.pid}.ctl"), timeout=10)
    r = sh(NUSE_BIN, "attach", str(holder.pid), "--", "ip", "addr", "show", "dev", "tap0",
           check=False, timeout=20)
    assert r.returncode == 0 and f"{LIBOS_IP}/24" in r.stdout, r.stdout + r.stderr
    r = sh(NUSE_BIN, "attach", str(holder.pid), "--", "ip", "addr", "add", "10.99.0.7/24",
           "dev", "tap0", check=False, timeout=20)
    assert r.returncode == 0, r.stderr
    r = retry(lambda: ns.run("ping", "-c", "2", "-i", "0.2", "-W", "2", "10.99.0.7",
                             timeout=20))
    assert " 0% packet loss" in r.stdout, r.stdout
    attach = [NUSE_BIN, "attach", str(holder.pid), "--", "ip"]
    for cmd in (["route", "add", "10.50.0.0/16", "via", LINUX_IP],
                ["link", "set", "dev", "tap0", "mtu", "1400"]):
        r = sh(*attach, *cmd, check=False, timeout=20)
        assert r.returncode == 0, (cmd, r.stderr)
    r = sh(*attach, "route", "show", timeout=20)
    assert f"10.50.0.0/16 via {LINUX_IP} dev tap0" in r.stdout, r.stdout
    r = sh(*attach, "link", "show", "tap0", timeout=20)
    assert "mtu 1400" in r.stdout, r.stdout
    r = sh(*attach, "route", "add", "10.50.0.0/16", "via", LINUX_IP, check=False, timeout=20)
    assert r.returncode != 0 and "File exists" in r.stderr, r.stderr
    holder.terminate()
    holder.wait(timeout=10)
    ctl = f"/tmp/libos-nuse.{holder.pid}.ctl"
    if os.path.exists(ctl):
        os.unlink(ctl)


SS_PAIR = textwrap.dedent("""
    import socket, sys, time
    l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind(("127.0.0.1", 9300)); l.listen(4)
    c = socket.create_connection(("127.0.0.1", 9300)); a, _ = l.accept()
    c.sendall(b"x" * 100000); got = 0
    while got < 100000: got += len(a.recv(65536))
    print("READY", flush=True); time.sleep(30)
""")


def ss_estab(text):
    """The ESTAB line of `ss -tani` for 127.0.0.1:9300's client side, and its info line."""
    lines = text.splitlines()
    for i, l in enumerate(lines):
        if l.startswith("ESTAB") and l.split()[4] == "127.0.0.1:9300":
            return l, lines[i + 1]
    raise AssertionError(text)


def test_ss_lists_libos_sockets_with_tcp_info(ns):
    """The real `ss -tani` on libos's sock_diag (through attach): the listener and both
    ends of a loopback connection, with the TCP_INFO fields Linux's ss prints for the same
    program on Linux (congestion control, wscale, rto, rtt, mss, cwnd, bytes_acked...)."""
    theirs = subprocess.Popen([PY, "-u", "-c", SS_PAIR], stdout=subprocess.PIPE, text=True)
    assert theirs.stdout.readline().strip() == "READY"
    linux = sh("ss", "-tani", timeout=20).stdout
    theirs.kill()
    holder = ns.libos_popen(PY, "-u", "-c", SS_PAIR)
    assert holder.stdout.readline().strip() == "READY", holder.stderr.read()
    r = sh(NUSE_BIN, "attach", str(holder.pid), "--", "ss", "-tani", check=False, timeout=20)
    holder.kill()
    assert r.returncode == 0, r.stderr
    assert "LISTEN" in r.stdout and "127.0.0.1:9300" in r.stdout, r.stdout
    ours, lin = ss_estab(r.stdout)[1], ss_estab(linux)[1]
    keys = lambda info: [w.split(":")[0] for w in info.split() if ":" in w]
    for k in ("wscale", "rto", "rtt", "mss", "cwnd", "bytes_acked", "segs_out"):
        assert k in keys(lin) and k in keys(ours), (k, lin, ours)
    # The congestion control's name comes first: libos's default, and the host's.
    host_cc = open("/proc/sys/net/ipv4/tcp_congestion_control").read().strip()
    assert ours.split()[0] == "cubic" and lin.split()[0] == host_cc, (ours, lin)


CMSG = textwrap.dedent(f"""
    import socket, struct
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("{LIBOS_IP}", 9200))
    u.setsockopt(socket.IPPROTO_IP, 8, 1)    # IP_PKTINFO
    u.setsockopt(socket.IPPROTO_IP, 12, 1)   # IP_RECVTTL
    print("READY", flush=True)
    data, anc, flags, addr = u.recvmsg(100, 256)
    assert data == b"hi" and addr[0] == "{LINUX_IP}", (data, addr)
    got = {{(level, kind): d for level, kind, d in anc}}
    ifindex, spec_dst, dst = struct.unpack("i4s4s", got[(0, 8)])
    assert ifindex == 2 and socket.inet_ntoa(dst) == "{LIBOS_IP}", got
    assert struct.unpack("i", got[(0, 2)])[0] == 64, got
    data, anc, flags, addr = u.recvmsg(100, 8)          # no room: MSG_CTRUNC
    assert data == b"again" and flags & socket.MSG_CTRUNC, flags
    print("CMSG OK", flush=True)
""")


def test_recvmsg_control_messages(ns):
    """IP_PKTINFO and IP_TTL control messages from the kernel reach the program's
    recvmsg, and a short control buffer gets MSG_CTRUNC."""
    p = ns.libos_popen(PY, "-u", "-c", CMSG)
    assert p.stdout.readline().strip() == "READY", p.stderr.read()
    send = (f"import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
            f"[s.sendto(m, ('{LIBOS_IP}', 9200)) for m in (b'hi', b'again')]")
    ns.run(PY, "-c", send)
    out, err = p.communicate(timeout=20)
    assert p.returncode == 0 and "CMSG OK" in out, out + err


PROC_TCP = textwrap.dedent(f"""
    import socket
    s = socket.socket()
    s.bind(("{LIBOS_IP}", 8123))
    s.listen(1)
    rows = open("/proc/net/tcp").read().splitlines()[1:]
    # local 10.99.0.2:8123 as Linux prints it, state 0A (LISTEN)
    assert any(r.split()[1] == "0200630A:1FBB" and r.split()[3] == "0A" for r in rows), rows
    print("PROC OK", flush=True)
""")


def test_proc_net_files_show_libos(ns):
    """/proc/net/* and /proc/sys/net/* read by a program under libos are the instance's
    (Kernel::proc_read), other files stay the host's."""
    r = ns.libos("cat", "/proc/net/route", "/proc/sys/net/ipv4/tcp_congestion_control",
                 "/etc/hostname", timeout=20)
    # The default route exists only in libos's table, not in the namespace's.
    assert "tap0\t00000000\t0100630A\t0003" in r.stdout, r.stdout
    assert "00000000\t0100630A" not in ns.run("cat", "/proc/net/route").stdout
    assert open("/etc/hostname").read() in r.stdout
    r = ns.libos(PY, "-c", PROC_TCP, timeout=20, check=False)
    assert r.returncode == 0 and "PROC OK" in r.stdout, r.stdout + r.stderr


def test_ctrl_c_stops_a_server_over_libos(ns):
    """SIGINT reaches a program parked in a libos poll: python3 http.server (polling its
    libos listener) stops with KeyboardInterrupt at once, as on Linux."""
    import signal
    import time
    # A runner started in the background of a non-interactive shell has SIGINT ignored,
    # and Python installs no KeyboardInterrupt handler for an ignored SIGINT (on Linux
    # too): give the server SIGINT's default disposition, as a terminal would.
    srv = ns.libos_popen(PY, "-u", "-m", "http.server", "8080", "--bind", LIBOS_IP,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert "Serving HTTP" in srv.stdout.readline()
    time.sleep(0.3)
    t0 = time.time()
    # `ip netns exec` and the launcher exec: the pid is python's.
    os.kill(srv.pid, signal.SIGINT)
    out, err = srv.communicate(timeout=10)
    assert time.time() - t0 < 2, "SIGINT took too long"
    assert "Keyboard interrupt received, exiting." in out + err, out + err
