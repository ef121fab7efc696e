"""Fixtures for the fidelity cells: the harness of bench/fidelity (three namespaces,
libos-pathemu between them) with the release binaries of the workspace."""

import os
import shutil
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
os.environ.setdefault("FID_BIN", os.path.join(TARGET, "release"))
sys.path.insert(0, os.path.join(ROOT, "bench", "fidelity"))

BINS = ("libos-pathemu", "tcp-probe", "fid-plot", "libos-nuse", "libnuse.so", "libos-sim")


@pytest.fixture
def harness(tmp_path):
    if os.environ.get("LIBOS_SKIP_NETNS") == "1":
        pytest.skip("LIBOS_SKIP_NETNS=1: fidelity cells SKIPPED on request")
    if os.geteuid() != 0:
        pytest.fail("the fidelity cells need root (namespaces, AF_PACKET); "
                    "set LIBOS_SKIP_NETNS=1 to skip them explicitly")
    for b in BINS:
        p = os.path.join(os.environ["FID_BIN"], b)
        assert os.path.exists(p), \
            f"{p} missing: cargo build --release -p libos-fidelity -p libos-sim -p libos-nuse " \
            "-p libos-nuse-shim"
    for tool in ("ip", "ethtool", "tcpdump", "tshark"):
        assert shutil.which(tool), f"{tool} not installed (test/run.sh installs it)"
    import fidelity
    os.chmod(tmp_path, 0o777)
    return fidelity, str(tmp_path)
