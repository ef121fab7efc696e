"""The ns-3 plugin end to end: every example runs and its figures are asserted."""

import filecmp
import os
import shutil
import subprocess

import pytest

from conftest import OUT


def test_plugin_exports_the_cpp_classes(plugin):
    syms = subprocess.run(["nm", "-DC", "--defined-only", plugin], capture_output=True,
                          text=True, check=True).stdout
    for s in ["ns3::LibosStackHelper::Install(ns3::NodeContainer) const",
              "ns3::LibosKernel::GetTypeId()", "ns3::LibosSocket::GetTypeId()",
              "ns3::LibosTcpSocketFactory::GetTypeId()",
              "ns3::LibosStackHelper::PopulateRoutingTables()"]:
        assert s in syms, s
    for h in ["libos-module.h", "libos-kernel.h", "libos-socket.h", "libos-stack-helper.h"]:
        assert os.path.exists(os.path.join(OUT, "include", "ns3", h))


def test_p2p_bulk_goodput_and_traces(example):
    r = example("p2p-bulk", "--simTime=5")
    assert r.rc == 0, r.err
    # 10 Mbit/s link, 1500-byte frames: ~9.6 Mbit/s of TCP payload at best.
    assert 8.5 < r.num("goodput_mbps") < 10.0, r.out
    assert r.num("cwnd_changes") >= 2 and r.num("cwnd_bytes") > 10000, r.out
    assert 10 <= r.num("rtt_ms") <= 200, r.out  # 10 ms base RTT plus queueing


def test_p2p_bulk_exact_bytes_and_cc(example):
    r = example("p2p-bulk", "--simTime=5", "--maxBytes=1234567", "--cc=reno")
    assert r.rc == 0, r.err
    assert r.kv["rx_bytes"] == "1234567", r.out
    assert r.kv["cc"] == "reno", r.out


def test_dumbbell_with_loss(example):
    r = example("dumbbell", "--flows=4", "--simTime=10", "--errorRate=0.002")
    assert r.rc == 0, r.err
    assert 7.5 < r.num("total_goodput_mbps") < 10.0, r.out
    assert r.num("jain") > 0.8, r.out
    assert r.num("bottleneck_drops") > 0, r.out
    assert r.out.count("flow ") == 4


def test_router_chain_ping_and_echo(example):
    r = example("router-chain", "--routers=3", "--count=4")
    assert r.rc == 0, r.err
    assert r.kv["ping_sent"] == "4" and r.kv["ping_replies"] == "4", r.out
    assert r.kv["udp_echo_replies"] == "4", r.out
    assert "ttl=61" in r.out  # three routers decrement the TTL
    assert "10.0.3.0/24 via 10.0.0.2 dev eth0" in r.out


def test_router_chain_ipv6_echo(example):
    """Three libos IPv6 routers (forwarding sysctl, "-6 route add" through RunIp): ping -6
    and stock UdpEcho over IPv6 end to end."""
    r = example("router-chain", "--routers=3", "--count=4", "--ipv6")
    assert r.rc == 0, r.err
    assert r.kv["udp_echo_replies"] == "4", r.out
    # ping -6 over a raw ICMPv6 socket (LibosRawSocketFactory Protocol=58)
    assert r.kv["ping_sent"] == "4" and r.kv["ping_replies"] == "4", r.out
    assert "64 bytes from 2001:db8:4::2: icmp_seq=3" in r.out
    assert "2001:db8:4::/64 via 2001:db8:1::2 dev eth0 metric 1024 pref medium" in r.out


@pytest.mark.parametrize("family", ["ipv4", "ipv6"])
def test_router_chain_routes_from_populate_routing_tables(example, family):
    """LibosStackHelper::PopulateRoutingTables computes both families' routes and turns
    forwarding on: ping and UdpEcho cross three routers with no route written by hand."""
    args = ["--routers=3", "--count=4", "--populate"] + (["--ipv6"] if family == "ipv6" else [])
    r = example("router-chain", *args)
    assert r.rc == 0, r.err
    assert r.kv["ping_replies"] == "4" and r.kv["udp_echo_replies"] == "4", r.out
    if family == "ipv6":
        assert "2001:db8:4::/64 via 2001:db8:1::2 dev eth0 metric 1024 pref medium" in r.out
    else:
        assert "10.0.3.0/24 via 10.0.0.2 dev eth0" in r.out


def test_mixed_interop_tcp_udp_both_ways(example):
    r = example("mixed", "--bytes=300000")
    assert r.rc == 0, r.err
    assert r.kv["tcp_libos_to_ns3"] == "300000", r.out
    assert r.kv["tcp_ns3_to_libos"] == "300000", r.out
    assert r.kv["bulk_libos_to_ns3"] == "200000", r.out
    assert r.kv["bulk_ns3_to_libos"] == "200000", r.out
    assert r.kv["udp_libos_to_ns3"] == "100000", r.out
    assert r.kv["udp_ns3_to_libos"] == "100000", r.out
    assert r.kv["echo_replies"] == "5" and r.kv["echo_back_replies"] == "5", r.out
    # TCP payload checked byte by byte against the sender's pattern, both directions
    assert r.kv["tcp_checked_bytes"] == "600000" and r.kv["tcp_bad_bytes"] == "0", r.out


def test_mixed_ipv6_tcp_udp_both_ways_pcap_valid(example, tmp_path):
    """libos and ns-3's own IPv6 stack on one link (AssignAddresses6, Inet6SocketAddress):
    TCP both ways (bytes checked), UDP both ways, stock UdpEcho; tshark decodes the pcap
    with checksum validation on: IPv6 only, no bad checksum, no malformed frame."""
    prefix = str(tmp_path / "m6")
    r = example("mixed", "--bytes=300000", "--ipv6", "--pcap=" + prefix)
    assert r.rc == 0, r.err
    assert r.kv["tcp_libos_to_ns3"] == "300000", r.out
    assert r.kv["tcp_ns3_to_libos"] == "300000", r.out
    assert r.kv["bulk_libos_to_ns3"] == "200000", r.out
    assert r.kv["bulk_ns3_to_libos"] == "200000", r.out
    assert r.kv["udp_libos_to_ns3"] == "100000", r.out
    assert r.kv["udp_ns3_to_libos"] == "100000", r.out
    assert r.kv["echo_replies"] == "5" and r.kv["echo_back_replies"] == "5", r.out
    assert r.kv["tcp_checked_bytes"] == "600000" and r.kv["tcp_bad_bytes"] == "0", r.out
    if shutil.which("tshark") is None:
        pytest.skip("tshark missing: pcap not decoded")
    out = subprocess.run(
        ["tshark", "-n", "-r", prefix + "-0-0.pcap", "-o", "tcp.check_checksum:TRUE",
         "-o", "udp.check_checksum:TRUE", "-T", "fields", "-E", "separator=|",
         "-e", "ipv6.src", "-e", "ip.src", "-e", "tcp.checksum.status",
         "-e", "udp.checksum.status", "-e", "icmpv6.checksum.status", "-e", "_ws.malformed"],
        capture_output=True, text=True, check=True).stdout
    counts = {"tcp": 0, "udp": 0}
    for line in out.splitlines():
        v6src, v4src, tcp, udp, icmp, bad = line.split("|")
        assert v6src and not v4src, line
        assert "0" not in (tcp, udp, icmp) and not bad, line  # status 0 = bad checksum
        counts["tcp"] += tcp == "1"
        counts["udp"] += udp == "1"
    assert counts["tcp"] > 700 and counts["udp"] >= 210, counts


def test_same_run_same_pcap_other_run_differs(example, tmp_path):
    pcaps = []
    for tag, run in [("a", "1"), ("b", "1"), ("c", "2")]:
        prefix = str(tmp_path / tag)
        r = example("p2p-bulk", "--simTime=1", "--pcap=" + prefix, "--RngRun=" + run)
        assert r.rc == 0, r.err
        pcaps.append(prefix + "-0-0.pcap")
        assert os.path.getsize(pcaps[-1]) > 10000
    assert filecmp.cmp(pcaps[0], pcaps[1], shallow=False)
    assert not filecmp.cmp(pcaps[0], pcaps[2], shallow=False)


@pytest.mark.parametrize("case,message", [
    ("install-twice", "LibosStackHelper::Install: node 0 already has a libos stack"),
    ("unknown-sysctl", ".net.ipv4.no_such_sysctl"),
    ("bad-sysctl-value", "no-such-cc"),
    ("bad-ip", "inet prefix is expected"),
    ("no-libos-factory", "ns3::LibosTcpSocketFactory used by ns3::PacketSink on node 2 "
                         "which has no libos stack"),
])
def test_bad_input_is_a_clear_fatal_error(example, case, message):
    r = example("errors", "--case=" + case)
    assert r.rc in (-6, 134), (r.rc, r.err)  # NS_FATAL_ERROR -> std::terminate -> SIGABRT
    assert message in r.err, r.err
    assert "Segmentation" not in r.err and "panicked" not in r.err


def test_errors_ok_case_completes(example):
    r = example("errors", "--case=ok")
    assert r.rc == 0 and "case=ok completed" in r.out, r.err


def test_bench_smoke_both_stacks(example):
    for stack in ["ns3", "libos"]:
        r = example("bulk-pairs", "--stack=" + stack, "--flows=3", "--simTime=2")
        assert r.rc == 0, r.err
        assert 7.0 < r.num("goodput_mbps") < 10.0, r.out


def test_csma_lan_arp_with_libos_and_ns3(example):
    r = example("csma-lan", "--bytes=1500000")
    assert r.rc == 0, r.err
    assert r.kv["tcp_rx_bytes"] == "1500000", r.out
    assert r.kv["echo_replies"] == "3", r.out
    assert "192.168.1.4 dev eth0 lladdr 00:00:00:00:00:04" in r.out  # ARP of the ns-3 node


def test_csma_lan_ipv6_neighbour_discovery_with_libos_and_ns3(example, tmp_path):
    """IPv6 on an Ethernet LAN: libos DAD, then NS/NA between libos and ns-3's own stack;
    TCP libos -> libos and UDP echo libos -> ns-3 after DAD."""
    prefix = str(tmp_path / "lan6")
    r = example("csma-lan", "--bytes=1500000", "--ipv6", "--pcap=" + prefix)
    assert r.rc == 0, r.err
    assert r.kv["tcp_rx_bytes"] == "1500000", r.out
    assert r.kv["echo_replies"] == "3", r.out
    if shutil.which("tshark") is None:
        pytest.skip("tshark missing: pcap not decoded")
    # n3 (ns-3's stack) answers a libos neighbour solicitation for its address.
    out = subprocess.run(
        ["tshark", "-n", "-r", prefix + "-3-0.pcap", "-Y", "icmpv6.type == 136",
         "-T", "fields", "-e", "ipv6.src", "-e", "icmpv6.nd.na.target_address"],
        capture_output=True, text=True, check=True).stdout
    assert "2001:db8:5::4" in out, out


def test_readme_script_compiles_and_runs(plugin, tmp_path):
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    text = open(os.path.join(root, "cpp", "README.md")).read()
    code = text.split("## A complete script")[1].split("```cpp")[1].split("```")[0]
    src = tmp_path / "script.cc"
    src.write_text(code)
    exe = tmp_path / "script"
    subprocess.run(["g++", "-std=c++17", "-O1", "-DNS3_LOG_ENABLE", "-I",
                    os.path.join(OUT, "include"), str(src), "-o", str(exe), "-L", OUT,
                    "-lns3-libos", "-Wl,-rpath," + OUT, "-lns3-applications",
                    "-lns3-point-to-point", "-lns3-internet", "-lns3-network", "-lns3-core"],
                   check=True)
    p = subprocess.run([str(exe)], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert int(p.stdout.split()[0]) > 10_000_000  # ~9.6 Mbit/s for 10 s
    assert (tmp_path / "two-nodes-0-0.pcap").exists()


def test_link_down_and_up_reach_the_kernel(example):
    """A device whose link goes down for a second: LibosKernel's link-change callback
    sets the kernel's carrier (ip link shows NO-CARRIER, state DOWN), echoes stop, and
    resume when the link comes back."""
    r = example("link-flap")
    assert r.rc == 0, r.err
    assert "NO-CARRIER" in r.out and "state DOWN" in r.out, r.out
    assert int(r.kv["replies_before"]) >= 9, r.out
    assert r.kv["replies_down"] == "0", r.out
    assert int(r.kv["replies_after"]) >= 9, r.out
