"""rtnetlink notifications and a real routing daemon on libos, through the NUSE shim.

- `ip monitor` (iproute2) runs on a libos instance while another process changes its
  addresses, routes and links over `libos-nuse attach`: every change is printed.
- Debian's bird2 runs OSPFv2 on four libos instances wired in a ring by PIPE links
  (no root, no namespaces): adjacencies reach Full, bird installs its routes into
  libos over netlink (proto bird), ping and UDP cross the routers, then a link is cut and
  the routes converge around it and traffic flows again.

    r1 --e12-- r2
    |           |
   e14         e23
    |           |
    r4 --e34-- r3        10.1.XY.0/24 between rX and rY; rX is .X
"""

import os
import re
import shutil
import subprocess
import time

import pytest

from conftest import NUSE_BIN, NUSE_LIB, PY, require_root, retry, sh, stop


def need_bins(*tools):
    for p in (NUSE_BIN, NUSE_LIB):
        assert os.path.exists(p), \
            f"{p} missing: cargo build --release -p libos-nuse -p libos-nuse-shim"
    for t in tools:
        assert shutil.which(t), f"{t} not installed (test/run.sh installs it)"


def pipe_conf(path, ifaces, extra=""):
    """A NUSECONF with one PIPE interface per (name, address, pipepath)."""
    with open(path, "w") as f:
        for name, addr, pipe in ifaces:
            f.write(f"interface {name}\n\taddress {addr}\n\tnetmask 255.255.255.0\n"
                    f"\tviftype PIPE\n\tpipepath {pipe}\n")
        f.write(extra)
    return path


class Procs:
    """Background processes of one test, stopped at the end."""

    def __init__(self):
        self.procs = []

    def start(self, cmd, env=None, log=None):
        out = open(log, "w") if log else subprocess.PIPE
        p = subprocess.Popen(cmd, env={**os.environ, **(env or {})}, stdout=out,
                             stderr=subprocess.STDOUT, text=True)
        self.procs.append(p)
        return p

    def stop(self):
        for p in self.procs:
            stop(p)


@pytest.fixture
def procs():
    p = Procs()
    yield p
    p.stop()


def attach(ctl, *cmd, check=True, timeout=30):
    r = sh(NUSE_BIN, "attach", ctl, "--", *cmd, check=False, timeout=timeout)
    assert not check or r.returncode == 0, \
        f"attach {' '.join(cmd)}: status {r.returncode}\n{r.stdout}{r.stderr}"
    return r


def wait_for_socket(path, proc, timeout=10):
    def up():
        assert proc.poll() is None, f"{proc.args} exited with {proc.returncode}"
        return os.path.exists(path)
    retry(up, timeout=timeout)


def test_ip_monitor_sees_changes_from_another_process(tmp_path, procs):
    need_bins("ip")
    t = str(tmp_path)
    conf = pipe_conf(f"{t}/mon.conf", [("p0", "10.7.0.1", f"{t}/link")])
    ctl = f"{t}/mon.ctl"
    log = f"{t}/monitor.out"
    mon = procs.start([NUSE_BIN, "--config", conf, "--", "ip", "monitor"],
                      env={"NUSE_CONTROL": ctl}, log=log)
    wait_for_socket(ctl, mon)

    # ip monitor joins its groups after start-up: poke until it hears something.
    def listening():
        attach(ctl, "ip", "route", "replace", "10.250.0.0/16", "dev", "p0")
        time.sleep(0.1)
        return "10.250.0.0/16" in open(log).read()
    retry(listening, timeout=10)
    # A second monitor over attach: its socket lives on the same instance.
    alog = f"{t}/attached-monitor.out"
    amon = procs.start([NUSE_BIN, "attach", ctl, "--", "ip", "-4", "monitor", "address"],
                       log=alog)

    def attached_listening():
        attach(ctl, "ip", "addr", "add", "10.251.0.1/24", "dev", "p0")
        attach(ctl, "ip", "addr", "del", "10.251.0.1/24", "dev", "p0")
        time.sleep(0.1)
        assert amon.poll() is None, open(alog).read()
        return "10.251.0.1/24" in open(alog).read()
    retry(attached_listening, timeout=10)
    attach(ctl, "ip", "addr", "add", "10.8.0.1/24", "dev", "p0")
    attach(ctl, "ip", "route", "add", "10.9.0.0/16", "via", "10.8.0.2", "proto", "bird")
    attach(ctl, "ip", "link", "set", "dev", "p0", "mtu", "1400")
    attach(ctl, "ip", "route", "replace", "10.9.0.0/16", "via", "10.8.0.3", "proto", "bird")
    attach(ctl, "ip", "route", "del", "10.9.0.0/16")
    attach(ctl, "ip", "addr", "del", "10.8.0.1/24", "dev", "p0")
    attach(ctl, "ip", "link", "set", "dev", "p0", "down")

    want = [
        r"^2: p0    inet 10\.8\.0\.1/24 scope global p0",  # no brd asked, none set
        r"^10\.8\.0\.0/24 dev p0 proto kernel scope link src 10\.8\.0\.1",
        r"^local 10\.8\.0\.1 dev p0 table local proto kernel scope host src 10\.8\.0\.1",
        r"^10\.9\.0\.0/16 via 10\.8\.0\.2 dev p0 proto bird",
        r"^2: p0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1400 .*state UP",
        r"^10\.9\.0\.0/16 via 10\.8\.0\.3 dev p0 proto bird",
        r"^Deleted 10\.9\.0\.0/16 via 10\.8\.0\.3 dev p0 proto bird",
        r"^Deleted 2: p0    inet 10\.8\.0\.1/24",
        r"^Deleted 10\.8\.0\.0/24 dev p0 proto kernel",
        r"^2: p0: <BROADCAST,MULTICAST> mtu 1400 .*state DOWN",
    ]

    def printed():
        text = open(log).read()
        missing = [w for w in want if not re.search(w, text, re.M)]
        assert not missing, f"not printed: {missing}\n--- ip monitor:\n{text}"
        return text
    text = retry(printed, timeout=5)
    # In Linux's order: the address before the routes it implies.
    assert text.index("inet 10.8.0.1/24") < text.index("10.8.0.0/24 dev p0 proto kernel")
    assert "RTNETLINK answers" not in text and "not supported" not in text, text
    # A replacement is one RTM_NEWROUTE (NLM_F_REPLACE), as Linux announces it; a
    # device going down flushes its routes silently (`fib_flush`), as Linux does.
    assert "Deleted 10.9.0.0/16 via 10.8.0.2" not in text, text
    assert "Deleted 10.7.0.0/24" not in text, text
    # The attached one asked for addresses only.
    alines = open(alog).read()
    assert re.search(r"^2: p0    inet 10\.8\.0\.1/24", alines, re.M), alines
    assert re.search(r"^Deleted 2: p0    inet 10\.8\.0\.1/24", alines, re.M), alines
    assert "proto" not in alines, alines


MONITOR_STEPS = [
    "addr add 10.8.0.1/24 brd + dev p0",
    "addr add 10.8.0.2/24 brd + dev p0",
    "addr add 10.11.0.1/24 dev p0",
    "route add 10.9.0.0/16 via 10.8.0.5 proto bird metric 20",
    "route replace 10.9.0.0/16 via 10.8.0.6 proto bird metric 20",
    "route add 10.10.0.0/16 nexthop via 10.8.0.5 nexthop via 10.8.0.6",
    "link set dev p0 mtu 1400",
    "route del 10.9.0.0/16",
    "addr del 10.8.0.2/24 dev p0",
    "addr del 10.11.0.1/24 dev p0",
    "rule add from 10.1.0.0/16 table 100",
    "neigh add 10.8.0.9 lladdr 02:00:00:00:00:09 dev p0",
    "neigh del 10.8.0.9 dev p0",
    "link set dev p0 down",
    "addr del 10.8.0.1/24 dev p0",
]
MONITOR = ["ip", "-4", "monitor", "link", "address", "route", "rule", "neigh"]


def monitor_norm(text):
    """Drops what names a veth's peer (`@ifN`, `link-netns`). (No `link set up`: a
    veth announces itself up without carrier first, then again when its peer's
    carrier arrives, an artefact of veth.)"""
    out = []
    for line in text.splitlines():
        line = re.sub(r"@if\d+", "", line)
        out.append(re.sub(r" link-netns \S+", "", line))
    return "\n".join(out)


def test_ip_monitor_prints_what_linux_prints(tmp_path, procs):
    """The same changes on a Linux netns (veth p0) and on libos (PIPE p0): `ip -4
    monitor` prints the same events in the same order."""
    require_root()
    need_bins("ip")
    t = str(tmp_path)
    a, b = f"mon-{os.getpid()}a", f"mon-{os.getpid()}b"
    sh("ip", "netns", "add", a)
    sh("ip", "netns", "add", b)
    try:
        sh("ip", "-n", a, "link", "add", "p0", "type", "veth", "peer", "name", "p0", "netns", b)
        sh("ip", "-n", a, "link", "set", "p0", "address", "02:00:00:00:00:01")
        for ns in (a, b):
            sh("ip", "-n", ns, "link", "set", "p0", "up")
        linux_log = f"{t}/linux.out"
        lm = procs.start(["ip", "-n", a] + MONITOR[1:], log=linux_log)
        time.sleep(0.5)
        for step in MONITOR_STEPS:
            sh("ip", "-n", a, *step.split())
            time.sleep(0.05)
    finally:
        time.sleep(0.5)
        procs.stop()
        sh("ip", "netns", "del", a, check=False)
        sh("ip", "netns", "del", b, check=False)

    conf = f"{t}/mon.conf"
    with open(conf, "w") as f:
        f.write(f"interface p0\n\tmacaddr 02:00:00:00:00:01\n\taddress 10.7.0.1\n"
                f"\tnetmask 255.255.255.0\n\tviftype PIPE\n\tpipepath {t}/link\n")
    ctl = f"{t}/mon.ctl"
    libos_log = f"{t}/libos.out"
    mon = procs.start([NUSE_BIN, "--config", conf, "--"] + MONITOR,
                      env={"NUSE_CONTROL": ctl}, log=libos_log)
    wait_for_socket(ctl, mon)

    # Start from Linux's state (no address), once the monitor listens.
    def listening():
        attach(ctl, "ip", "route", "replace", "10.250.0.0/16", "dev", "p0")
        time.sleep(0.1)
        return "10.250.0.0/16" in open(libos_log).read()
    retry(listening, timeout=10)
    attach(ctl, "ip", "addr", "del", "10.7.0.1/24", "dev", "p0")  # takes 10.250/16 too
    time.sleep(0.3)
    skip = len(open(libos_log).read())
    for step in MONITOR_STEPS:
        attach(ctl, "ip", *step.split())
    time.sleep(0.5)
    linux = monitor_norm(open(linux_log).read())
    libos = monitor_norm(open(libos_log).read()[skip:])
    assert libos == linux, f"--- linux\n{linux}\n--- libos\n{libos}"


LINKS = {"12": (1, 2), "23": (2, 3), "34": (3, 4), "14": (1, 4)}
HELLO, DEAD = 1, 4


def bird_conf(path, rid):
    with open(path, "w") as f:
        f.write(f"""log stderr all;
router id 10.0.0.{rid};
protocol device {{ scan time 10; }}
protocol kernel {{ ipv4 {{ import none; export all; }}; scan time 10; }}
protocol ospf v2 {{
  ipv4 {{ import all; export none; }};
  area 0 {{ interface "e*" {{ type ptp; hello {HELLO}; dead {DEAD}; }}; }};
}}
""")
    return path


class Router:
    def __init__(self, t, n):
        self.n = n
        self.ctl = f"{t}/r{n}.ctl"
        self.sock = f"{t}/r{n}.bird.sock"
        self.log = f"{t}/r{n}.log"
        ifaces = [(f"e{k}", f"10.1.{k}.{n}", f"{t}/l{k}") for k, ab in LINKS.items() if n in ab]
        self.ifaces = [i[0] for i in ifaces]
        # Routers forward (off by default, as in Linux).
        self.conf = pipe_conf(f"{t}/r{n}.conf", ifaces, "sysctl net.ipv4.ip_forward 1\n")
        self.bird = bird_conf(f"{t}/r{n}.bird", n)

    def start(self, procs):
        cmd = [NUSE_BIN, "--config", self.conf, "--",
               "bird", "-f", "-c", self.bird, "-s", self.sock]
        self.proc = procs.start(cmd, env={"NUSE_CONTROL": self.ctl, "NUSE_QUIET": "1"},
                                log=self.log)

    def birdc(self, *cmd):
        return sh("birdc", "-s", self.sock, *cmd, timeout=10).stdout

    def full(self):
        """Router ids of the neighbours in state Full."""
        out = self.birdc("show", "ospf", "neighbors")
        return set(re.findall(r"^(10\.0\.0\.\d+)\s+\d+\s+Full/", out, re.M))

    def routes(self):
        return attach(self.ctl, "ip", "route", "show").stdout


def wait_full(routers, timeout):
    def all_full():
        for r in routers:
            assert r.proc.poll() is None, f"bird r{r.n} exited:\n{open(r.log).read()}"
            peers = {f"10.0.0.{b if a == r.n else a}"
                     for a, b in LINKS.values() if r.n in (a, b)}
            assert r.full() == peers, f"r{r.n}: {r.full()} != {peers}"
        return True
    retry(all_full, timeout=timeout, every=0.5)


def route_via(r, prefix, gw):
    def ok():
        text = r.routes()
        pat = rf"^{re.escape(prefix)} via {re.escape(gw)} dev \S+ proto bird"
        assert re.search(pat, text, re.M), f"r{r.n} has no {prefix} via {gw}:\n{text}"
        return text
    return ok


def ping(r, dst, count=3):
    return attach(r.ctl, "ping", "-c", str(count), "-i", "0.2", "-W", "1", dst,
                  check=False, timeout=20)


UDP_ECHO = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 9999))
print("ready", flush=True)
while True:
    data, peer = s.recvfrom(2048)
    s.sendto(data.upper(), peer)
"""

UDP_ASK = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1.0)
for i in range(5):
    s.sendto(b"hello ospf", (sys.argv[1], 9999))
    try:
        print(s.recvfrom(2048)[0].decode())
        break
    except socket.timeout:
        pass
"""


def test_bird_ospf_ring_converges_around_a_cut_link(tmp_path, procs, capsys):
    need_bins("bird", "birdc", "ip", "ping")
    t = str(tmp_path)
    routers = [Router(t, n) for n in (1, 2, 3, 4)]
    r1, r2, r3, r4 = routers
    t0 = time.time()
    for r in routers:
        r.start(procs)
    for r in routers:
        wait_for_socket(r.sock, r.proc)

    # Adjacencies: every router Full with its two ring neighbours.
    wait_full(routers, timeout=30)
    t_full = time.time() - t0

    # bird's routes are in libos, installed over netlink with proto bird: r1 reaches the
    # far links through its neighbours.
    retry(route_via(r1, "10.1.23.0/24", "10.1.12.2"), timeout=15)
    retry(route_via(r1, "10.1.34.0/24", "10.1.14.4"), timeout=15)
    retry(route_via(r3, "10.1.12.0/24", "10.1.23.2"), timeout=15)
    # birdc agrees: OSPF routes exported to the kernel table.
    assert re.search(r"10\.1\.23\.0/24\s+unicast \[ospf1", r1.birdc("show", "route"))

    # Traffic across the routers: r1 -> r2 -> r3 (ping), r1 -> r4 -> r3 (UDP).
    p = ping(r1, "10.1.23.3")
    assert ", 0% packet loss" in p.stdout, p.stdout + p.stderr
    echo = procs.start([NUSE_BIN, "attach", r3.ctl, "--", PY, "-c", UDP_ECHO])
    assert echo.stdout.readline().strip() == "ready"
    a = attach(r1.ctl, PY, "-c", UDP_ASK, "10.1.34.3")
    assert a.stdout.strip() == "HELLO OSPF", a.stdout + a.stderr

    # Cut r1-r2 on r1's side. r1's bird hears of the link going down over netlink at
    # once; r2 only through the dead interval. Routes move to the other way round.
    t_cut = time.time()
    attach(r1.ctl, "ip", "link", "set", "dev", "e12", "down")
    # bird's device protocol rescans every 10 s: knowing within 2 s means it read the
    # RTM_NEWLINK notification from its async netlink socket.
    retry(lambda: re.search(r"^e12 down", r1.birdc("show", "interfaces"), re.M), timeout=2,
          every=0.1)
    retry(route_via(r1, "10.1.23.0/24", "10.1.14.4"), timeout=DEAD + 10, every=0.1)
    t_r1 = time.time() - t_cut
    retry(route_via(r2, "10.1.14.0/24", "10.1.23.3"), timeout=DEAD + 10)
    assert "dev e12" not in r1.routes(), "a down device keeps no routes"

    def flows():
        p = ping(r1, "10.1.23.3", count=2)
        assert ", 0% packet loss" in p.stdout, p.stdout + p.stderr
        return True
    retry(flows, timeout=15)
    t_conv = time.time() - t_cut
    # UDP to r3's address on the cut side: r1 -> r4 -> r3 now.
    a = attach(r1.ctl, PY, "-c", UDP_ASK, "10.1.23.3")
    assert a.stdout.strip() == "HELLO OSPF", a.stdout + a.stderr
    # r1 dropped r2 at once (link down); r2 drops r1 only when its dead interval runs
    # out, which can be after the routes already moved through r1's flooded LSA.
    assert "10.0.0.2" not in r1.full()
    retry(lambda: "10.0.0.1" not in r2.full(), timeout=DEAD + 2, every=0.2)

    with capsys.disabled():
        print(f"\n    FIGURE bird2 OSPF ring of 4 libos instances: all Full after "
              f"{t_full:.1f} s; after cutting r1-r2, r1 reroutes in {t_r1:.1f} s, "
              f"ping flows again in {t_conv:.1f} s (dead {DEAD} s)")

    # And back: the link returns, the shorter path is used again.
    attach(r1.ctl, "ip", "link", "set", "dev", "e12", "up")
    retry(lambda: re.search(r"^e12 up", r1.birdc("show", "interfaces"), re.M), timeout=2,
          every=0.1)
    retry(route_via(r1, "10.1.23.0/24", "10.1.12.2"), timeout=DEAD + 15)
    for r in routers:
        assert r.proc.poll() is None, f"bird r{r.n} died:\n{open(r.log).read()}"


NL_LISTENER = r"""
import select, socket, struct
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
s.bind((0, 0x10))                      # RTMGRP_IPV4_IFADDR
s.setsockopt(270, 1, 7)                # NETLINK_ADD_MEMBERSHIP, RTNLGRP_IPV4_ROUTE
print("groups", hex(s.getsockname()[1]), flush=True)
r, _, _ = select.select([s], [], [], 0.2)
print("idle readable", bool(r), flush=True)
ep = select.epoll()
ep.register(s.fileno(), select.EPOLLIN)
print("ready", flush=True)
seen = []
while len(seen) < 4 and ep.poll(10):
    data = s.recv(65536)
    off = 0
    while off + 16 <= len(data):
        ln, ty = struct.unpack_from("=IH", data, off)
        seen.append(ty)
        off += (ln + 3) & ~3
print("types", seen, flush=True)
input()                                # the test's attached `ip` is done
s.setsockopt(270, 2, 7)                # NETLINK_DROP_MEMBERSHIP
print("groups", hex(s.getsockname()[1]), flush=True)
"""


def test_netlink_groups_bind_membership_select_epoll(tmp_path, procs):
    """A Python program on libos: bind(nl_groups), NETLINK_ADD/DROP_MEMBERSHIP,
    getsockname, select and epoll readiness of notifications."""
    need_bins("ip")
    t = str(tmp_path)
    conf = pipe_conf(f"{t}/nl.conf", [("p0", "10.7.0.1", f"{t}/link")])
    ctl = f"{t}/nl.ctl"
    p = subprocess.Popen([NUSE_BIN, "--config", conf, "--", PY, "-c", NL_LISTENER],
                         env={**os.environ, "NUSE_CONTROL": ctl}, stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    procs.procs.append(p)
    assert p.stdout.readline().strip() == "groups 0x50"
    assert p.stdout.readline().strip() == "idle readable False"
    assert p.stdout.readline().strip() == "ready"
    attach(ctl, "ip", "addr", "add", "10.8.0.1/24", "dev", "p0")
    out, _ = p.communicate("done\n", timeout=20)
    lines = out.splitlines()
    # RTM_NEWADDR (20), then the routes it implies (RTM_NEWROUTE, 24).
    assert lines[0] == "types [20, 24, 24, 24]", out
    assert lines[1] == "groups 0x10", out
