"""The real iproute2 `ip` and procps `sysctl` on a running libos instance (through
`libos-nuse attach`), compared line by line with what the same commands print on a Linux
network namespace configured the same way (issue 6).

The Linux twin: netns L holds `tap0` (a veth with libos's MAC and address, its peer in
netns G with the gateway 10.99.0.1), so both sides have one Ethernet device, the same
address and the same default route. Normalised, because it is the twin's plumbing and not
a difference of the stacks: veth's `@ifN` / `link-netns` / `link_index` / `link_netnsid`,
IPv6 (libos has none yet, issue 8: the comparisons use `-4` or drop inet6 lines), and
the traffic counters of `-s` (compared by layout, and checked against traffic we send).
"""

import json
import os
import re
import subprocess
import uuid

import pytest

from conftest import LIBOS_IP, LIBOS_MAC, LINUX_IP, NUSE_BIN, retry, sh

# Editing commands applied to both, in order; each must give the same exit status and
# the same error text (iproute2 prints the kernel's extended-ack message when there is
# one, so this compares Linux's error reporting too).
EDITS = [
    "addr add 10.99.0.3/24 dev tap0",
    "addr add 10.98.0.1/16 brd + dev tap0",
    "addr add 10.97.0.1/24 dev tap0",
    "addr add 10.96.0.1 peer 10.96.0.2 dev tap0",
    "addr add 10.99.0.2/24 dev tap0",
    "route add 10.50.0.0/16 via 10.99.0.1 metric 50",
    "route add 10.50.0.0/16 via 10.99.0.1 metric 50",
    "route add 10.51.0.0/16 via 10.99.0.1 table 100",
    "route add 10.52.0.0/16 nexthop via 10.99.0.1 weight 2 nexthop via 10.99.0.7",
    "route add blackhole 10.53.0.0/16",
    "route add unreachable 10.54.0.0/16 metric 7",
    "route add prohibit 10.55.0.0/16 table 100",
    "route add 10.56.0.0/16 dev tap0 proto static scope link src 10.99.0.2",
    "route add 10.57.0.0/16 via 10.99.0.3",
    "route add 10.58.0.0/16 via 10.200.0.1",
    "route add 10.59.0.0/16 via 127.0.0.1",
    "route add 10.60.0.0/16 via 10.99.0.255",
    "route add 10.61.0.0/16 via 10.53.0.1",
    "route add 10.62.0.0/16 via 10.99.0.1 proto bird metric 20",
    "route append 10.62.0.0/16 via 10.99.0.9 proto bird metric 20",
    "route replace 10.50.0.0/16 via 10.99.0.9 metric 50",
    "route del 10.63.0.0/16",
    "route del 10.54.0.0/16 metric 7",
    "route add 10.64.0.0/33 dev tap0",
    "rule add from 10.99.0.0/24 lookup 100 pref 500",
    "rule add to 10.1.0.0/16 prohibit",
    "rule add not to 10.2.0.0/16 lookup 200 pref 600 proto static",
    "neigh add 10.99.0.9 lladdr 02:00:00:00:00:09 dev tap0",
    "neigh add 10.99.0.9 lladdr 02:00:00:00:00:09 dev tap0",
    "neigh replace 10.99.0.10 lladdr 02:00:00:00:00:0a dev tap0 nud permanent",
    "link set dev tap0 mtu 1400",
    "link set dev nosuch up",
    "addr del 10.97.0.1/24 dev tap0",
    "addr del 10.95.0.1/24 dev tap0",
]

# Views compared after the edits.
SHOWS = [
    "-4 addr show",
    "-4 addr show dev tap0",
    "link show",
    "link show dev tap0",
    "-4 route show",
    "route show table 100",
    "-4 route show table local",
    "-4 route show table all",
    "route show proto bird",
    "route show 10.62.0.0/16",
    "route get 10.99.0.1",
    "route get 10.50.1.1",
    "route get 10.53.0.1",
    "route get 10.54.0.1",
    "route get 10.99.0.2",
    "route get 10.99.0.255",
    "route get 10.51.0.1 from 10.99.0.2",
    "route get 10.55.0.1 from 10.99.0.2",
    "route get 10.99.0.2 from 10.99.0.9 iif tap0",
    "route get 10.99.0.255 from 10.99.0.9 iif tap0",
    "route get 10.99.0.5 iif tap0",
    "rule show",
    "neigh show nud permanent",
    "-j -4 addr show",
    "-j -4 route show",
    "-j rule show",
]

# The input route (forwarding) views depend on net.ipv4.conf.tap0.forwarding: compared
# with it off and on.
FORWARDING_SHOWS = [
    "route get 10.50.1.1 from 10.99.0.9 iif tap0",
    "route get 10.99.0.5 from 10.99.0.9 iif tap0",
    "route get 10.53.0.1 from 10.99.0.9 iif tap0",
    "route get 10.55.0.1 from 10.99.0.9 iif tap0",
    "route get 10.54.0.1 from 10.99.0.9 iif tap0",
]


def normalise(text):
    text = re.sub(r"@if\d+", "", text)
    text = re.sub(r" link-netns \S+", "", text)
    text = re.sub(r'"link_index":\d+,', "", text)
    text = re.sub(r'"link_netnsid":\d+,', "", text)
    return text


class Twin:
    """The libos instance (a program held open under libos-nuse) and its Linux twin."""

    def __init__(self, ns):
        self.ns = ns
        self.linux = "ipL-" + uuid.uuid4().hex[:6]
        self.gw = "ipG-" + uuid.uuid4().hex[:6]
        for n in (self.linux, self.gw):
            sh("ip", "netns", "add", n)
            sh("ip", "-n", n, "link", "set", "lo", "up")
        sh("ip", "link", "add", "tap0", "netns", self.linux, "type", "veth",
           "peer", "name", "gw0", "netns", self.gw)
        L = ["ip", "-n", self.linux]
        sh(*L, "link", "set", "tap0", "address", LIBOS_MAC)
        # NUSECONF addresses are set like ifconfig does (SIOCSIFADDR: broadcast derived).
        sh(*L, "addr", "add", LIBOS_IP + "/24", "brd", "+", "dev", "tap0")
        sh(*L, "link", "set", "tap0", "up")
        sh("ip", "-n", self.gw, "addr", "add", LINUX_IP + "/24", "dev", "gw0")
        sh("ip", "-n", self.gw, "link", "set", "gw0", "up")
        sh(*L, "route", "add", "default", "via", LINUX_IP)
        # A new namespace may inherit forwarding from the host: start both from off.
        self.sysctl_linux("-w", "net.ipv4.ip_forward=0")
        self.holder = ns.libos_popen("sleep", "300")
        ctl = f"/tmp/libos-nuse.{self.holder.pid}.ctl"
        retry(lambda: os.path.exists(ctl), timeout=10)

    def close(self):
        for n in (self.linux, self.gw):
            sh("ip", "netns", "del", n, check=False)

    def attach(self, *cmd, timeout=20):
        return subprocess.run(
            ["ip", "netns", "exec", self.ns.name, NUSE_BIN, "attach", str(self.holder.pid),
             "--", *cmd], capture_output=True, text=True, timeout=timeout)

    def sysctl_linux(self, *args):
        return subprocess.run(["ip", "netns", "exec", self.linux, "sysctl", *args],
                              capture_output=True, text=True, timeout=20)

    def ip(self, args):
        """(linux, libos) results of `ip ARGS`: (status, stdout, stderr), normalised."""
        a = args.split()
        lin = subprocess.run(["ip", "-n", self.linux, *a], capture_output=True, text=True,
                             timeout=20)
        lib = self.attach("ip", *a)
        pick = lambda r: (r.returncode, normalise(r.stdout), r.stderr)  # noqa: E731
        return pick(lin), pick(lib)


@pytest.fixture
def twin(ns):
    t = Twin(ns)
    try:
        yield t
    finally:
        t.close()


def assert_same(twin, args):
    lin, lib = twin.ip(args)
    if args.startswith("neigh show"):
        # Linux dumps neighbours in hash order (seeded at random per boot): compare sets.
        lin, lib = [(r[0], sorted(r[1].splitlines()), r[2]) for r in (lin, lib)]
    assert lin == lib, f"`ip {args}` differs\n--- Linux\n{lin}\n--- libos\n{lib}"


def test_ip_edits_and_views_match_linux(twin):
    """Every editing command gives Linux's status and message; then every view (text
    and JSON) prints what Linux prints."""
    for cmd in EDITS:
        assert_same(twin, cmd)
    for cmd in SHOWS:
        assert_same(twin, cmd)
    # The JSON is JSON, and carries what the text does.
    _, out, _ = twin.ip("-j -4 route show")[1]
    routes = json.loads(out)
    assert {"dst": "10.53.0.0/16", "type": "blackhole", "flags": []} in routes, routes


def test_input_route_lookup_matches_linux_with_and_without_forwarding(twin):
    for cmd in EDITS[:12]:
        twin.ip(cmd)
    for on in ("0", "1"):
        key = f"net.ipv4.conf.tap0.forwarding={on}"
        assert twin.sysctl_linux("-w", key).returncode == 0
        r = twin.attach("sysctl", "-w", key)
        assert r.returncode == 0 and r.stdout.strip() == key.replace("=", " = "), r
        for cmd in FORWARDING_SHOWS:
            assert_same(twin, cmd)


def counters(text):
    """The four number rows of `ip -s link show` as lists of ints."""
    return [[int(x) for x in line.split()] for line in text.splitlines()
            if re.fullmatch(r"\s*[\d\s]+", line)]


def test_link_statistics_layout_and_counts(twin):
    """`ip -s link`: Linux's layout, and the counters move with the traffic sent."""
    lin, lib = twin.ip("-s link show dev tap0")
    digits = lambda s: re.sub(r"\s+", " ", re.sub(r"\d+", "N", s))  # noqa: E731
    assert digits(lin[1]) == digits(lib[1]), (lin, lib)
    before = counters(lib[1])
    twin.ns.run("ping", "-c", "5", "-i", "0.2", "-W", "2", LIBOS_IP, timeout=30)
    after = counters(twin.ip("-s link show dev tap0")[1][1])
    rx_bytes, rx_packets = (after[0][0] - before[0][0], after[0][1] - before[0][1])
    tx_bytes, tx_packets = (after[1][0] - before[1][0], after[1][1] - before[1][1])
    # 5 echo requests in, 5 replies out (plus any ARP), 98-byte frames each way.
    assert rx_packets >= 5 and tx_packets >= 5, (before, after)
    assert rx_bytes >= 5 * 98 and tx_bytes >= 5 * 98, (before, after)


def test_sysctl_and_proc_sys_through_the_shim(twin):
    """procps `sysctl` and shell redirections reach the instance's sysctl tree with
    Linux's names, values and errors; the host's own values are untouched."""
    host = open("/proc/sys/net/ipv4/tcp_syn_retries").read()
    r = twin.attach("sysctl", "-w", "net.ipv4.tcp_syn_retries=3")
    assert r.returncode == 0 and r.stdout == "net.ipv4.tcp_syn_retries = 3\n", r
    r = twin.attach("cat", "/proc/sys/net/ipv4/tcp_syn_retries")
    assert r.stdout == "3\n", r
    assert open("/proc/sys/net/ipv4/tcp_syn_retries").read() == host
    r = twin.attach("sh", "-c", "echo cubic > /proc/sys/net/ipv4/tcp_congestion_control "
                    "&& echo 1 > /proc/sys/net/ipv4/ip_forward && "
                    "sysctl net.ipv4.tcp_congestion_control net.ipv4.ip_forward")
    assert r.stdout == ("net.ipv4.tcp_congestion_control = cubic\n"
                        "net.ipv4.ip_forward = 1\n"), r
    # Bad values: the same status and message as Linux gives.
    for bad in ("net.ipv4.tcp_syn_retries=300", "net.ipv4.tcp_congestion_control=nope",
                "net.ipv4.tcp_rmem=0 1 2", "net.ipv4.no_such_knob=1"):
        lin = twin.sysctl_linux("-w", bad)
        lib = twin.attach("sysctl", "-w", bad)
        assert (lin.returncode, lin.stderr) == (lib.returncode, lib.stderr), (bad, lin, lib)
    r = twin.attach("sysctl", "net.ipv4.tcp_syn_retries")
    assert r.stdout == "net.ipv4.tcp_syn_retries = 3\n", r


V6_EDITS = [
    "-6 addr add 2001:db8:1::2/64 dev tap0",
    "-6 addr add 2001:db8:2::2/64 dev tap0 nodad",
    "-6 addr add 2001:db8:2::2/64 dev tap0",
    "-6 addr del 2001:db8:3::2/64 dev tap0",
    "-6 addr add 2001:db8:3::2/64 dev tap0",
    "-6 addr del 2001:db8:3::2/64 dev tap0",
    "-6 addr add 2001:db8:1::5/48 dev tap0",
    "-6 addr add 2001:db8:1::7/128 dev tap0",
]
V6_SHOWS = ["-6 addr show", "-6 addr show dev tap0", "-6 addr show dev lo",
            "-j -6 addr show", "addr show", "-6 addr show scope link", "-6 addr show tentative",
            "-6 route show", "-6 route show table local", "route show table all",
            "-j -6 route show table all"]


def test_ipv6_addresses_match_linux(twin):
    """IPv6 addresses (issue 8): the link-local address from the MAC, ::1 on lo, added
    and deleted addresses with nodad and Linux's errors; after DAD (1-2 s) the same
    views, text and JSON, on both: addresses, and the routes they imply in the main and
    local tables in the fib6 tree's order."""
    for cmd in V6_EDITS:
        assert_same(twin, cmd)
    # Both run DAD: wait until neither lists a tentative address.
    retry(lambda: all("tentative" not in r[1] for r in twin.ip("-6 addr show")), timeout=10)
    for cmd in V6_SHOWS:
        assert_same(twin, cmd)


def snmp_rows(text):
    """/proc/net/snmp as {(group, field): value} from its header/value line pairs."""
    lines = text.splitlines()
    rows, heads = {}, {}
    for line in lines:
        group, _, rest = line.partition(": ")
        if group in heads:
            rows.update({(group, k): int(v) for k, v in zip(heads.pop(group), rest.split())})
        else:
            heads[group] = rest.split()
    return rows


def test_proc_net_snmp_through_the_shim(twin):
    """`cat /proc/net/snmp` on a running instance: Linux's groups and field names in
    Linux's order, and the ICMP counters move with the pings Linux sends."""
    ref = subprocess.run(["ip", "netns", "exec", twin.linux, "cat", "/proc/net/snmp"],
                         capture_output=True, text=True, timeout=20).stdout
    heads = lambda t: [l for l in t.splitlines()  # noqa: E731
                       if l.split(":")[0] in ("Ip", "Icmp", "Tcp", "Udp")][0::2]
    before = twin.attach("cat", "/proc/net/snmp")
    assert before.returncode == 0, before
    assert heads(before.stdout) == heads(ref), before.stdout
    twin.ns.run("ping", "-c", "3", "-i", "0.2", "-W", "2", LIBOS_IP, timeout=30)
    a, b = snmp_rows(before.stdout), snmp_rows(twin.attach("cat", "/proc/net/snmp").stdout)
    assert b[("Icmp", "InEchos")] - a[("Icmp", "InEchos")] == 3, (a, b)
    assert b[("Icmp", "OutEchoReps")] - a[("Icmp", "OutEchoReps")] == 3, (a, b)
    assert b[("Ip", "InReceives")] - a[("Ip", "InReceives")] >= 3, (a, b)


RADVD = """interface {dev} {{
    AdvSendAdvert on; MinRtrAdvInterval 3; MaxRtrAdvInterval 4; AdvDefaultLifetime 600;
    prefix 2001:db8:99::/64 {{ AdvOnLink on; AdvAutonomous on; }};
}};
"""


def test_ipv6_routes_from_router_advertisements_match_linux(twin, tmp_path):
    """radvd advertises the same prefix to both (from the twin's peer namespace, and
    from the Linux side of libos's TAP): both form the same SLAAC address and show the
    same routes — the advertised prefix with its lifetime, the default route `proto ra`
    with its hop limit — and the router in the neighbour table flagged `router`.
    Normalised: lifetimes in seconds (the two runs are seconds apart), the routers'
    link-local and MAC addresses, and the router entry's NUD state."""
    procs = []
    for ns, dev in ((twin.gw, "gw0"), (twin.ns.name, "tap0")):
        conf = tmp_path / f"radvd-{dev}.conf"
        conf.write_text(RADVD.format(dev=dev))
        sh("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1")
        procs.append(subprocess.Popen(
            ["ip", "netns", "exec", ns, "radvd", "-n", "-C", str(conf),
             "-p", str(tmp_path / f"radvd-{dev}.pid"), "-m", "stderr"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    try:
        slaac = "2001:db8:99::ff:fe00:9902"
        retry(lambda: all(slaac in r[1] and "tentative" not in r[1]
                          for r in twin.ip("-6 addr show dev tap0")), timeout=20)
        def norm6(r):
            t = re.sub(r"(expires|_lft) \d+sec", r"\1 Nsec", r[1])
            t = re.sub(r"fe80::\S+ dev tap0 lladdr \S+", "ROUTER dev tap0 lladdr MAC", t)
            # The router's entry is STALE or, once used, DELAY/REACHABLE: timing, not format.
            t = re.sub(r"router (STALE|DELAY|PROBE|REACHABLE)", "router NUD", t)
            return r[0], re.sub(r"via fe80::\S+", "via ROUTER", t), r[2]
        for cmd in ("-6 route show", "-6 route show table local", "-6 route show default",
                    "-6 addr show dev tap0", "-6 neigh show"):
            lin, lib = [norm6(r) for r in twin.ip(cmd)]
            assert lin == lib, f"`ip {cmd}` differs\n--- Linux\n{lin}\n--- libos\n{lib}"
        assert "default via ROUTER dev tap0 proto ra metric 1024 expires Nsec hoplimit 64" \
            in norm6(twin.ip("-6 route show")[1])[1]
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=10)
