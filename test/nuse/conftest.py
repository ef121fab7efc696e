"""Fixtures for the NUSE tests: unmodified Debian programs (curl, wget, iperf3, ping,
python3) run with their sockets on libos through `libos-nuse`, against the Linux kernel.

Topology (one network namespace per test):
    [Linux stack in netns nu-*: tap0 10.99.0.1/24] <-TAP-> [libos in the program: 10.99.0.2/24]
The TAP lives in the namespace; the program under libos-nuse runs in the same namespace so
it can attach to it, but its sockets never touch the Linux stack.
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
NUSE_BIN = os.environ.get("LIBOS_NUSE", os.path.join(TARGET, "release", "libos-nuse"))
NUSE_LIB = os.path.join(os.path.dirname(NUSE_BIN), "libnuse.so")
LINUX_IP = "10.99.0.1"
LIBOS_IP = "10.99.0.2"
LIBOS_MAC = "02:00:00:00:99:02"
# IPv6 (the `ns6` fixture): a global /64 on the TAP, plus each side's EUI-64 link-local.
LINUX_IP6 = "2001:db8:99::1"
LIBOS_IP6 = "2001:db8:99::2"
LIBOS_LL6 = "fe80::ff:fe00:9902"  # EUI-64 of LIBOS_MAC (addr_gen_mode 0)
# Debian's interpreter: readable by unprivileged users (pyenv's lives under /root).
PY = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else shutil.which("python3")
TOOLS = ("ip", "curl", "wget", "iperf3", "ping", "ethtool", "setpriv")


def sha256(b):
    return hashlib.sha256(b).hexdigest()


def sh(*cmd, check=True, **kw):
    kw.setdefault("timeout", 60)
    return subprocess.run(cmd, check=check, capture_output=True, text=True, **kw)


def tap_config(path, extra=""):
    with open(path, "w") as f:
        f.write(f"""# libos side of tap0
interface tap0
\taddress {LIBOS_IP}
\tnetmask 255.255.255.0
\tmacaddr {LIBOS_MAC}
\tviftype TAP
route
\tnetwork 0.0.0.0
\tnetmask 0.0.0.0
\tgateway {LINUX_IP}
{extra}""")
    return path


def tap_config6(path):
    """The IPv4 configuration plus an IPv6 address and default route. DAD is off on
    tap0 so a program can use the address at once (Linux's side is `nodad` too)."""
    with open(path, "w") as f:
        f.write(f"""# libos side of tap0, dual stack
interface tap0
\taddress {LIBOS_IP}
\tnetmask 255.255.255.0
\taddress6 {LIBOS_IP6}/64
\tmacaddr {LIBOS_MAC}
\tviftype TAP
route
\tnetwork 0.0.0.0
\tnetmask 0.0.0.0
\tgateway {LINUX_IP}
route
\tnetwork ::/0
\tgateway {LINUX_IP6}
sysctl net.ipv6.conf.tap0.accept_dad 0
""")
    return path


class Netns:
    def __init__(self, tmp):
        self.name = "nu-" + uuid.uuid4().hex[:8]
        self.tmp = tmp
        self.procs = []
        self.conf = tap_config(os.path.join(tmp, "nuse.conf"))

    def run(self, *cmd, check=True, timeout=60, **kw):
        return sh("ip", "netns", "exec", self.name, *cmd, check=check, timeout=timeout, **kw)

    def popen(self, *cmd, **kw):
        kw.setdefault("stdout", subprocess.PIPE)
        kw.setdefault("stderr", subprocess.PIPE)
        p = subprocess.Popen(["ip", "netns", "exec", self.name, *cmd], text=True, **kw)
        self.procs.append(p)
        return p

    def libos(self, *cmd, timeout=60, check=True, conf=None):
        """Runs `cmd` to completion with its sockets on libos."""
        return self.run(NUSE_BIN, "--config", conf or self.conf, "--", *cmd,
                        timeout=timeout, check=check)

    def libos_popen(self, *cmd, conf=None, **kw):
        return self.popen(NUSE_BIN, "--config", conf or self.conf, "--", *cmd, **kw)


def require_root():
    if os.environ.get("LIBOS_SKIP_NETNS") == "1":
        pytest.skip("LIBOS_SKIP_NETNS=1: NUSE netns tests SKIPPED on request")
    if os.geteuid() != 0 or not os.path.exists("/dev/net/tun"):
        pytest.fail("NUSE tests need root and /dev/net/tun "
                    "(set LIBOS_SKIP_NETNS=1 to skip them explicitly)")


def require_bins():
    for p in (NUSE_BIN, NUSE_LIB):
        assert os.path.exists(p), \
            f"{p} missing: cargo build --release -p libos-nuse -p libos-nuse-shim"
    for tool in TOOLS:
        assert shutil.which(tool), f"{tool} not installed (test/run.sh installs it)"


@pytest.fixture
def ns(tmp_path):
    require_root()
    require_bins()
    os.chmod(tmp_path, 0o777)
    n = Netns(str(tmp_path))
    sh("ip", "netns", "add", n.name)
    try:
        n.run("ip", "link", "set", "lo", "up")
        n.run("ip", "tuntap", "add", "mode", "tap", "name", "tap0")
        n.run("ip", "addr", "add", LINUX_IP + "/24", "dev", "tap0")
        n.run("ip", "link", "set", "tap0", "up")
        # Full checksums from Linux (libos checks them; TAP would pass partial ones).
        n.run("ethtool", "-K", "tap0", "tx", "off", check=False)
        yield n
    finally:
        for p in n.procs:
            stop(p)
            # A killed instance leaves its control socket behind (exec keeps the pid).
            ctl = f"/tmp/libos-nuse.{p.pid}.ctl"
            if os.path.exists(ctl):
                os.unlink(ctl)
        sh("ip", "netns", "del", n.name, check=False)


@pytest.fixture
def ns6(ns):
    """`ns` with IPv6: Linux has LINUX_IP6/64 on tap0, the programs' NUSECONF gives libos
    LIBOS_IP6/64 and a default route through Linux."""
    ns.run("ip", "-6", "addr", "add", LINUX_IP6 + "/64", "dev", "tap0", "nodad")
    ns.conf = tap_config6(os.path.join(ns.tmp, "nuse6.conf"))
    return ns


def stop(p):
    """Terminates `p` (killing it after 5 s) and reaps it."""
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def retry(fn, timeout=10.0, every=0.2):
    """Calls fn until it returns a truthy value or raises no AssertionError."""
    deadline = time.time() + timeout
    while True:
        try:
            r = fn()
            if r:
                return r
        except (AssertionError, subprocess.CalledProcessError):
            if time.time() > deadline:
                raise
        if time.time() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(every)


def report(capsys, line):
    """Prints a figure so it shows in the test log even without -s."""
    with capsys.disabled():
        print(f"\n    FIGURE {line}")
    with open(os.path.join(TARGET, "nuse-figures.txt"), "a") as f:
        f.write(line + "\n")


@pytest.fixture(autouse=True, scope="session")
def no_stale_control_sockets():
    """Killed instances leave /tmp/libos-nuse.<pid>.ctl behind: remove the ones this run
    created whose process is gone."""
    import glob
    before = set(glob.glob("/tmp/libos-nuse.*.ctl"))
    yield
    for path in set(glob.glob("/tmp/libos-nuse.*.ctl")) - before:
        pid = int(path.split(".")[-2])
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            os.unlink(path)
        except PermissionError:
            pass
