"""Unmodified Debian programs over libos against the Linux kernel: curl and wget fetch
from a Linux HTTP server, Linux curl fetches from python3 http.server over libos, iperf3
both ways over TCP and UDP, ping both ways."""

import os
import re

import iperf
from conftest import LIBOS_IP, LINUX_IP, PY, report, retry, sha256

SIZE = 3 << 20


def serve_linux(ns):
    """python3 http.server on the Linux side, serving one random file; returns its hash."""
    blob = os.urandom(SIZE)
    www = os.path.join(ns.tmp, "www")
    os.makedirs(www)
    with open(os.path.join(www, "blob"), "wb") as f:
        f.write(blob)
    ns.popen(PY, "-m", "http.server", "8000", "--bind", LINUX_IP, "--directory", www)
    retry(lambda: ns.run("curl", "-sf", "-o", "/dev/null", f"http://{LINUX_IP}:8000/"))
    return sha256(blob)


def test_curl_over_libos_fetches_from_linux(ns):
    want = serve_linux(ns)
    out = os.path.join(ns.tmp, "got")
    r = ns.libos("curl", "-sS", "--max-time", "30", "-o", out, f"http://{LINUX_IP}:8000/blob")
    assert r.returncode == 0, r.stderr
    assert sha256(open(out, "rb").read()) == want


def test_wget_over_libos_fetches_from_linux(ns):
    want = serve_linux(ns)
    out = os.path.join(ns.tmp, "got")
    r = ns.libos("wget", "-q", "-t", "1", "-T", "30", "-O", out, f"http://{LINUX_IP}:8000/blob")
    assert r.returncode == 0, r.stderr
    assert sha256(open(out, "rb").read()) == want


def test_linux_curl_fetches_from_http_server_over_libos(ns):
    blob = os.urandom(SIZE)
    www = os.path.join(ns.tmp, "www")
    os.makedirs(www)
    with open(os.path.join(www, "blob"), "wb") as f:
        f.write(blob)
    srv = ns.libos_popen(PY, "-u", "-m", "http.server", "8080", "--bind", LIBOS_IP,
                         "--directory", www)
    out = os.path.join(ns.tmp, "got")
    retry(lambda: ns.run("curl", "-sSf", "--max-time", "30", "-o", out,
                         f"http://{LIBOS_IP}:8080/blob"))
    assert sha256(open(out, "rb").read()) == sha256(blob)
    assert srv.poll() is None, "the server over libos died"


def run_iperf(ns, capsys, libos_client, udp):
    port = "5201"
    opts = ["-t", "2", "-J"] + (["-u", "-b", "200M"] if udp else [])
    srv, res = iperf.pair(ns, libos_client, LINUX_IP, LIBOS_IP, port, opts)
    if not libos_client:
        iperf.wait_server(srv, "iperf3 server over libos")
    end = res["end"]
    if udp:
        s = end["sum"]
        bps, lost = s["bits_per_second"], s.get("lost_percent", 0.0)
        assert bps > 50e6, f"UDP {bps / 1e6:.1f} Mbit/s"
        assert lost < 5.0, f"UDP loss {lost}%"
        extra = f" loss {lost:.2f}%"
    else:
        bps = end["sum_received"]["bits_per_second"]
        assert bps > 50e6, f"TCP {bps / 1e6:.1f} Mbit/s"
        extra = ""
    way = iperf.way(libos_client)
    report(capsys, f"iperf3 {'UDP' if udp else 'TCP'} {way}: {bps / 1e9:.2f} Gbit/s{extra}")


def test_iperf3_tcp_libos_client(ns, capsys):
    run_iperf(ns, capsys, libos_client=True, udp=False)


def test_iperf3_tcp_libos_server(ns, capsys):
    run_iperf(ns, capsys, libos_client=False, udp=False)


def test_iperf3_udp_libos_client(ns, capsys):
    run_iperf(ns, capsys, libos_client=True, udp=True)


def test_iperf3_udp_libos_server(ns, capsys):
    run_iperf(ns, capsys, libos_client=False, udp=True)


def rtt_avg(out):
    m = re.search(r"rtt min/avg/max/mdev = [\d.]+/([\d.]+)/", out)
    assert m, out
    return float(m.group(1))


def test_ping_from_libos_to_linux(ns, capsys):
    r = ns.libos("ping", "-c", "5", "-i", "0.2", "-W", "2", LINUX_IP, timeout=30)
    assert " 0% packet loss" in r.stdout, r.stdout + r.stderr
    report(capsys, f"ping libos -> Linux rtt avg {rtt_avg(r.stdout):.3f} ms")


def test_ping_from_linux_to_a_libos_program(ns, capsys):
    # Any program under the launcher brings the instance up at start (no socket needed).
    holder = ns.libos_popen("sleep", "30")
    # The instance is up once its control socket exists.
    retry(lambda: os.path.exists(f"/tmp/libos-nuse.{holder.pid}.ctl"), timeout=10)
    r = retry(lambda: ns.run("ping", "-c", "5", "-i", "0.2", "-W", "2", LIBOS_IP, timeout=30))
    assert " 0% packet loss" in r.stdout, r.stdout
    report(capsys, f"ping Linux -> libos rtt avg {rtt_avg(r.stdout):.3f} ms")


def test_shell_pipeline_shares_one_instance(ns):
    """`libos-nuse -- sh -c 'curl ... | sha256sum; wget ...'`: the shell owns the instance
    (and the TAP); the programs it execs attach to it through its control socket instead
    of each trying to open the TAP."""
    want = serve_linux(ns)
    url = f"http://{LINUX_IP}:8000/blob"
    r = ns.libos("sh", "-c", f"curl -sS {url} | sha256sum; wget -q -O - {url} | sha256sum",
                 timeout=60, check=False)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [want, "-", want, "-"], r.stdout + r.stderr
