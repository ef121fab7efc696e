"""ns-3 plugin tests: build the plugin once, run the examples, parse their key=value output.

Needs g++ and libns3-dev (ns-3 3.37); installs libns3-dev with apt-get when missing.
CARGO_TARGET_DIR picks the build directory (default: <repo>/target).
"""

import os
import re
import shutil
import subprocess

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
OUT = os.path.join(TARGET, "release")


def ensure_ns3():
    if os.path.exists("/usr/include/ns3/core-module.h"):
        return
    if shutil.which("apt-get") is None:
        pytest.skip("libns3-dev missing and no apt-get")
    subprocess.run(["apt-get", "install", "-y", "libns3-dev"], check=True,
                   stdout=subprocess.DEVNULL)


@pytest.fixture(scope="session")
def plugin():
    ensure_ns3()
    env = dict(os.environ, CARGO_TARGET_DIR=TARGET)
    subprocess.run([os.path.join(ROOT, "cpp", "build.sh")], check=True, env=env, cwd=ROOT)
    return os.path.join(OUT, "libns3-libos.so")


class Run:
    def __init__(self, proc):
        self.rc = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr
        self.kv = {}
        for m in re.finditer(r"(\w+)=([^\s]+)", self.out):
            self.kv[m.group(1)] = m.group(2)

    def num(self, key):
        return float(self.kv[key])


@pytest.fixture(scope="session")
def example(plugin):
    env = dict(os.environ, CARGO_TARGET_DIR=TARGET)

    def run(name, *args, timeout=300):
        p = subprocess.run([os.path.join(ROOT, "examples", "ns3", "run.sh"), name, *args],
                           env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
        return Run(p)

    return run
