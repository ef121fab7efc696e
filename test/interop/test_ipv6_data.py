"""The IPv6 data path against Linux (issue 8): path MTU discovery through a Linux router
whose far link has MTU 1280 (ICMPv6 Packet Too Big, and IPv4 frag-needed), libos as an
IPv6 router between two Linux namespaces (forwarding, Time Exceeded, No Route), and
fragments crafted on the Linux side (overlapping, duplicate, atomic, misaligned, a lone
first fragment) as Linux's own reassembly treats them. Captures decoded by tshark.

Topologies (the fixture namespace `ns` holds tap0, attached to libos-host):
  PMTU:   [peer netns] rP --MTU 1280-- rA [ns: Linux router] tap0 <-> [libos]
  router: [ns: Linux A] tap0 <-> [libos eth0 | eth1] <-> tap1 [netns B: Linux B]
"""

import ipaddress
import subprocess
import textwrap
import time

import pytest

from conftest import LIBOS_IP, LIBOS_MAC, pattern, sh, sha256
from stream import sink_script, source_script
from test_linux import finish


def tshark_rows(path, *fields, filt=None):
    """The outer header's fields only (`occurrence=f`: not those of a quoted packet)."""
    args = ["tshark", "-n", "-r", path, "-o", "ip.check_checksum:TRUE", "-o",
            "tcp.check_checksum:TRUE", "-T", "fields", "-E", "occurrence=f"]
    for f in fields:
        args += ["-e", f]
    if filt:
        args += ["-Y", filt]
    return [line.split("\t") for line in sh(*args).stdout.splitlines() if line]

LINUX6 = "2001:db8:99::1"
LIBOS6 = "2001:db8:99::2"
PEER6 = "2001:db8:97::2"
ROUTER_FAR6 = "2001:db8:97::1"
LIBOS_LL = "fe80::ff:fe00:9902"
B6 = "2001:db8:98::1"
LIBOS_B6 = "2001:db8:98::2"


@pytest.fixture
def peer(ns):
    """A second namespace, deleted at the end."""
    name = ns.name + "p"
    sh("ip", "netns", "add", name)
    sh("ip", "-n", name, "link", "set", "lo", "up")
    yield name
    sh("ip", "netns", "del", name, check=False)


def in_ns(name, *cmd, check=True, timeout=60):
    return sh("ip", "netns", "exec", name, *cmd, check=check, timeout=timeout)


def snmp6(out):
    return {l.split()[1]: int(l.split()[2]) for l in out.splitlines() if l.startswith("SNMP6 ")}


def far_link(ns, peer, router_mtu, peer_mtu):
    """ns becomes a Linux router: tap0 toward libos, rA toward the peer (MTU as given)."""
    sh("ip", "link", "add", "rA", "netns", ns.name, "mtu", str(router_mtu), "type", "veth",
       "peer", "name", "rP", "netns", peer, "mtu", str(peer_mtu))
    ns.run("sysctl", "-w", "net.ipv6.conf.all.forwarding=1")
    ns.run("sysctl", "-w", "net.ipv4.ip_forward=1")
    ns.run("ip", "-6", "addr", "add", LINUX6 + "/64", "dev", "tap0", "nodad")
    ns.run("ip", "-6", "addr", "add", ROUTER_FAR6 + "/64", "dev", "rA", "nodad")
    ns.run("ip", "addr", "add", "10.97.0.1/24", "dev", "rA")
    ns.run("ip", "link", "set", "rA", "up")
    in_ns(peer, "ip", "-6", "addr", "add", PEER6 + "/64", "dev", "rP", "nodad")
    in_ns(peer, "ip", "addr", "add", "10.97.0.2/24", "dev", "rP")
    in_ns(peer, "ip", "link", "set", "rP", "up")
    in_ns(peer, "ethtool", "-K", "rP", "tx", "off", "tso", "off", "gso", "off")
    ns.run("ethtool", "-K", "rA", "tx", "off", "tso", "off", "gso", "off")
    in_ns(peer, "ip", "-6", "route", "add", "default", "via", ROUTER_FAR6)
    in_ns(peer, "ip", "route", "add", "default", "via", "10.97.0.1")


def test_pmtu6_ping_through_a_1280_link(ns, peer, tmp_path):
    """The peer (link MTU 1280) pings libos with 1400-byte payloads: its requests arrive
    fragmented (libos reassembles), libos's first 1448-byte reply draws Packet Too Big
    (MTU 1280) from the Linux router, and libos fragments every later reply."""
    far_link(ns, peer, 1280, 1280)
    pcap = str(tmp_path / "pmtu6.pcap")
    cap = ns.capture(pcap)
    host = ns.libos("--app", "idle", "--duration", "12", "--addr6", LIBOS6 + "/64",
                    "--ip", f"-6 route add 2001:db8:97::/64 via {LINUX6}")
    time.sleep(2.5)
    r = in_ns(peer, "ping", "-6", "-c", "5", "-i", "0.3", "-W", "2", "-s", "1400", LIBOS6,
              check=False, timeout=30)
    received = int(r.stdout.split(" received")[0].split()[-1])
    # The first reply may die at the router (it answers with the PTB); the rest arrive.
    assert received >= 4, r.stdout
    out = finish(host)
    cap.terminate()
    cap.wait(timeout=10)
    ptb = tshark_rows(pcap, "ipv6.src", "ipv6.dst", "icmpv6.mtu", "icmpv6.checksum.status",
                      filt="icmpv6.type == 2")
    assert [LINUX6, LIBOS6, "1280", "1"] in ptb, ptb
    # libos's fragments: none larger than 1280 bytes of IPv6, 8-byte aligned offsets.
    frags = tshark_rows(pcap, "frame.len", "ipv6.fraghdr.offset", "ipv6.fraghdr.more",
                        filt=f"ipv6.src == {LIBOS6} && ipv6.fraghdr")
    assert len(frags) >= 2 * (received - 1), frags
    assert all(int(f[0]) - 14 <= 1280 for f in frags), frags
    # tshark reassembles them into echo replies with good checksums.
    replies = tshark_rows(pcap, "icmpv6.checksum.status", "ipv6.reassembled.length",
                          filt=f"ipv6.src == {LIBOS6} && icmpv6.type == 129")
    fragmented = [r for r in replies if r[1]]
    assert len(fragmented) >= received - 1 and all(r[0] == "1" for r in replies), replies
    c = snmp6(out)
    assert c.get("Ip6FragOKs", 0) >= 3 and c.get("Ip6FragCreates", 0) >= 6, c
    assert c.get("Ip6ReasmOKs", 0) >= 5, c
    print(f"PMTU6: {received}/5 replies, PTB mtu 1280, {len(frags)} fragments from libos")


PEER_SINK = sink_script("10.97.0.2", 5001)


def test_pmtu4_frag_needed_through_a_1280_link(ns, peer, tmp_path):
    """IPv4: libos sends 1 MiB over TCP (DF set) to a peer advertising MSS 1460 behind a
    router whose next link has MTU 1280: the router's frag-needed (MTU 1280) lowers
    libos's path MTU and the segments shrink; the data arrives intact."""
    far_link(ns, peer, 1280, 1500)
    pcap = str(tmp_path / "pmtu4.pcap")
    cap = ns.capture(pcap)
    srv = subprocess.Popen(["ip", "netns", "exec", peer, "python3", "-c", PEER_SINK],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ns.procs.append(srv)
    assert srv.stdout.readline().strip() == "LISTENING"
    size = 1 << 20
    host = ns.libos("--app", "tcp-source", "--connect", "10.97.0.2:5001", "--bytes", str(size),
                    "--gateway", "10.99.0.1", "--duration", "60")
    finish(host)
    srv_out, _ = srv.communicate(timeout=30)
    cap.terminate()
    cap.wait(timeout=10)
    n, digest = srv_out.split()
    assert int(n) == size and digest == sha256(pattern(size)), srv_out
    fn = tshark_rows(pcap, "frame.number", "ip.src", "icmp.mtu",
                     filt="icmp.type == 3 && icmp.code == 4")
    assert fn and fn[0][1] == "10.99.0.1" and fn[0][2] == "1280", fn
    first, last = int(fn[0][0]), int(fn[-1][0])
    segs = tshark_rows(pcap, "frame.number", "ip.len", "ip.flags.df",
                       filt=f"ip.src == {LIBOS_IP} && tcp.len > 0")
    before = [s for s in segs if int(s[0]) < first]
    after = [s for s in segs if int(s[0]) > last]
    assert any(int(s[1]) > 1280 for s in before), before[:5]
    assert after and all(int(s[1]) <= 1280 for s in after), after[:5]
    assert all(s[2] in ("1", "True") for s in segs), "DF not set on every segment"
    print(f"PMTU4: {len(fn)} frag-needed (frames {first}-{last}) for the first window, "
          f"then {len(after)} segments, all <= 1280")


def router_setup(ns, peer, *extra):
    """libos routes between ns (tap0) and `peer` (tap1, moved there once libos holds it)."""
    ns.run("ip", "tuntap", "add", "mode", "tap", "name", "tap1")
    ns.run("ip", "-6", "addr", "add", LINUX6 + "/64", "dev", "tap0", "nodad")
    host = ns.libos("--app", "idle", "--duration", "14", "--addr6", LIBOS6 + "/64",
                    "--ifname2", "tap1", "--mac2", "02:00:00:00:98:02",
                    "--addr2", LIBOS_B6 + "/64",
                    "--sysctl", "net.ipv6.conf.all.forwarding=1", *extra)
    ns.run("ip", "link", "set", "tap1", "netns", peer)
    in_ns(peer, "ip", "-6", "addr", "add", B6 + "/64", "dev", "tap1", "nodad")
    in_ns(peer, "ip", "link", "set", "tap1", "up")
    in_ns(peer, "ethtool", "-K", "tap1", "tx", "off", check=False)
    in_ns(peer, "ip", "-6", "route", "add", "default", "via", LIBOS_B6)
    ns.run("ip", "-6", "route", "add", "2001:db8:98::/64", "via", LIBOS6)
    ns.run("ip", "-6", "route", "add", "2001:db8:55::/64", "via", LIBOS6)
    time.sleep(2.5)
    return host


B_SINK = sink_script(B6, 5002)


def test_libos_routes_ipv6_between_linux_namespaces(ns, peer, tmp_path):
    """ping -6 across libos both ways, 1 MiB of TCP through it, hop limit 1 answered with
    Time Exceeded from libos, an unroutable destination with Destination Unreachable
    (no route), traceroute -6 through it; the forwarded packets carry a hop limit one
    lower."""
    pcap = str(tmp_path / "fwd6.pcap")
    cap = ns.capture(pcap)
    host = router_setup(ns, peer)
    in_ns(peer, "ping", "-6", "-c", "1", "-W", "2", LINUX6, check=False)
    r = ns.run("ping", "-6", "-c", "3", "-i", "0.2", "-W", "2", B6, check=False)
    assert " 0% packet loss" in r.stdout, r.stdout + r.stderr
    # B answered with hop limit 64; libos forwarded the reply with 63.
    assert r.stdout.count("ttl=63") == 3, r.stdout
    r = in_ns(peer, "ping", "-6", "-c", "3", "-i", "0.2", "-W", "2", LINUX6, check=False)
    assert " 0% packet loss" in r.stdout, r.stdout + r.stderr
    r = ns.run("ping", "-6", "-c", "1", "-t", "1", "-W", "2", B6, check=False)
    assert f"From {LIBOS6}" in r.stdout and "Time exceeded" in r.stdout, r.stdout
    r = ns.run("ping", "-6", "-c", "1", "-W", "2", "2001:db8:55::1", check=False)
    assert f"From {LIBOS6}" in r.stdout and "No route" in r.stdout, r.stdout
    # Linux's traceroute (UDP probes): hop 1 is libos (Time Exceeded), hop 2 is B (port
    # unreachable).
    r = ns.run("traceroute", "-6", "-n", "-q", "1", "-w", "2", "-m", "4", B6, check=False)
    hops = [l.split()[:2] for l in r.stdout.splitlines()[1:]]
    assert hops == [["1", LIBOS6], ["2", B6]], r.stdout + r.stderr
    srv = subprocess.Popen(["ip", "netns", "exec", peer, "python3", "-c", B_SINK],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ns.procs.append(srv)
    assert srv.stdout.readline().strip() == "LISTENING"
    size = 1 << 20
    client = source_script(B6, 5002, size, timeout=20)
    ns.run("python3", "-c", client, timeout=60)
    srv_out, _ = srv.communicate(timeout=30)
    n, digest = srv_out.split()
    assert int(n) == size and digest == sha256(pattern(size)), srv_out
    out = finish(host)
    cap.terminate()
    cap.wait(timeout=10)
    c = snmp6(out)
    assert c.get("Ip6OutForwDatagrams", 0) > 700, c
    assert c.get("Icmp6OutErrors", 0) >= 2 and c.get("Ip6InNoRoutes", 0) >= 1, c
    errs = tshark_rows(pcap, "ipv6.src", "icmpv6.type", "icmpv6.code",
                       "icmpv6.checksum.status", filt=f"ipv6.src == {LIBOS6} && icmpv6.type < 128")
    assert ["3", "0", "1"] in [e[1:] for e in errs] and ["1", "0", "1"] in [e[1:] for e in errs]
    print(f"router: forwarded {c['Ip6OutForwDatagrams']} packets, errors {errs}")


# The start of every script writing crafted IPv6 frames on {dev} with AF_PACKET: the
# socket, the Ethernet header from our MAC to {dmac}, SRC and DST, and the Internet
# checksum (RFC 1071).
AF_PACKET_HEAD = textwrap.dedent("""
    import socket, struct, sys, time
    src_mac = open("/sys/class/net/{dev}/address").read().strip()
    SRC = socket.inet_pton(socket.AF_INET6, "{src}")
    DST = socket.inet_pton(socket.AF_INET6, "{dst}")
    ETH = bytes.fromhex("{dmac}".replace(":", "")) + bytes.fromhex(src_mac.replace(":", "")) \\
        + b"\\x86\\xdd"
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind(("{dev}", 0))
    a = lambda t: socket.inet_pton(socket.AF_INET6, t)

    def csum(b):
        if len(b) % 2: b += b"\\0"
        t = sum(struct.unpack("!%dH" % (len(b) // 2), b))
        while t >> 16: t = (t & 0xffff) + (t >> 16)
        return ~t & 0xffff
""")

# Fragments crafted on the Linux side and written to tap0 with AF_PACKET.
CRAFT = AF_PACKET_HEAD + textwrap.dedent("""
    def echo(ident, n):
        body = bytes((i * 7) & 0xff for i in range(n))
        msg = struct.pack("!BBHHH", 128, 0, 0, ident, 1) + body
        ph = SRC + DST + struct.pack("!I3xB", len(msg), 58)
        c = csum(ph + msg)
        return msg[:2] + struct.pack("!H", c) + msg[4:]

    def frag(ident, off, more, data):
        fh = struct.pack("!BBHI", 58, 0, off | more, 0x1000 + ident)
        ip = struct.pack("!IHBB", 0x60000000, 8 + len(data), 44, 64) + SRC + DST
        s.send(ETH + ip + fh + data)
        time.sleep(0.02)

    m = echo(1, 2000)      # 1: two clean fragments, out of order -> reply
    frag(1, 1200, 0, m[1200:]); frag(1, 0, 1, m[:1200])
    m = echo(2, 2000)      # 2: the second overlaps the first by 8 bytes -> dropped
    frag(2, 0, 1, m[:1200]); frag(2, 1192, 0, m[1192:])
    m = echo(3, 2000)      # 3: an exact duplicate is ignored -> reply
    frag(3, 0, 1, m[:1200]); frag(3, 0, 1, m[:1200]); frag(3, 1200, 0, m[1200:])
    m = echo(4, 2000)      # 4: within a run of two held fragments: a duplicate -> reply
    frag(4, 0, 1, m[:800]); frag(4, 800, 1, m[800:1600]); frag(4, 400, 1, m[400:1200])
    frag(4, 1600, 0, m[1600:])
    m = echo(5, 100)       # 5: an atomic fragment (RFC 6946) -> reply
    frag(5, 0, 0, m)
    m = echo(6, 2000)      # 6: a non-final fragment of 1201 bytes -> Parameter Problem
    frag(6, 0, 1, m[:1201])
    m = echo(7, 2000)      # 7: only the first fragment -> Time Exceeded (code 1) later
    frag(7, 0, 1, m[:1200])
    print("SENT", flush=True)
""")


def crafted_answers(pcap, src):
    """Echo reply identifiers and (type, code, pointer) of the errors from `src`."""
    replies = tshark_rows(pcap, "icmpv6.echo.identifier", "icmpv6.checksum.status",
                          filt=f"ipv6.src == {src} && icmpv6.type == 129")
    assert all(r[1] == "1" for r in replies), replies
    errs = tshark_rows(pcap, "icmpv6.type", "icmpv6.code", "icmpv6.pointer",
                       filt=f"ipv6.src == {src} && (icmpv6.type == 4 || icmpv6.type == 3)")
    return sorted(int(r[0], 0) for r in replies), sorted(tuple(e) for e in errs)


def linux_twin(ns, peer, tmp_path):
    """The same frames sent to Linux: ns's veth cx (2001:db8:96::1) to lx in `peer`."""
    sh("ip", "link", "add", "cx", "netns", ns.name, "type", "veth", "peer", "name", "lx",
       "netns", peer)
    ns.run("ip", "-6", "addr", "add", "2001:db8:96::1/64", "dev", "cx", "nodad")
    ns.run("ip", "link", "set", "cx", "up")
    in_ns(peer, "sysctl", "-w", "net.ipv6.ip6frag_time=3")
    in_ns(peer, "ip", "-6", "addr", "add", "2001:db8:96::2/64", "dev", "lx", "nodad")
    in_ns(peer, "ip", "link", "set", "lx", "up")
    mac = in_ns(peer, "cat", "/sys/class/net/lx/address").stdout.strip()
    ns.run("ip", "-6", "neigh", "replace", "2001:db8:96::2", "lladdr", mac, "dev", "cx")
    pcap = str(tmp_path / "frag6-linux.pcap")
    cap = ns.popen("tcpdump", "-i", "cx", "-U", "-s", "0", "-w", pcap)
    time.sleep(1.5)
    ns.run("python3", "-c", CRAFT.format(src="2001:db8:96::1", dst="2001:db8:96::2",
                                         dmac=mac, dev="cx"))
    time.sleep(4.5)
    cap.terminate()
    cap.wait(timeout=10)
    snmp = in_ns(peer, "cat", "/proc/net/snmp6").stdout
    reasm = {l.split()[0]: int(l.split()[1]) for l in snmp.splitlines() if "Reasm" in l}
    return crafted_answers(pcap, "2001:db8:96::2"), reasm


def test_crafted_fragments(ns, peer, tmp_path):
    """Fragments written by a Python AF_PACKET socket: libos answers exactly the
    datagrams Linux's reassembly accepts (clean, duplicate, atomic), drops overlaps
    (RFC 5722) with Ip6ReasmFails counted, sends Parameter Problem for a misaligned
    fragment and Time Exceeded (code 1) when a first fragment's queue expires. The same
    frames go to Linux first (its ip6frag_time also 3 s): the answers must match."""
    linux, linux_reasm = linux_twin(ns, peer, tmp_path)
    ns.run("ip", "-6", "addr", "add", LINUX6 + "/64", "dev", "tap0", "nodad")
    ns.run("ip", "-6", "neigh", "replace", LIBOS6, "lladdr", LIBOS_MAC, "dev", "tap0")
    pcap = str(tmp_path / "frag6.pcap")
    cap = ns.capture(pcap)
    host = ns.libos("--app", "idle", "--duration", "9", "--addr6", LIBOS6 + "/64",
                    "--sysctl", "net.ipv6.ip6frag_time=3")
    time.sleep(2.5)
    ns.run("python3", "-c", CRAFT.format(src=LINUX6, dst=LIBOS6, dmac=LIBOS_MAC, dev="tap0"))
    out = finish(host)
    cap.terminate()
    cap.wait(timeout=10)
    libos = crafted_answers(pcap, LIBOS6)
    assert libos == linux, f"libos {libos} != Linux {linux}"
    assert libos[0] == [1, 3, 4, 5], libos
    assert ("4", "0", "4") in libos[1] and ("3", "1", "") in libos[1], libos
    c = snmp6(out)
    reasm = {k: c.get(k, 0) for k in linux_reasm}
    assert reasm == linux_reasm, f"libos {reasm} != Linux {linux_reasm}"
    assert reasm["Ip6ReasmFails"] >= 2 and reasm["Ip6ReasmTimeout"] >= 1, reasm
    print("fragments: answers", libos, "counters", reasm)


UDP_BURST = textwrap.dedent("""
    import socket, time
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    for i in range(20):
        s.sendto(b"x" * 32, ("{dst}", 9))
        time.sleep(0.01)
""")


def test_icmp6_error_rate_limit_as_linux(ns, peer, tmp_path):
    """20 UDP datagrams, 10 ms apart, to a closed port of libos and of a Linux twin: the
    port unreachables each sends follow the same per-destination token bucket
    (`icmpv6_xrlim_allow`: net.ipv6.icmp.ratelimit scaled by the route's prefix length,
    a burst of 6)."""
    sh("ip", "link", "add", "cx", "netns", ns.name, "type", "veth", "peer", "name", "lx",
       "netns", peer)
    ns.run("ip", "-6", "addr", "add", "2001:db8:96::1/64", "dev", "cx", "nodad")
    ns.run("ip", "link", "set", "cx", "up")
    in_ns(peer, "ip", "-6", "addr", "add", "2001:db8:96::2/64", "dev", "lx", "nodad")
    in_ns(peer, "ip", "link", "set", "lx", "up")
    ns.run("ip", "-6", "addr", "add", LINUX6 + "/64", "dev", "tap0", "nodad")
    pcap = str(tmp_path / "rl.pcap")
    cap = ns.popen("tcpdump", "-i", "any", "-U", "-s", "0", "-w", pcap)
    host = ns.libos("--app", "idle", "--duration", "6", "--addr6", LIBOS6 + "/64")
    time.sleep(2.5)
    ns.run("ping", "-6", "-c", "1", "-W", "2", "2001:db8:96::2", check=False)
    ns.run("ping", "-6", "-c", "1", "-W", "2", LIBOS6, check=False)
    for dst in ("2001:db8:96::2", LIBOS6):
        ns.run("python3", "-c", UDP_BURST.format(dst=dst))
    out = finish(host)
    time.sleep(0.5)
    cap.terminate()
    cap.wait(timeout=10)
    count = {}
    for src in ("2001:db8:96::2", LIBOS6):
        count[src] = len(tshark_rows(pcap, "frame.number", filt=f"ipv6.src == {src} && "
                                     "icmpv6.type == 1 && icmpv6.code == 4"))
    linux, libos = count["2001:db8:96::2"], count[LIBOS6]
    assert 6 <= linux < 20, count
    assert abs(libos - linux) <= 2, f"libos sent {libos} port unreachables, Linux {linux}"
    assert snmp6(out).get("Icmp6OutRateLimitHost", 0) >= 20 - libos - 1, out
    print(f"rate limit: Linux {linux}, libos {libos} port unreachables of 20")


# MLD queries from a (forged) link-local querier, written with AF_PACKET: a general
# MLDv2 query (RFC 3810 §5.1), then an MLDv1 one (RFC 2710 §3.6), both hop limit 1
# behind a Router Alert, maximum response delay 500 ms.
QUERY = AF_PACKET_HEAD + textwrap.dedent("""
    def send(msg):
        ph = SRC + DST + struct.pack("!I3xB", len(msg), 58)
        msg = msg[:2] + struct.pack("!H", csum(ph + msg)) + msg[4:]
        hbh = bytes([58, 0, 5, 2, 0, 0, 1, 0])
        ip = struct.pack("!IHBB", 0x60000000, len(hbh) + len(msg), 0, 1) + SRC + DST
        s.send(ETH + ip + hbh + msg)

    send(struct.pack("!BBHHH", 130, 0, 0, 500, 0) + bytes(16) + bytes([2, 125, 0, 0]))
    time.sleep(1.5)
    send(struct.pack("!BBHHH", 130, 0, 0, 500, 0) + bytes(16))
    time.sleep(1.5)
""")


def mld_answers(pcap, mac):
    """Reports from `mac` after the first query: (MLD version, record types, groups)."""
    rows = sh("tshark", "-n", "-r", pcap, "-T", "fields", "-e", "frame.number", "-e",
              "eth.src", "-e", "icmpv6.type", "-e", "icmpv6.mldr.mar.record_type", "-e",
              "icmpv6.mldr.mar.multicast_address", "-e", "icmpv6.mld.multicast_address",
              "-Y", "icmpv6.type == 130 || icmpv6.type == 131 || icmpv6.type == 143").stdout
    rows = [r.split("\t") + [""] * 6 for r in rows.splitlines() if r]
    first_q = min(int(r[0]) for r in rows if r[2] == "130")
    v1_q = max(int(r[0]) for r in rows if r[2] == "130")
    # The Current-State answer (MODE_IS_EXCLUDE records), not the retransmitted
    # State-Change reports of a recent join.
    v2 = [r for r in rows if r[1] == mac and r[2] == "143" and first_q < int(r[0]) < v1_q
          and "2" in r[3].split(",")]
    v1 = [r for r in rows if r[1] == mac and r[2] == "131" and int(r[0]) > v1_q]
    v2_types = {t for r in v2 for t in r[3].split(",") if t}
    v2_groups = {g for r in v2 for g in r[4].split(",") if g}
    v1_groups = {r[5] for r in v1}
    return v2_types, v2_groups, v1_groups


def test_mld_queries_answered_as_linux(ns, peer, tmp_path):
    """libos and a Linux twin get the same MLDv2 then MLDv1 general query: both answer
    the v2 query with Current-State records MODE_IS_EXCLUDE (type 2) for the solicited-
    node groups of their addresses, and the v1 query with one MLDv1 report per group."""
    sh("ip", "link", "add", "cx", "netns", ns.name, "type", "veth", "peer", "name", "lx",
       "netns", peer)
    ns.run("ip", "link", "set", "cx", "up")
    in_ns(peer, "ip", "-6", "addr", "add", "2001:db8:96::2/64", "dev", "lx", "nodad")
    in_ns(peer, "ip", "link", "set", "lx", "up")
    lx_mac = in_ns(peer, "cat", "/sys/class/net/lx/address").stdout.strip()
    lx_ll = in_ns(peer, "ip", "-6", "-o", "addr", "show", "dev", "lx", "scope", "link")
    pcap_l = str(tmp_path / "mld-linux.pcap")
    cap = ns.popen("tcpdump", "-i", "cx", "-U", "-s", "0", "-w", pcap_l)
    time.sleep(2.5)
    ns.run("python3", "-c", QUERY.format(dev="cx", src="fe80::99", dst="ff02::1", dmac="33:33:00:00:00:01"))
    cap.terminate()
    cap.wait(timeout=10)
    pcap = str(tmp_path / "mld-libos.pcap")
    cap = ns.capture(pcap)
    host = ns.libos("--app", "idle", "--duration", "7", "--addr6", LIBOS6 + "/64")
    time.sleep(2.5)
    ns.run("python3", "-c", QUERY.format(dev="tap0", src="fe80::99", dst="ff02::1", dmac="33:33:00:00:00:01"))
    finish(host)
    cap.terminate()
    cap.wait(timeout=10)
    linux = mld_answers(pcap_l, lx_mac)
    libos = mld_answers(pcap, LIBOS_MAC)
    ll = lx_ll.stdout.split()[3].split("/")[0]

    def sol(a):
        """The solicited-node group of `a` (RFC 4291 §2.7.1)."""
        low = ipaddress.IPv6Address(a).packed[-3:]
        return str(ipaddress.IPv6Address(bytes.fromhex("ff02" + "00" * 8 + "0001ff") + low))

    assert linux[0] == libos[0] == {"2"}, (linux, libos)
    assert linux[1] == {sol("2001:db8:96::2"), sol(ll)}, linux
    assert libos[1] == {sol(LIBOS6), sol(LIBOS_LL)}, libos
    assert linux[2] == linux[1] and libos[2] == libos[1], (linux, libos)
    print("MLD: Linux", linux, "libos", libos)


# Forged NDP written with AF_PACKET (RFC 4861 §6.1.2, §7.1.2: hop limit must be 255).
FORGED_NDP = AF_PACKET_HEAD + textwrap.dedent("""
    ETH_SRC = bytes.fromhex(src_mac.replace(":", ""))
    BOGUS = bytes.fromhex("02deadbeef00")

    def send(src, dst, dmac, hlim, msg):
        ph = a(src) + a(dst) + struct.pack("!I3xB", len(msg), 58)
        msg = msg[:2] + struct.pack("!H", csum(ph + msg)) + msg[4:]
        ip = struct.pack("!IHBB", 0x60000000, len(msg), 58, hlim) + a(src) + a(dst)
        s.send(dmac + ETH_SRC + b"\\x86\\xdd" + ip + msg)

    libos = bytes.fromhex("{libos_mac}".replace(":", ""))
    for hlim in (64, 254):
        # An unsolicited override NA: {linux6} is at a bogus MAC.
        na = struct.pack("!BBHI", 136, 0, 0, 0x20000000) + a("{linux6}") \\
            + bytes([2, 1]) + BOGUS
        send("{linux6}", "{libos6}", libos, hlim, na)
        # An RA with an autonomous prefix and a default router lifetime.
        ra = struct.pack("!BBHBBHII", 134, 0, 0, 64, 0, 1800, 0, 0) \\
            + bytes([3, 4, 64, 0xc0]) + struct.pack("!III", 86400, 14400, 0) \\
            + a("2001:db8:bad::")
        send("fe80::bad", "ff02::1", bytes.fromhex("333300000001"), hlim, ra)
""")


def test_forged_ndp_ignored(ns, tmp_path):
    """NA and RA with a hop limit below 255 (so not from the link) change nothing: libos
    keeps Linux's real MAC (its echo replies go there), forms no address from the
    forged prefix and takes no default router."""
    ns.run("ip", "-6", "addr", "add", LINUX6 + "/64", "dev", "tap0", "nodad")
    pcap = str(tmp_path / "ndp.pcap")
    cap = ns.capture(pcap)
    host = ns.libos("--app", "idle", "--duration", "7", "--addr6", LIBOS6 + "/64")
    time.sleep(2.5)
    r = ns.run("ping", "-6", "-c", "1", "-W", "2", LIBOS6, check=False)
    assert " 0% packet loss" in r.stdout, r.stdout
    ns.run("python3", "-c", FORGED_NDP.format(libos_mac=LIBOS_MAC, linux6=LINUX6,
                                              libos6=LIBOS6, dev="tap0", src="::",
                                              dst="::", dmac="00:00:00:00:00:00"))
    time.sleep(0.5)
    r = ns.run("ping", "-6", "-c", "3", "-i", "0.2", "-W", "2", LIBOS6, check=False)
    assert " 0% packet loss" in r.stdout, r.stdout
    out = finish(host)
    cap.terminate()
    cap.wait(timeout=10)
    assert "2001:db8:bad" not in out and "ROUTER6" not in out, out
    linux_mac = ns.run("cat", "/sys/class/net/tap0/address").stdout.strip()
    replies = tshark_rows(pcap, "eth.dst", filt=f"ipv6.src == {LIBOS6} && icmpv6.type == 129")
    assert replies and all(r[0] == linux_mac for r in replies), replies


def test_libos_router_sends_packet_too_big(ns, peer, tmp_path):
    """libos's link toward B has MTU 1280: a 1448-byte echo request from Linux is not
    fragmented in transit but answered with Packet Too Big (MTU 1280); Linux learns the
    path MTU (`ip -6 route get` shows it) and its later requests arrive in fragments."""
    pcap = str(tmp_path / "ptb.pcap")
    cap = ns.capture(pcap)
    host = router_setup(ns, peer, "--ip", "link set eth1 mtu 1280")
    r = ns.run("ping", "-6", "-c", "4", "-i", "0.3", "-W", "2", "-s", "1400", B6, check=False)
    received = int(r.stdout.split(" received")[0].split()[-1])
    assert received >= 3, r.stdout
    route = ns.run("ip", "-6", "route", "get", B6).stdout
    assert "mtu 1280" in route, route
    out = finish(host)
    cap.terminate()
    cap.wait(timeout=10)
    ptb = tshark_rows(pcap, "ipv6.src", "ipv6.dst", "icmpv6.mtu", "icmpv6.checksum.status",
                      filt="icmpv6.type == 2")
    assert [LIBOS6, LINUX6, "1280", "1"] in ptb, ptb
    c = snmp6(out)
    assert c.get("Ip6InTooBigErrors", 0) >= 1 and c.get("Ip6OutForwDatagrams", 0) >= 6, c
    print(f"router PTB: {received}/4 replies, Linux route: {route.strip()}")
