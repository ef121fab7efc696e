"""NDP Redirects received by libos from a Linux router (RFC 4861 §8; Linux's
`ndisc_send_redirect` on one side, libos's `ndisc_redirect_rcv` on the other).

Topology: one Ethernet segment (a bridge in `ns`) holding libos (tap0), the Linux router
R1 (the bridge itself, libos's default router fe80::1) and the Linux router R2 (netns
`peer`, fe80::3), which owns 2001:db8:9::1 behind it. R1 routes 2001:db8:9::/64 via
fe80::3 on the same segment, so libos's first packet toward 2001:db8:9::1 leaves by the
link it came in on and R1 tells libos to use R2 directly.
"""

import time

from conftest import LIBOS_MAC, sh
from test_ipv6_data import in_ns, peer, tshark_rows  # noqa: F401 (peer is a fixture)
from test_linux import finish

LIBOS6 = "2001:db8:99::2"
R1_LL = "fe80::1"
R2_LL = "fe80::3"
R2_MAC = "02:00:00:00:99:03"
FAR6 = "2001:db8:9::1"


def segment(ns, peer):
    """ns: bridge br0 (R1) over tap0 and vR; peer: vR2 (R2), FAR6 on its lo."""
    ns.run("ip", "addr", "flush", "dev", "tap0")
    ns.run("ip", "link", "add", "br0", "type", "bridge", "forward_delay", "0")
    ns.run("ip", "link", "set", "tap0", "master", "br0")
    sh("ip", "link", "add", "vR", "netns", ns.name, "type", "veth", "peer", "name", "vR2",
       "netns", peer)
    ns.run("ip", "link", "set", "vR", "master", "br0")
    ns.run("ip", "link", "set", "vR", "up")
    ns.run("sysctl", "-w", "net.ipv6.conf.all.forwarding=1")
    ns.run("ip", "-6", "addr", "add", R1_LL + "/64", "dev", "br0", "nodad")
    ns.run("ip", "-6", "addr", "add", "2001:db8:99::1/64", "dev", "br0", "nodad")
    ns.run("ip", "link", "set", "br0", "up")
    ns.run("ip", "-6", "route", "add", "2001:db8:9::/64", "via", R2_LL, "dev", "br0")
    in_ns(peer, "ip", "link", "set", "vR2", "address", R2_MAC)
    in_ns(peer, "ip", "-6", "addr", "add", R2_LL + "/64", "dev", "vR2", "nodad")
    in_ns(peer, "ip", "-6", "addr", "add", "2001:db8:99::3/64", "dev", "vR2", "nodad")
    in_ns(peer, "ip", "link", "set", "vR2", "up")
    in_ns(peer, "ip", "-6", "addr", "add", FAR6 + "/128", "dev", "lo")
    # Capture where libos's frames enter the segment.
    ns.run("ethtool", "-K", "vR", "tx", "off", check=False)


def test_redirect_from_linux_router_moves_traffic_to_the_better_router(ns, peer, tmp_path):
    segment(ns, peer)
    pcap = str(tmp_path / "redirect.pcap")
    cap = ns.capture(pcap)
    host = ns.libos("--app", "idle", "--duration", "8", "--addr6", LIBOS6 + "/64",
                    "--ip", f"-6 route add default via {R1_LL} dev eth0")
    time.sleep(2.5)
    r = in_ns(peer, "ping", "-6", "-c", "6", "-i", "0.3", "-W", "2", "-I", FAR6, LIBOS6,
              check=False, timeout=30)
    assert " 0% packet loss" in r.stdout, r.stdout + r.stderr
    finish(host)
    cap.terminate()
    cap.wait(timeout=10)
    # R1's Redirect to libos: target fe80::3, destination FAR6 (no target link address:
    # R1 was itself still resolving fe80::3, so libos solicits it).
    redirects = tshark_rows(pcap, "ipv6.src", "ipv6.dst", "ipv6.hlim",
                            "icmpv6.rd.na.destination_address", "icmpv6.nd.rd.target_address",
                            "icmpv6.checksum.status", filt="icmpv6.type == 137")
    assert redirects, "Linux sent no Redirect"
    assert redirects[0] == [R1_LL, LIBOS6, "255", FAR6, R2_LL, "1"], redirects
    # libos's echo replies: the first through R1 (the bridge's MAC), the later ones
    # straight to R2's MAC, and only one Redirect was needed.
    br_mac = ns.run("cat", "/sys/class/net/br0/address").stdout.strip()
    replies = [row[0] for row in tshark_rows(pcap, "eth.dst",
                                             filt=f"eth.src == {LIBOS_MAC} && icmpv6.type == 129")]
    assert len(replies) == 6, replies
    assert replies[0] == br_mac, replies
    assert replies[-3:] == [R2_MAC] * 3, replies
    assert len(redirects) == 1, redirects
    print(f"redirect: replies went {replies}")
