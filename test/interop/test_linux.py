"""libos against the Linux kernel: ping, TCP both ways with the data verified, a clean
close as seen in a capture decoded by tshark with checksum validation, and curl."""

import subprocess

from conftest import HOST_BIN, LIBOS_IP, LIBOS_MAC, LINUX_IP, pattern, sha256, sh
from stream import sink_script, source_script

SIZE = 4 << 20


def finish(p, timeout=60):
    out, err = p.communicate(timeout=timeout)
    assert p.returncode == 0, f"libos-host failed ({p.returncode}):\n{out}\n{err}"
    return out


def result(out, key):
    for line in out.splitlines():
        if line.startswith("RESULT"):
            fields = dict(f.split("=", 1) for f in line.split()[1:])
            return fields[key]
    raise AssertionError(f"no RESULT line in:\n{out}")


def tshark_rows(path, *fields, filt=None):
    cmd = ["tshark", "-n", "-r", path, "-o", "ip.check_checksum:TRUE",
           "-o", "tcp.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE", "-T", "fields"]
    if filt:
        cmd += ["-Y", filt]
    for f in fields:
        cmd += ["-e", f]
    out = sh(*cmd).stdout
    return [line.split("\t") for line in out.splitlines() if line]


def assert_clean_tcp(path, port):
    """SYN, SYN-ACK, a FIN from each side, no RST, no bad checksum, nothing malformed."""
    flt = f"tcp.port == {port}"
    rows = tshark_rows(path, "ip.src", "tcp.flags.syn", "tcp.flags.ack", "tcp.flags.fin",
                       "tcp.flags.reset", filt=flt)
    assert rows, "no TCP in capture"
    syn = [r for r in rows if r[1] == "1" and r[2] == "0"]
    synack = [r for r in rows if r[1] == "1" and r[2] == "1"]
    fins = {r[0] for r in rows if r[3] == "1"}
    rsts = [r for r in rows if r[4] == "1"]
    assert len(syn) >= 1 and len(synack) >= 1, "handshake missing"
    assert fins == {LINUX_IP, LIBOS_IP}, f"FIN seen from {fins}"
    assert not rsts, f"{len(rsts)} RST segments"
    # Linux now and then sends 0xffff where the sum folds to 0x0000: the same value in
    # one's complement (RFC 1624 §3), which tshark flags. Only Linux's frames get that pass.
    rfc1624 = f"(ip.src == {LINUX_IP} && tcp.checksum == 0xffff)"
    bad = tshark_rows(path, "frame.number",
                      filt=f"(ip.checksum.status == 0 || tcp.checksum.status == 0 "
                           f"|| _ws.malformed) && !{rfc1624}")
    assert not bad, f"bad checksum or malformed frames: {bad[:5]}"
    good = tshark_rows(path, "frame.number",
                       filt=f"{flt} && (tcp.checksum.status == 1 || {rfc1624})")
    assert len(good) == len(rows), "some TCP checksums were not verified"
    return len(rows)


LINUX_SINK = sink_script(LINUX_IP, 5001)


def test_linux_pings_libos(ns):
    host = ns.libos("--app", "idle", "--duration", "8")
    r = ns.run("ping", "-c", "5", "-i", "0.2", "-W", "2", LIBOS_IP)
    assert " 0% packet loss" in r.stdout, r.stdout
    neigh = ns.run("ip", "neigh", "show", LIBOS_IP).stdout
    assert LIBOS_MAC in neigh, f"ARP entry missing: {neigh!r}"
    host.terminate()


def test_libos_client_to_linux_server(ns, tmp_path):
    pcap = str(tmp_path / "client.pcap")
    cap = ns.capture(pcap)
    srv = ns.popen("python3", "-c", LINUX_SINK)
    assert srv.stdout.readline().strip() == "LISTENING"
    host = ns.libos("--app", "tcp-source", "--connect", f"{LINUX_IP}:5001",
                    "--bytes", str(SIZE), "--duration", "60")
    out = finish(host)
    srv_out, srv_err = srv.communicate(timeout=30)
    n, digest = srv_out.split()
    assert int(n) == SIZE and digest == sha256(pattern(SIZE)), (srv_out, srv_err, out)
    cap.terminate(); cap.wait(timeout=10)
    frames = assert_clean_tcp(pcap, 5001)
    print(f"libos->linux {SIZE} bytes verified, {frames} TCP frames, clean close")


def drop_tcp(ns, percent):
    """Drops `percent` % of TCP frames both ways inside the Linux namespace."""
    for chain in ("INPUT", "OUTPUT"):
        ns.run("iptables", "-A", chain, "-p", "tcp", "-m", "statistic", "--mode", "random",
               "--probability", str(percent / 100), "-j", "DROP")


def test_libos_sender_recovers_from_loss_against_linux(ns):
    """2 % of frames dropped both ways inside the Linux namespace (iptables statistic):
    libos's retransmissions must still deliver every byte to the Linux receiver."""
    drop_tcp(ns, 2)
    size = 2 << 20
    srv = ns.popen("python3", "-c", LINUX_SINK)
    assert srv.stdout.readline().strip() == "LISTENING"
    host = ns.libos("--app", "tcp-source", "--connect", f"{LINUX_IP}:5001",
                    "--bytes", str(size), "--duration", "120")
    out = finish(host, timeout=150)
    srv_out, srv_err = srv.communicate(timeout=30)
    n, digest = srv_out.split()
    assert int(n) == size and digest == sha256(pattern(size)), (srv_out, srv_err, out)
    retrans = int(result(out, "retrans"))
    assert retrans > 0, f"no retransmission under 2 % loss?\n{out}"
    # Linux's receiver SACKs (it negotiated SACK with us): libos recovers with its SACK
    # scoreboard, not NewReno, and does not retransmit wholesale — 2 MiB is ~1,450
    # segments, so ~30 are lost; allow for lost retransmissions and RTO episodes.
    sack_rec = int(result(out, "sack_recovery"))
    assert sack_rec > 0 and int(result(out, "reno_recovery")) == 0, out
    assert retrans < 150, f"{retrans} retransmissions for ~30 losses\n{out}"
    print(f"libos->linux {size} bytes verified through 2 % loss, {retrans} retransmissions, "
          f"{sack_rec} SACK recoveries")


def test_libos_receiver_recovers_from_loss_against_linux(ns):
    """The same 2 % loss with Linux sending: libos's receiver reassembles out-of-order data
    (and its SACK blocks guide Linux's recovery) into the exact stream."""
    drop_tcp(ns, 2)
    size = 2 << 20
    host = ns.libos("--app", "tcp-sink", "--port", "5004", "--duration", "120")
    client = source_script(LIBOS_IP, 5004, size, timeout=60)
    ns.run("python3", "-c", client, timeout=150)
    out = finish(host, timeout=150)
    assert int(result(out, "bytes")) == size, out
    assert result(out, "sha256") == sha256(pattern(size)), out


def test_linux_client_to_libos_server(ns, tmp_path):
    client = source_script(LIBOS_IP, 5002, SIZE)
    pcap = str(tmp_path / "server.pcap")
    cap = ns.capture(pcap)
    host = ns.libos("--app", "tcp-sink", "--port", "5002", "--duration", "60")
    cl = ns.popen("python3", "-c", client)
    _, cl_err = cl.communicate(timeout=60)
    assert cl.returncode == 0, cl_err
    out = finish(host)
    assert int(result(out, "bytes")) == SIZE, out
    assert result(out, "sha256") == sha256(pattern(SIZE)), out
    cap.terminate(); cap.wait(timeout=10)
    assert_clean_tcp(pcap, 5002)


def test_curl_fetches_from_libos(ns, tmp_path):
    size = 1 << 20
    host = ns.libos("--app", "http", "--port", "8080", "--bytes", str(size), "--duration", "30")
    body = tmp_path / "body"
    r = ns.run("curl", "-sS", "--max-time", "20", "-o", str(body), f"http://{LIBOS_IP}:8080/x")
    assert r.returncode == 0, r.stderr
    finish(host)
    data = body.read_bytes()
    assert len(data) == size and data == pattern(size)


def test_af_packet_on_veth(ns, tmp_path):
    """The AF_PACKET device: libos bound to one end of a veth pair in a second namespace,
    Linux on the other end (offloads off, so frames carry final checksums)."""
    lb = ns.name + "b"
    sh("ip", "netns", "add", lb)
    try:
        sh("ip", "link", "add", "vl", "netns", ns.name, "type", "veth", "peer", "name", "vb",
           "netns", lb)
        ns.run("ip", "addr", "add", "10.98.0.1/24", "dev", "vl")
        ns.run("ip", "link", "set", "vl", "up")
        ns.run("ethtool", "-K", "vl", "tx", "off", "tso", "off", "gso", "off")
        sh("ip", "-n", lb, "link", "set", "vb", "up")
        host = subprocess.Popen(
            ["ip", "netns", "exec", lb, HOST_BIN, "--dev", "packet", "--ifname", "vb",
             "--addr", "10.98.0.2/24", "--app", "tcp-sink", "--port", "5003", "--duration", "30"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        ns.procs.append(host)
        assert host.stdout.readline().strip() == "READY"
        r = ns.run("ping", "-c", "3", "-i", "0.2", "-W", "2", "10.98.0.2")
        assert " 0% packet loss" in r.stdout, r.stdout
        size = 1 << 20
        client = source_script("10.98.0.2", 5003, size, timeout=20)
        ns.run("python3", "-c", client)
        out = finish(host)
        assert int(result(out, "bytes")) == size, out
        assert result(out, "sha256") == sha256(pattern(size)), out
    finally:
        sh("ip", "netns", "del", lb, check=False)


def test_ecn_negotiated_with_linux(ns, tmp_path):
    """libos asks for ECN (tcp_ecn=1); Linux, with its default tcp_ecn=2, accepts: the
    capture shows SYN with ECE+CWR, SYN-ACK with ECE only, libos's data as ECT(0) and
    its pure ACKs not ECT — RFC 3168 §6.1 as both stacks implement it."""
    pcap = str(tmp_path / "ecn.pcap")
    cap = ns.capture(pcap)
    srv = ns.popen("python3", "-c", LINUX_SINK)
    assert srv.stdout.readline().strip() == "LISTENING"
    size = 1 << 20
    host = ns.libos("--app", "tcp-source", "--connect", f"{LINUX_IP}:5001", "--bytes",
                    str(size), "--duration", "60", "--sysctl", "net.ipv4.tcp_ecn=1")
    out = finish(host)
    srv_out, _ = srv.communicate(timeout=30)
    assert int(srv_out.split()[0]) == size, (srv_out, out)
    cap.terminate(); cap.wait(timeout=10)
    fields = ["ip.src", "tcp.flags.syn", "tcp.flags.ack", "tcp.flags.ece", "tcp.flags.cwr",
              "ip.dsfield.ecn", "tcp.len"]
    args = ["tshark", "-r", pcap, "-Y", "tcp.port == 5001", "-T", "fields"]
    for f in fields:
        args += ["-e", f]
    rows = [l.split("\t") for l in sh(*args).stdout.splitlines()]
    syn = [r for r in rows if r[1] in ("1", "True") and r[2] in ("0", "False")]
    synack = [r for r in rows if r[1] in ("1", "True") and r[2] in ("1", "True")]
    t = lambda v: v in ("1", "True")
    assert syn and t(syn[0][3]) and t(syn[0][4]), syn
    assert synack and t(synack[0][3]) and not t(synack[0][4]), synack
    data = [r for r in rows if r[0] == LIBOS_IP and r[6] not in ("", "0")]
    assert data and all(r[5] == "2" for r in data), data[:5]
    acks = [r for r in rows if r[0] == LINUX_IP and r[6] == "0" and not t(r[1])]
    assert acks and all(r[5] == "0" for r in acks), acks[:5]
    print(f"ECN: SYN ECE+CWR, SYN-ACK ECE, {len(data)} data segments ECT(0)")
