"""libos as a LibOS library (API v2): two dlmopen'ed instances in one C host that drives
them like ns-3 DCE (netlink + ioctl + sysctl configuration, TCP/UDP/ICMP over a virtual
wire, poll_event wake-ups), determinism of the wire capture, tshark checksum validation,
a NUSE-style table with ten NULL slots, and the exported symbol surface; the same over
IPv6 (`host dce6`: sockaddr_in6, TCP, UDP with IPV6_PKTINFO, ICMPv6 echo, link-local
scope ids), its capture checked by tshark and compared across two runs."""

import os
import subprocess

import pytest
from conftest import HERE, INCLUDE


@pytest.fixture(scope="module")
def dce_runs(run_host, tmp_path_factory):
    d = tmp_path_factory.mktemp("dce")
    runs = []
    for k in range(2):
        pcap = str(d / f"wire{k}.pcap")
        runs.append((run_host("dce", pcap), pcap))
    return runs


def test_dce_style_two_instances(dce_runs):
    r, _ = dce_runs[0]
    assert r.rc == 0, r.out
    assert r.kv["result"] == "ok", r.out
    # Configuration over AF_NETLINK (node A) and ioctls (node B); sysctl through
    # sys_iterate_files, and the congestion control written there reaches new sockets.
    assert r.num("netlink_ok") == 1 and r.num("ioctl_ok") == 1 and r.num("sysctl_ok") == 1
    assert r.num("tcp_cc_reno") == 1
    # `ip monitor`-style multicast: a parked recvmsg woken by rtnetlink notifications.
    assert r.num("monitor_ok") == 1
    # TCP: 1 MiB verified byte by byte, the reader woken through poll_event.
    assert r.num("tcp_bytes") == 1 << 20 and r.num("tcp_ok") == 1
    assert r.num("tcp_waitall_ok") == 1
    assert r.num("poll_events") > 100
    # Blocking accept/connect/recv parked tasks that task_wakeup resumed.
    assert r.num("task_wakeups") > 0
    assert r.num("udp_replies") == 3 and r.num("icmp_replies") == 3
    # msg_control: an IP_PKTINFO cmsg on each received datagram.
    assert r.num("pktinfo") == 3
    # SO_RCVTIMEO ends a blocking recv after exactly its timeout in virtual time.
    assert r.num("rcvtimeo_ok") == 1
    # Closing a socket wakes a task parked on it (EBADF), it does not sleep forever.
    assert r.num("close_wake_ok") == 1
    # Non-blocking connect to a closed port: EINPROGRESS, POLLERR via poll_event,
    # SO_ERROR = ECONNREFUSED.
    assert r.num("refused_ok") == 1
    # The kernel's timers reach the host as ONE pending event per node, re-armed.
    assert r.num("max_pending_timers") == 1 and r.num("timers_armed") > 10
    # Allocation went through the imported malloc/free.
    assert r.num("host_mallocs") > 1000 and r.num("host_frees") > 1000


def test_dce_cooja_loader(run_host, dce_runs, tmp_path):
    """DCE's default loader: ONE copy of the library, its writable data segment swapped per
    node on every call, event and task switch. Same wire as with dlmopen'ed copies, and
    the segment is small (each swap copies it twice)."""
    pcap = str(tmp_path / "cooja.pcap")
    r = run_host("cooja", pcap)
    assert r.rc == 0 and r.kv["result"] == "ok", r.out
    assert r.num("swaps") > 100
    assert r.num("segment_bytes") < 16384
    with open(pcap, "rb") as f1, open(dce_runs[0][1], "rb") as f2:
        assert f1.read() == f2.read(), "the cooja run's wire differs from the dlmopen run's"


def test_small_task_stacks(run_host, tmp_path):
    """DCE runs `ip` on a 64 KiB stack and kernel tasks on 128 KiB: every call into the
    library (netlink, sysctl, TCP) must fit; 32 KiB leaves room to spare."""
    r = run_host("dce", str(tmp_path / "small.pcap"), env={"HOST_STACK": "32768"})
    assert r.rc == 0 and r.kv["result"] == "ok", r.out


def test_two_runs_identical_pcap(dce_runs):
    (a, pa), (b, pb) = dce_runs
    assert a.rc == 0 and b.rc == 0
    with open(pa, "rb") as f1, open(pb, "rb") as f2:
        x, y = f1.read(), f2.read()
    assert len(x) > 100_000
    assert x == y, "the wire capture differs between two runs"
    assert a.out == b.out


def test_tshark_validates_checksums(dce_runs):
    _, pcap = dce_runs[0]
    out = subprocess.run(
        ["tshark", "-n", "-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE",
         "-o", "udp.check_checksum:TRUE", "-r", pcap, "-T", "fields", "-E", "separator=|",
         "-e", "ip.checksum.status", "-e", "tcp.checksum.status", "-e", "udp.checksum.status",
         "-e", "icmp.checksum.status", "-e", "_ws.malformed", "-e", "ip.proto"],
        capture_output=True, text=True, check=True, timeout=120).stdout
    seen = {"6": 0, "17": 0, "1": 0}
    for line in out.splitlines():
        f = line.split("|")
        # checksum.status: 0 = bad, 1 = good, 2 = unverified.
        for v in f[:4]:
            assert "0" not in v.split(","), line
        assert not f[4], f"malformed: {line}"
        if f[5] in seen:
            seen[f[5]] += 1
    assert seen["6"] > 500 and seen["17"] >= 6 and seen["1"] >= 6, seen


def test_nuse_style_table_with_null_slots(run_host):
    r = run_host("nuse")
    assert r.rc == 0, r.out
    assert r.num("nuse_nulls") == 10
    assert r.num("robust_ok") == 1
    # lib_printf reaches the imported vprintf with its arguments.
    assert "lib_printf: nuse 42 beef" in r.out


def test_only_the_abi_is_exported(lib):
    out = subprocess.run(["nm", "-D", "--defined-only", lib], capture_output=True,
                         text=True, check=True).stdout
    names = [line.split()[-1] for line in out.splitlines() if line.strip()]
    assert "sim_init" in names and "lib_init" in names
    for must in ("lib_malloc", "lib_free", "lib_printf", "lib_update_jiffies",
                 "lib_softirq_wakeup"):
        assert must in names
    leaked = [n for n in names if n != "sim_init" and not n.startswith("lib_")]
    assert not leaked, leaked


def test_dce_factory_compiles_against_our_headers():
    """The imported callbacks with DCE's own signatures and DCE's calls compile in C++
    against sim-init.h (g++ is installed by test/run.sh)."""
    subprocess.run(["g++", "-std=c++11", "-fsyntax-only", "-Wall", "-Wextra", "-Werror",
                    "-I", INCLUDE, os.path.join(HERE, "dce_compat.cc")], check=True)


@pytest.fixture(scope="module")
def dce6_runs(run_host, tmp_path_factory):
    d = tmp_path_factory.mktemp("dce6")
    return [(run_host("dce6", str(d / f"wire6_{k}.pcap")), str(d / f"wire6_{k}.pcap"))
            for k in range(2)]


def test_dce6_two_instances_over_ipv6(dce6_runs):
    """AF_INET6 through the lib's sock_* calls with struct sockaddr_in6 in and out:
    netlink IPv6 addresses (RTM_NEWADDR nodad, RTM_GETADDR dump), 1 MiB of TCP, UDP echo
    with IPV6_PKTINFO, ICMPv6 echo on a raw socket to a global and to a link-local address
    (sin6_scope_id), IPV6_V6ONLY refusing a v4-mapped destination."""
    r, _ = dce6_runs[0]
    assert r.rc == 0 and r.kv["result"] == "ok", r.out
    assert r.num("config6_ok") == 2 and r.num("names6_ok") == 2
    assert r.num("tcp6_bytes") == 1 << 20 and r.num("tcp6_ok") == 1
    assert r.num("udp6_replies") == 3 and r.num("pktinfo6") == 3
    assert r.num("icmp6_replies") == 3 and r.num("ll_ok") == 1 and r.num("v6only_ok") == 1


def test_dce6_two_runs_identical_pcap(dce6_runs):
    (a, pa), (b, pb) = dce6_runs
    assert a.rc == 0 and b.rc == 0
    with open(pa, "rb") as f1, open(pb, "rb") as f2:
        x, y = f1.read(), f2.read()
    assert len(x) > 100_000
    assert x == y, "the IPv6 wire capture differs between two runs"
    assert a.out == b.out


def test_tshark_validates_ipv6_checksums(dce6_runs):
    """Every TCP, UDP and ICMPv6 checksum on the IPv6 wire is right (tshark verifies them
    over the IPv6 pseudo-header); nothing is malformed; NDP, MLD and echo are all there."""
    _, pcap = dce6_runs[0]
    out = subprocess.run(
        ["tshark", "-n", "-o", "tcp.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
         "-r", pcap, "-T", "fields", "-E", "separator=|", "-e", "ipv6.version",
         "-e", "tcp.checksum.status", "-e", "udp.checksum.status",
         "-e", "icmpv6.checksum.status", "-e", "_ws.malformed", "-e", "ipv6.nxt",
         "-e", "icmpv6.type"],
        capture_output=True, text=True, check=True, timeout=120).stdout
    proto = {"6": 0, "17": 0}
    icmp6 = {}
    for line in out.splitlines():
        f = line.split("|")
        assert f[0] == "6", line  # only IPv6 on this wire
        for v in f[1:4]:
            # checksum.status: 0 = bad, 1 = good, 2 = unverified.
            assert v in ("", "1"), line
        assert not f[4], f"malformed: {line}"
        if f[5] in proto:
            proto[f[5]] += 1
        if f[6]:
            icmp6[f[6]] = icmp6.get(f[6], 0) + 1
    assert proto["6"] > 500 and proto["17"] >= 6, proto
    # 128/129 echo, 135/136 neighbour solicitation/advertisement, 143 MLDv2 report.
    for t in ("128", "129", "135", "136", "143"):
        assert icmp6.get(t, 0) > 0, icmp6
