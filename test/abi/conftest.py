"""Fixtures for the LibOS C ABI tests: the cdylib `liblibos_abi.so` (built by test/run.sh
with `cargo build --release -p libos-abi`) driven by host.c, a C host written from ns-3
DCE's documented call sequence (see host.c's header comment).

CARGO_TARGET_DIR picks the build directory (default: <repo>/target); LIBOS_ABI_SO
overrides the library path.
"""

import os
import re
import subprocess

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
LIB = os.environ.get("LIBOS_ABI_SO", os.path.join(TARGET, "release", "liblibos_abi.so"))
INCLUDE = os.path.join(ROOT, "rust", "abi", "include")
HERE = os.path.dirname(os.path.abspath(__file__))


class Run:
    def __init__(self, proc):
        self.rc = proc.returncode
        self.out = proc.stdout
        self.kv = dict(re.findall(r"(\w+)=(\S+)", proc.stdout))

    def num(self, key):
        return int(self.kv[key])


@pytest.fixture(scope="session")
def lib():
    if not os.path.exists(LIB):
        pytest.fail(f"{LIB} missing: cargo build --release -p libos-abi")
    return LIB


@pytest.fixture(scope="session")
def host(tmp_path_factory):
    exe = str(tmp_path_factory.mktemp("abi") / "host")
    subprocess.run(["cc", "-std=gnu11", "-O1", "-g", "-Wall", "-Wextra", "-Werror",
                    "-Wno-unused-parameter", "-I", INCLUDE, "-o", exe,
                    *[os.path.join(HERE, f) for f in ("host.c", "config.c", "apps.c", "apps6.c",
                                                            "nuse.c")],
                    "-ldl"], check=True)
    return exe


@pytest.fixture(scope="session")
def run_host(host, lib):
    def run(*args, timeout=120, env=None):
        p = subprocess.run([host, args[0], lib, *args[1:]], capture_output=True, text=True,
                           timeout=timeout, env=dict(os.environ, **(env or {})))
        return Run(p)
    return run
