"""IPv6 against the Linux kernel (issue 8, first part): neighbour discovery both ways,
the link-local address from the MAC, duplicate address detection (passing, and failing
when Linux owns the address), ICMPv6 echo to libos's link-local and global addresses;
tshark decodes the capture with the ICMPv6 checksum checked."""

import time

from conftest import LIBOS_MAC, sh

LINUX6 = "2001:db8:99::1"
LIBOS6 = "2001:db8:99::2"
# Modified EUI-64 of 02:00:00:00:99:02 (RFC 4291 App. A): the U/L bit flipped to 0.
LIBOS_LL = "fe80::ff:fe00:9902"


def addr6_states(out):
    return {line.split()[1]: line.split()[2] for line in out.splitlines()
            if line.startswith("ADDR6 ")}


def test_linux_pings_libos_over_ipv6(ns, tmp_path):
    ns.run("ip", "-6", "addr", "add", LINUX6 + "/64", "dev", "tap0", "nodad")
    pcap = str(tmp_path / "v6.pcap")
    cap = ns.capture(pcap)
    host = ns.libos("--app", "idle", "--duration", "9", "--addr6", LIBOS6 + "/64")
    # DAD: a probe within 1 s, the address usable one retrans time (1 s) later.
    time.sleep(2.5)
    for dst in (LIBOS6, LIBOS_LL + "%tap0"):
        r = ns.run("ping", "-6", "-c", "3", "-i", "0.2", "-W", "2", dst, timeout=30)
        assert " 0% packet loss" in r.stdout, r.stdout
    neigh = ns.run("ip", "-6", "neigh", "show", LIBOS6).stdout
    assert LIBOS_MAC in neigh, neigh
    out, _ = host.communicate(timeout=30)
    states = addr6_states(out)
    assert states == {LIBOS_LL + "/64": "Preferred", LIBOS6 + "/64": "Preferred"}, out
    cap.terminate()
    cap.wait(timeout=10)
    # Wireshark always verifies the ICMPv6 checksum (status 1 = good).
    rows = sh("tshark", "-n", "-r", pcap, "-T", "fields",
              "-e", "ipv6.src", "-e", "icmpv6.type", "-e", "icmpv6.checksum.status",
              "-e", "ipv6.hlim", "-Y", "icmpv6").stdout.splitlines()
    rows = [r.split("\t") for r in rows]
    assert rows and all(r[2] == "1" for r in rows), rows
    # libos's DAD probes (NS from ::, hop limit 255) for both addresses...
    dad = [r for r in rows if r[0] == "::" and r[1] == "135"]
    assert len(dad) >= 2 and all(r[3] == "255" for r in dad), rows
    # ...its neighbour advertisements, and six echo replies.
    assert any(r[0] == LIBOS6 and r[1] == "136" for r in rows), rows
    replies = [r for r in rows if r[1] == "129" and r[0] in (LIBOS6, LIBOS_LL)]
    assert len(replies) == 6, rows
    # MLDv2 reports for the solicited-node groups, shaped as Linux's own (RFC 3810):
    # hop limit 1 to ff02::16 behind a Router Alert, CHANGE_TO_EXCLUDE records.
    mld = sh("tshark", "-n", "-r", pcap, "-T", "fields", "-e", "eth.src", "-e", "ipv6.hlim",
             "-e", "ipv6.dst", "-e", "ipv6.opt.router_alert", "-e", "icmpv6.checksum.status",
             "-e", "icmpv6.mldr.mar.record_type", "-e", "icmpv6.mldr.mar.multicast_address",
             "-Y", "icmpv6.type == 143").stdout.splitlines()
    mld = [r.split("\t") for r in mld]
    ours = [r for r in mld if r[0] == LIBOS_MAC]
    theirs = [r for r in mld if r[0] != LIBOS_MAC]
    assert ours and theirs, mld
    shape = lambda rs: {tuple(r[1:5]) + (r[5].split(",")[0],) for r in rs}  # noqa: E731
    assert shape(ours) == shape(theirs) == {("1", "ff02::16", "0", "1", "4")}, mld
    groups = {g for r in ours for g in r[6].split(",")}
    assert groups == {"ff02::1:ff00:2", "ff02::1:ff00:9902"}, groups


def test_duplicate_address_detected_against_linux(ns):
    """Linux owns the address first; libos's probe is answered and libos marks its own
    copy dadfailed, never answering for it."""
    ns.run("ip", "-6", "addr", "add", LIBOS6 + "/64", "dev", "tap0", "nodad")
    host = ns.libos("--app", "idle", "--duration", "4", "--addr6", LIBOS6 + "/64")
    out, _ = host.communicate(timeout=30)
    states = addr6_states(out)
    assert states[LIBOS6 + "/64"] == "DadFailed", out
    assert states[LIBOS_LL + "/64"] == "Preferred", out


RADVD_CONF = """interface tap0 {
    AdvSendAdvert on;
    MinRtrAdvInterval 3;
    MaxRtrAdvInterval 4;
    AdvDefaultLifetime 600;
    AdvLinkMTU 1400;
    prefix 2001:db8:99::/64 { AdvOnLink on; AdvAutonomous on; };
};
"""
# The SLAAC address: the advertised prefix and the modified EUI-64 of the MAC.
LIBOS_SLAAC = "2001:db8:99::ff:fe00:9902"


def test_slaac_and_default_router_from_radvd(ns, tmp_path):
    """radvd on the Linux side answers libos's router solicitation: libos forms its
    address from the prefix (after DAD), takes Linux as default router, and answers a
    ping from an off-link source through it."""
    ns.run("sysctl", "-w", "net.ipv6.conf.all.forwarding=1")
    ns.run("ip", "-6", "addr", "add", LINUX6 + "/64", "dev", "tap0", "nodad")
    # An off-link source on the Linux side, reachable only through the router.
    ns.run("ip", "-6", "addr", "add", "2001:db8:aa::1/128", "dev", "lo")
    conf = tmp_path / "radvd.conf"
    conf.write_text(RADVD_CONF)
    pcap = str(tmp_path / "ra.pcap")
    cap = ns.capture(pcap)
    radvd = ns.popen("radvd", "-n", "-C", str(conf), "-p", str(tmp_path / "radvd.pid"),
                     "-m", "stderr")
    # Link-local DAD, a solicitation, radvd's answer and the SLAAC address's DAD take
    # 3-6 s (random delays below 1 s at each step); allow for a loaded machine.
    host = ns.libos("--app", "idle", "--duration", "16")
    deadline = time.time() + 14
    while time.time() < deadline:
        r = ns.run("ping", "-6", "-c", "1", "-W", "1", "-I", "2001:db8:aa::1", LIBOS_SLAAC,
                   check=False, timeout=10)
        if r.returncode == 0:
            break
        time.sleep(0.3)
    assert r.returncode == 0, r.stdout + r.stderr
    out, _ = host.communicate(timeout=30)
    radvd.terminate()
    cap.terminate()
    cap.wait(timeout=10)
    assert addr6_states(out).get(LIBOS_SLAAC + "/64") == "Preferred", out
    linux_ll = ns.run("ip", "-6", "-o", "addr", "show", "dev", "tap0", "scope", "link")
    ll = linux_ll.stdout.split()[3].split("/")[0]
    assert f"ROUTER6 {ll}" in out, out
    rows = sh("tshark", "-n", "-r", pcap, "-T", "fields", "-e", "ipv6.src", "-e", "ipv6.dst",
              "-e", "icmpv6.type", "-e", "icmpv6.checksum.status", "-Y", "icmpv6").stdout
    rows = [r.split("\t") for r in rows.splitlines()]
    # libos solicited routers from its link-local address; every checksum verified.
    assert any(r[0] == LIBOS_LL and r[1] == "ff02::2" and r[2] == "133" for r in rows), rows
    assert all(r[3] == "1" for r in rows), rows
