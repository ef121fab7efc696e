"""iperf3 between Linux and a program over libos for the throughput tests: a client run
until its JSON report shows it connected (the server may still be starting), and a
one-shot (-1) server waited for."""

import json
import subprocess

from conftest import retry


def iperf_json(text):
    return json.loads(text[text.index("{"):])


def client(run, server_ip, port, opts):
    """`iperf3 -c` through `run` (ns.run, or ns.libos for the client over libos) until it
    connects; its JSON report. iperf3 -J exits 0 even when it could not connect: look at
    the JSON."""
    def attempt():
        res = iperf_json(run("iperf3", "-c", server_ip, "-p", port, *opts, timeout=60).stdout)
        assert "error" not in res, res.get("error")
        return res
    return retry(attempt)


def wait_server(srv, what):
    """The standard output of the one-shot server `srv` once it has exited 0."""
    try:
        out, err = srv.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        srv.kill()
        out, err = srv.communicate()
        raise AssertionError(f"{what} did not finish:\n{out}\n{err}")
    assert srv.returncode == 0, err
    return out


def pair(ns, libos_client, linux_ip, libos_ip, port, opts, server_opts=()):
    """A one-shot server on one side and `client` on the other: libos_client runs the
    client over libos against a Linux server at linux_ip, else Linux's client against a
    server over libos at libos_ip. (server process, client report)."""
    server = ["iperf3", "-s", "-1", *server_opts, "-p", port]
    if libos_client:
        srv = ns.popen(*server, "-B", linux_ip)
        return srv, client(ns.libos, linux_ip, port, opts)
    srv = ns.libos_popen(*server, "-B", libos_ip)
    return srv, client(ns.run, libos_ip, port, opts)


def way(libos_client):
    return "libos client -> Linux server" if libos_client else "Linux client -> libos server"
