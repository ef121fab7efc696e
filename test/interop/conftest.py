"""Fixtures for the Linux interop tests: a network namespace holding the Linux peer and a
TAP interface, with the libos test host (libos-host) attached to the TAP.

Topology:  [Linux stack in netns lx-*: tap0 10.99.0.1/24] <-TAP-> [libos-host: 10.99.0.2/24]
"""

import hashlib
import os
import shutil
import subprocess
import time
import uuid

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
HOST_BIN = os.environ.get("LIBOS_HOST", os.path.join(TARGET, "release", "libos-host"))
LINUX_IP = "10.99.0.1"
LIBOS_IP = "10.99.0.2"
LIBOS_MAC = "02:00:00:00:99:02"


def pattern(n):
    """The test byte stream; libos-host's app::pattern generates the same."""
    return bytes(((i * 7) + (i >> 8)) & 0xFF for i in range(n))


def sha256(b):
    return hashlib.sha256(b).hexdigest()


def sh(*cmd, check=True, **kw):
    return subprocess.run(cmd, check=check, capture_output=True, text=True, **kw)


class Netns:
    def __init__(self):
        self.name = "lx-" + uuid.uuid4().hex[:8]
        self.procs = []

    def run(self, *cmd, check=True, timeout=60):
        return sh("ip", "netns", "exec", self.name, *cmd, check=check, timeout=timeout)

    def popen(self, *cmd, **kw):
        p = subprocess.Popen(["ip", "netns", "exec", self.name, *cmd],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
        self.procs.append(p)
        return p

    def libos(self, *args):
        """Starts libos-host on tap0 inside the namespace and waits for READY."""
        p = self.popen(HOST_BIN, "--dev", "tap", "--ifname", "tap0", "--mac", LIBOS_MAC,
                       "--addr", LIBOS_IP + "/24", *args)
        line = p.stdout.readline()
        assert line.strip() == "READY", f"libos-host did not start: {line!r} {p.stderr.read()}"
        return p

    def capture(self, path):
        """tcpdump on tap0 until stop_capture; returns the process."""
        p = self.popen("tcpdump", "-i", "tap0", "-U", "-s", "0", "-w", path)
        # tcpdump prints "listening on" to stderr once the capture is armed.
        deadline = time.time() + 10
        while time.time() < deadline:
            if os.path.exists(path) and os.path.getsize(path) > 0:
                break
            time.sleep(0.05)
        time.sleep(0.3)
        return p


def require_root():
    if os.environ.get("LIBOS_SKIP_NETNS") == "1":
        pytest.skip("LIBOS_SKIP_NETNS=1: Linux interop tests SKIPPED on request")
    if os.geteuid() != 0 or not os.path.exists("/dev/net/tun"):
        pytest.fail("Linux interop tests need root and /dev/net/tun "
                    "(set LIBOS_SKIP_NETNS=1 to skip them explicitly)")
    assert os.path.exists(HOST_BIN), f"{HOST_BIN} missing: cargo build --release -p libos-interop"
    for tool in ("ip", "tcpdump", "tshark", "ping", "ethtool", "iptables", "curl"):
        assert shutil.which(tool), f"{tool} not installed (test/run.sh installs it)"


@pytest.fixture
def ns():
    require_root()
    n = Netns()
    sh("ip", "netns", "add", n.name)
    try:
        n.run("ip", "link", "set", "lo", "up")
        n.run("ip", "tuntap", "add", "mode", "tap", "name", "tap0")
        n.run("ip", "addr", "add", LINUX_IP + "/24", "dev", "tap0")
        n.run("ip", "link", "set", "tap0", "up")
        # Complete checksums in software so captures on tap0 hold final bytes.
        n.run("ethtool", "-K", "tap0", "tx", "off", check=False)
        yield n
    finally:
        for p in n.procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    p.kill()
        sh("ip", "netns", "del", n.name, check=False)
