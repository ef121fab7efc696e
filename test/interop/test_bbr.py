"""libos's BBR (net.ipv4.tcp_congestion_control=bbr, Linux tcp_bbr.c) sending to the Linux
kernel: every byte arrives intact, with and without loss on the path, and libos reports
BBR and a finite pacing rate for the connection (its TCP_INFO)."""

from conftest import LINUX_IP, pattern, sha256
from test_linux import LINUX_SINK, drop_tcp, finish, result

BBR = ("--sysctl", "net.ipv4.tcp_congestion_control=bbr")


def send_to_linux(ns, size, timeout):
    srv = ns.popen("python3", "-c", LINUX_SINK)
    assert srv.stdout.readline().strip() == "LISTENING"
    host = ns.libos("--app", "tcp-source", "--connect", f"{LINUX_IP}:5001",
                    "--bytes", str(size), "--duration", str(timeout - 20), *BBR)
    out = finish(host, timeout=timeout)
    srv_out, srv_err = srv.communicate(timeout=30)
    n, digest = srv_out.split()
    assert int(n) == size and digest == sha256(pattern(size)), (srv_out, srv_err, out)
    assert result(out, "cc") == "bbr", out
    rate = int(result(out, "pacing_rate"))
    assert 0 < rate < 2**64 - 1, out
    return out


def test_libos_bbr_sender_to_linux(ns):
    size = 8 << 20
    out = send_to_linux(ns, size, 90)
    print(f"libos bbr -> linux {size} bytes verified, pacing_rate "
          f"{int(result(out, 'pacing_rate'))} B/s, {result(out, 'retrans')} retransmissions")


def test_libos_bbr_sender_to_linux_through_loss(ns):
    """1 % of frames dropped both ways: BBR's packet conservation in recovery and the
    SACK scoreboard still deliver the exact stream to Linux."""
    drop_tcp(ns, 1)
    size = 2 << 20
    out = send_to_linux(ns, size, 150)
    retrans = int(result(out, "retrans"))
    assert retrans > 0, out
    assert int(result(out, "sack_recovery")) > 0, out
    print(f"libos bbr -> linux {size} bytes verified through 1 % loss, {retrans} retransmissions")
