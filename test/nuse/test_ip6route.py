"""IPv6 routing and configuration on a running libos instance (issue 8), compared with a
Linux twin: the real iproute2 `ip -6 route/rule/monitor`, procps `sysctl
net.ipv6.conf.*` and `cat /proc/net/{if_inet6,ipv6_route}` run through the shim
(`libos-nuse attach`), and the same commands on a Linux network namespace configured the
same way (the `Twin` of test_iproute.py: tap0 with libos's MAC, a veth whose peer is in a
gateway namespace). Normalised only for the twin's plumbing (veth names of the peer), the
reference counts of /proc/net/ipv6_route, and the hash order of /proc/net/if_inet6.
"""

import json
import re
import subprocess
import time

from conftest import NUSE_BIN
from test_iproute import assert_same, twin  # noqa: F401  (the fixture)

SETUP = [
    "-6 addr add 2001:db8:1::2/64 dev tap0 nodad",
    "-6 addr add 2001:db8:2::2/64 dev tap0 nodad",
]

# Applied to both in order: same exit status and the same message (iproute2 prints the
# kernel's extended ack when there is one).
EDITS = [
    "-6 route add 2001:db8:5::/64 via 2001:db8:1::1",
    "-6 route add 2001:db8:5::/64 via 2001:db8:1::3",
    "-6 route append 2001:db8:5::/64 via 2001:db8:2::3",
    "-6 route add 2001:db8:6::/64 via 2001:db8:9::1",
    "-6 route add 2001:db8:6::/64 via fe80::1",
    "-6 route add 2001:db8:6::/64 via fe80::1 dev tap0 metric 5 mtu 1400",
    "-6 route add 2001:db8:7::/64 nexthop via 2001:db8:1::1 nexthop via 2001:db8:2::1 weight 3",
    "-6 route add blackhole 2001:db8:8::/64",
    "-6 route add unreachable 2001:db8:9::/64",
    "-6 route add prohibit 2001:db8:a::/64 metric 7",
    "-6 route add 2001:db8:b::/64 dev tap0 table 100",
    "-6 route add 2001:db8:b::1/64 dev tap0",
    "-6 route add 2001:db8:c::/64 dev nope",
    "-6 route add 2001:db8:d::/64 via 2001:db8:1::2",
    "-6 route add 2001:db8:e::/64 via 2001:db8:1::1 dev lo",
    "-6 route replace 2001:db8:5::/64 via 2001:db8:1::9",
    "-6 route del 2001:db8:5::/64 via 2001:db8:2::3",
    "-6 route del 2001:db8:ff::/64",
    "-6 route del blackhole 2001:db8:8::/64",
    "-6 route add default via 2001:db8:1::1 metric 2048",
    "-6 route add 2001:db8:f::/48 via 2001:db8:2::1 table 200 metric 10",
    "-6 route change 2001:db8:f::/48 via 2001:db8:2::7 table 200 metric 10",
    "-6 route change 2001:db8:f0::/48 via 2001:db8:2::7 table 200",
    "-6 rule add from 2001:db8:1::/64 lookup 100",
    "-6 rule add to 2001:db8:b::/64 prio 100 table 100",
    "-6 rule add from 2001:db8:1::/64 lookup 100",
    "-6 rule del from 2001:db8:1::/64 lookup 100",
    "-6 rule del prio 5000",
    "-6 rule add not to 2001:db8:c::/64 unreachable pref 600",
    "-6 rule add to 2001:db8:c::/64 prohibit pref 601",
    "-6 rule add from 2001:db8:2::/64 table 200 pref 700",
]

SHOWS = [
    "-6 route show",
    "-6 route show table 100",
    "-6 route show table 200",
    "-6 route show table local",
    "-6 route show table all",
    "-6 route show 2001:db8:6::/64",
    "-6 route show proto kernel",
    "-j -6 route show",
    "-6 rule show",
    "-j -6 rule show",
    "-6 route get 2001:db8:5::1",
    "-6 route get 2001:db8:8::1",
    "-6 route get 2001:db8:9::1",
    "-6 route get 2001:db8:a::1",
    "-6 route get 2001:db8:1::2",
    "-6 route get 2001:db8:1::5",
    "-6 route get 2001:db8:6::1",
    "-6 route get 2001:db8:b::1 from 2001:db8:1::2",
    "-6 route get 2001:db8:f::1 from 2001:db8:2::2",
    "-6 route get 2001:db8:c::1",
    "-6 route get 2001:db8:ff::1",
]


def apply(twin, cmds):
    for cmd in cmds:
        assert_same(twin, cmd)


def test_ip6_route_and_rule_edits_and_views_match_linux(twin):
    apply(twin, SETUP + EDITS)
    for cmd in SHOWS:
        assert_same(twin, cmd)


def proc(twin, path):
    lin = subprocess.run(["ip", "netns", "exec", twin.linux, "cat", path],
                         capture_output=True, text=True, timeout=20)
    lib = twin.attach("cat", path)
    return lin, lib


def test_proc_net_if_inet6_and_ipv6_route_match_linux(twin):
    apply(twin, SETUP + EDITS[:12])
    # The link-local address is tentative for a second on both.
    time.sleep(2.5)
    lin, lib = proc(twin, "/proc/net/if_inet6")
    assert lib.returncode == 0, lib
    # Linux lists addresses in its hash table's order.
    assert sorted(lib.stdout.splitlines()) == sorted(lin.stdout.splitlines()), (lin, lib)
    lin, lib = proc(twin, "/proc/net/ipv6_route")
    assert lib.returncode == 0, lib
    # Column 7 is the route's reference count (users of the route in the kernel).
    refs = lambda t: [re.sub(r"^((?:\S+ ){6})\S+", r"\1REF", l) for l in t.splitlines()]  # noqa: E731
    assert refs(lib.stdout) == refs(lin.stdout), f"--- Linux\n{lin.stdout}--- libos\n{lib.stdout}"


def sysctl_pair(twin, *args):
    lin = twin.sysctl_linux(*args)
    lib = twin.attach("sysctl", *args)
    return (lin.returncode, lin.stdout, lin.stderr), (lib.returncode, lib.stdout, lib.stderr)


def test_sysctl_net_ipv6_conf_matches_linux(twin):
    """Every `net.ipv6.conf.{all,default,lo,tap0}.*` knob reads as on Linux; writes give
    Linux's results and errors, `all.forwarding` reaches every device, and the router
    mode changes the routes (subnet-router anycast in table local)."""
    knobs = lambda t: sorted(l for l in t.splitlines() if "stable_secret" not in l)  # noqa: E731
    # The namespace-wide knobs: all but `conf.*` (compared below), and `neigh.*` and
    # `calipso_*` (CALIPSO labelling), which libos does not model.
    lin, lib = sysctl_pair(twin, "-a", "-r", r"^net\.ipv6\.[^cn]")
    assert lib[0] == 0 and knobs(lib[1]) == knobs(lin[1]), (lin, lib)
    for args in (["-w", "net.ipv6.icmp.ratemask=0,3-4,130-255"], ["net.ipv6.icmp.ratemask"],
                 ["-w", "net.ipv6.icmp.ratemask=3-256"], ["-w", "net.ipv6.route.gc_min_interval=2"],
                 ["net.ipv6.route.gc_min_interval_ms"]):
        lin, lib = sysctl_pair(twin, *args)
        assert lin == lib, (args, lin, lib)
    for dev in ("all", "default", "lo", "tap0"):
        lin, lib = sysctl_pair(twin, "-a", "-r", rf"^net\.ipv6\.conf\.{dev}\.")
        assert lib[0] == 0, lib
        assert knobs(lib[1]) == knobs(lin[1]), dev
    for args in (
        ["net.ipv6.conf.tap0.stable_secret"],
        ["-w", "net.ipv6.conf.all.hop_limit=0"],
        ["-w", "net.ipv6.conf.all.hop_limit=256"],
        ["-w", "net.ipv6.conf.tap0.mtu=1279"],
        ["-w", "net.ipv6.conf.tap0.mtu=1501"],
        ["-w", "net.ipv6.conf.tap0.mtu=1400"],
        ["-w", "net.ipv6.conf.all.addr_gen_mode=4"],
        ["-w", "net.ipv6.conf.all.router_solicitations=-2"],
        ["-w", "net.ipv6.conf.all.nosuch=1"],
        ["-w", "net.ipv6.conf.tap0.hop_limit=9"],
        ["-w", "net.ipv6.conf.lo.forwarding=3"],
        ["-w", "net.ipv6.conf.all.forwarding=1"],
        ["net.ipv6.conf.all.forwarding", "net.ipv6.conf.default.forwarding",
         "net.ipv6.conf.lo.forwarding", "net.ipv6.conf.tap0.forwarding",
         "net.ipv6.conf.tap0.hop_limit", "net.ipv6.conf.tap0.mtu"],
        ["-w", "net.ipv6.conf.tap0.forwarding=0"],
        ["net.ipv6.conf.all.forwarding", "net.ipv6.conf.tap0.forwarding"],
        ["net.ipv6.bindv6only", "net.ipv6.icmp.ratelimit", "net.ipv6.route.mtu_expires",
         "net.ipv6.ip6frag_time", "net.ipv6.icmp.echo_ignore_all"],
        ["-w", "net.ipv6.conf.all.forwarding=0"],
    ):
        lin, lib = sysctl_pair(twin, *args)
        assert lin == lib, (args, lin, lib)


def test_forwarding_adds_anycast_routes_as_linux(twin):
    apply(twin, SETUP)
    time.sleep(2.5)
    for on in ("1", "0"):
        key = f"net.ipv6.conf.all.forwarding={on}"
        assert twin.sysctl_linux("-w", key).returncode == 0
        assert twin.attach("sysctl", "-w", key).returncode == 0
        assert_same(twin, "-6 route show table local")


# A sequence of changes both see through `ip -6 monitor`: addresses without DAD (its
# timing differs by a few ms), routes, replacements, rules. (Not `route append`: Linux
# announces the grown multipath route with the new path first, its dumps list it last;
# libos announces the dump's form.)
MONITOR_STEPS = [
    "-6 addr add 2001:db8:1::2/64 dev tap0 nodad",
    "-6 route add 2001:db8:5::/64 via 2001:db8:1::1",
    "-6 route add 2001:db8:7::/64 nexthop via 2001:db8:1::3 nexthop via 2001:db8:1::4",
    "-6 route add blackhole 2001:db8:8::/64 metric 9",
    "-6 route replace 2001:db8:5::/64 via 2001:db8:1::9",
    "-6 route add 2001:db8:b::/64 dev tap0 table 100",
    "-6 route del 2001:db8:8::/64",
    "-6 rule add from 2001:db8:1::/64 lookup 100 pref 50",
    "-6 rule del pref 50",
    "-6 route del 2001:db8:5::/64",
    "-6 addr add 2001:db8:2::2/64 dev tap0 nodad",
    "-6 addr del 2001:db8:2::2/64 dev tap0",
    "-6 neigh add 2001:db8:1::9 lladdr 02:00:00:00:00:09 dev tap0 nud permanent",
    "-6 neigh del 2001:db8:1::9 dev tap0",
]


def test_ip6_monitor_prints_what_linux_prints(twin, tmp_path):
    mon = ["ip", "-6", "monitor", "route", "address", "rule", "neigh"]
    lin_log, lib_log = tmp_path / "linux.out", tmp_path / "libos.out"
    # Let the link-local addresses settle first (their DAD is timing).
    time.sleep(2.5)
    with open(lin_log, "w") as lo, open(lib_log, "w") as bo:
        procs = [
            subprocess.Popen(["ip", "-n", twin.linux, *mon[1:]], stdout=lo,
                             stderr=subprocess.STDOUT),
            subprocess.Popen(["ip", "netns", "exec", twin.ns.name, NUSE_BIN, "attach",
                              str(twin.holder.pid), "--", *mon], stdout=bo,
                             stderr=subprocess.STDOUT),
        ]
        try:
            time.sleep(1.0)
            for step in MONITOR_STEPS:
                assert_same(twin, step)
                time.sleep(0.1)
            time.sleep(0.5)
        finally:
            for p in procs:
                p.terminate()
                p.wait(timeout=10)
    lin, lib = lin_log.read_text(), lib_log.read_text()
    for event in ("2001:db8:5::/64 via 2001:db8:1::9", "Deleted blackhole 2001:db8:8::/64",
                  "inet6 2001:db8:1::2/64", "from 2001:db8:1::/64 lookup 100",
                  "Deleted 2001:db8:1::9 dev tap0"):
        assert event in lin, f"Linux printed no `{event}`:\n{lin}"
    assert lib == lin, f"--- Linux\n{lin}--- libos\n{lib}"


NEIGH_EDITS = [
    "-6 neigh add 2001:db8:1::9 lladdr 02:00:00:00:00:09 dev tap0",
    "-6 neigh add 2001:db8:1::9 lladdr 02:00:00:00:00:09 dev tap0",
    "-6 neigh replace 2001:db8:1::a lladdr 02:00:00:00:00:0a dev tap0 nud permanent",
    "-6 neigh add fe80::9 lladdr 02:00:00:00:00:19 dev tap0 nud permanent",
    "-6 neigh add ff02::9 lladdr 02:00:00:00:00:19 dev tap0 nud permanent",
    "-6 neigh del 2001:db8:1::9 dev tap0",
    "-6 neigh del 2001:db8:1::77 dev tap0",
]


def test_ip6_neigh_matches_linux(twin):
    apply(twin, SETUP + NEIGH_EDITS)
    # Linux dumps neighbours in hash order (seeded at random per boot): compare sets.
    for cmd in ("-6 neigh show nud permanent", "-6 neigh show 2001:db8:1::a",
                "-6 neigh show dev tap0 nud permanent"):
        lin, lib = [(r[0], sorted(r[1].splitlines()), r[2]) for r in twin.ip(cmd)]
        assert lin == lib, (cmd, lin, lib)
    lin, lib = [sorted(json.loads(r[1]), key=str) for r in twin.ip("-j -6 neigh show")]
    assert lin == lib


def test_disable_ipv6_and_stable_privacy_link_local_match_linux(twin):
    """`disable_ipv6` drops the device's addresses and routes and refuses new ones with
    Linux's message; re-enabled, the device forms its link-local address by
    `addr_gen_mode`: stable privacy (RFC 7217, Linux's SHA-1 construction) after a
    `stable_secret` write, with the same identifier as Linux's."""
    def both(*args):
        lin, lib = sysctl_pair(twin, *args)
        assert lin == lib, (args, lin, lib)
    apply(twin, SETUP)
    both("-w", "net.ipv6.conf.tap0.disable_ipv6=1")
    for cmd in ("-6 addr show dev tap0", "-6 route show table all",
                "-6 addr add 2001:db8:5::2/64 dev tap0"):
        assert_same(twin, cmd)
    both("-w", "net.ipv6.conf.tap0.stable_secret=2001:db8::1234")
    both("net.ipv6.conf.tap0.addr_gen_mode", "net.ipv6.conf.tap0.stable_secret")
    both("-w", "net.ipv6.conf.tap0.disable_ipv6=0")
    time.sleep(2.5)
    for cmd in ("-6 addr show dev tap0", "-6 route show table all"):
        assert_same(twin, cmd)
    _, out, _ = twin.ip("-6 addr show dev tap0")[1]
    assert "stable-privacy" in out, out


def test_proc_net_snmp6_rows_match_linux(twin):
    """`cat /proc/net/snmp6`: Linux's counter names in Linux's order and layout (the
    per-type `Icmp6InTypeN` rows appear on Linux once a type was counted)."""
    lin, lib = proc(twin, "/proc/net/snmp6")
    assert lib.returncode == 0, lib
    names = lambda t: [l.split()[0] for l in t.splitlines()  # noqa: E731
                       if not re.match(r"Icmp6(In|Out)Type\d+", l)]
    assert names(lib.stdout) == names(lin.stdout)
    layout = lambda t: {re.sub(r"\d+$", "N", l) for l in t.splitlines()}  # noqa: E731
    assert layout(lib.stdout) <= layout(lin.stdout)
