"""TCP and UDP sockets over IPv6 against the Linux kernel (issue 8): a Linux client to a
libos server and a libos client to a Linux server, data verified by sha256, a clean close
(SYN, SYN-ACK, a FIN each way, no RST) in a capture decoded by tshark with checksums
checked; libos's dual-stack listener (`[::]`, IPV6_V6ONLY off) taking Linux's IPv4 and
IPv6 clients with Linux's peer names; curl -6 fetching from libos."""

import time

from conftest import LIBOS_IP, LINUX_IP, pattern, sha256
from stream import sink_script, source_script
from test_linux import finish, result, tshark_rows

LINUX6 = "2001:db8:99::1"
LIBOS6 = "2001:db8:99::2"
SIZE = 2 << 20


def up6(ns, *args):
    """libos-host with LIBOS6, started once Linux has its address; waits out libos's
    DAD (a probe within 1 s, usable 1 s later) before returning."""
    ns.run("ip", "-6", "addr", "add", LINUX6 + "/64", "dev", "tap0", "nodad")
    host = ns.libos("--addr6", LIBOS6 + "/64", *args)
    time.sleep(2.5)
    return host


def assert_clean_tcp6(path, port):
    """The IPv6 twin of test_linux.assert_clean_tcp."""
    flt = f"ipv6 && tcp.port == {port}"
    rows = tshark_rows(path, "ipv6.src", "tcp.flags.syn", "tcp.flags.ack", "tcp.flags.fin",
                       "tcp.flags.reset", "tcp.options.mss_val", filt=flt)
    assert rows, "no TCP over IPv6 in capture"
    syn = [r for r in rows if r[1] == "1" and r[2] == "0"]
    synack = [r for r in rows if r[1] == "1" and r[2] == "1"]
    fins = {r[0] for r in rows if r[3] == "1"}
    rsts = [r for r in rows if r[4] == "1"]
    assert syn and synack, "handshake missing"
    assert fins == {LINUX6, LIBOS6}, f"FIN seen from {fins}"
    assert not rsts, f"{len(rsts)} RST segments"
    # Both ends advertise MTU 1500 - 40 (IPv6) - 20 (TCP).
    assert {r[5] for r in syn + synack} == {"1440"}, syn + synack
    rfc1624 = f"(ipv6.src == {LINUX6} && tcp.checksum == 0xffff)"
    bad = tshark_rows(path, "frame.number",
                      filt=f"({flt}) && (tcp.checksum.status == 0 || _ws.malformed) "
                           f"&& !{rfc1624}")
    assert not bad, f"bad checksum or malformed frames: {bad[:5]}"
    good = tshark_rows(path, "frame.number",
                       filt=f"{flt} && (tcp.checksum.status == 1 || {rfc1624})")
    assert len(good) == len(rows), "some TCP checksums were not verified"
    return len(rows)


LINUX_SINK6 = sink_script(LINUX6, 5011, with_peer=True)


def test_linux_client_to_libos_server_over_ipv6(ns, tmp_path):
    pcap = str(tmp_path / "srv6.pcap")
    cap = ns.capture(pcap)
    host = up6(ns, "--app", "tcp-sink", "--port", "5010", "--duration", "60")
    cl = ns.popen("python3", "-c", source_script(LIBOS6, 5010, SIZE))
    cl_out, cl_err = cl.communicate(timeout=60)
    assert cl.returncode == 0, cl_err
    out = finish(host)
    assert int(result(out, "bytes")) == SIZE, out
    assert result(out, "sha256") == sha256(pattern(SIZE)), out
    port = cl_out.split()[1]
    assert f"ACCEPTED peer=[{LINUX6}]:{port}" in out, out
    cap.terminate(); cap.wait(timeout=10)
    frames = assert_clean_tcp6(pcap, 5010)
    print(f"linux->libos over IPv6: {SIZE} bytes verified, {frames} frames, clean close")


def test_libos_client_to_linux_server_over_ipv6(ns, tmp_path):
    pcap = str(tmp_path / "cli6.pcap")
    cap = ns.capture(pcap)
    ns.run("ip", "-6", "addr", "add", LINUX6 + "/64", "dev", "tap0", "nodad")
    srv = ns.popen("python3", "-c", LINUX_SINK6)
    assert srv.stdout.readline().strip() == "LISTENING"
    # libos-host connects at start; while DAD runs there is no usable source address
    # (EADDRNOTAVAIL, as on Linux) and the app retries until there is.
    host = ns.libos("--addr6", LIBOS6 + "/64", "--app", "tcp-source", "--connect",
                    f"[{LINUX6}]:5011", "--bytes", str(SIZE), "--duration", "60")
    out = finish(host)
    srv_out, srv_err = srv.communicate(timeout=30)
    n, digest, peer = srv_out.split()
    assert int(n) == SIZE and digest == sha256(pattern(SIZE)), (srv_out, srv_err, out)
    assert peer == LIBOS6, srv_out
    cap.terminate(); cap.wait(timeout=10)
    frames = assert_clean_tcp6(pcap, 5011)
    print(f"libos->linux over IPv6: {SIZE} bytes verified, {frames} frames, clean close")


def test_dual_stack_listener_takes_v4_and_v6(ns):
    """One `[::]` listener kind, two runs: Linux's IPv4 client is seen as
    ::ffff:10.99.0.1, its IPv6 client as itself; both streams arrive intact."""
    size = 256 << 10
    for target, family, peer in ((LIBOS_IP, "AF_INET", f"::ffff:{LINUX_IP}"),
                                 (LIBOS6, "AF_INET6", LINUX6)):
        if family == "AF_INET":
            host = ns.libos("--app", "tcp-sink", "--port", "5012", "--duration", "30")
        else:
            host = up6(ns, "--app", "tcp-sink", "--port", "5012", "--duration", "30")
        r = ns.run("python3", "-c", source_script(target, 5012, size), timeout=60)
        port = r.stdout.split()[1]
        out = finish(host)
        assert int(result(out, "bytes")) == size, out
        assert result(out, "sha256") == sha256(pattern(size)), out
        assert f"ACCEPTED peer=[{peer}]:{port}" in out, out


def test_curl6_fetches_from_libos(ns, tmp_path):
    size = 1 << 20
    host = up6(ns, "--app", "http", "--port", "8080", "--bytes", str(size), "--duration", "30")
    body = tmp_path / "body"
    r = ns.run("curl", "-6", "-sS", "--max-time", "20", "-o", str(body),
               f"http://[{LIBOS6}]:8080/x")
    assert r.returncode == 0, r.stderr
    finish(host)
    data = body.read_bytes()
    assert len(data) == size and data == pattern(size)
