#!/usr/bin/env bash
# The test command: installs what the tests need on a fresh Debian machine, then runs
# every test: the Rust suites (kernel, simulator incl. determinism and tshark checks,
# proptest over dev_rx, benchmark smoke runs) and the interop suite against the Linux
# kernel in network namespaces (needs root; LIBOS_SKIP_NETNS=1 skips it, loudly).
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
step() { printf '\n==== %s (%ss)\n' "$*" "$(( $(date +%s) - start ))"; }

step "installing test dependencies"
need=()
for pair in tshark:tshark tcpdump:tcpdump ip:iproute2 ping:iputils-ping ethtool:ethtool \
            curl:curl socat:socat iptables:iptables strace:strace wget:wget iperf3:iperf3 \
            gcc:gcc setpriv:util-linux bird:bird2 radvd:radvd traceroute:traceroute; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair#*:}")
done
# ns-3 3.37 from Debian for the ns-3 plugin's tests (headers in /usr/include/ns3).
[ -f /usr/include/ns3/core-module.h ] || need+=(libns3-dev)
command -v g++ >/dev/null 2>&1 || need+=(g++)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "missing packages ${need[*]} and not root: install them first" >&2
    exit 1
  fi
fi
python3 -c 'import pytest' 2>/dev/null || python3 -m pip install -q pytest

step "cargo fmt --check, cargo clippy -D warnings (all targets, benches included)"
cargo fmt --all -- --check
cargo clippy --release --workspace --all-targets -q -- -D warnings

step "cargo test --workspace --release"
cargo test --workspace --release 2>&1 | tee /tmp/libos-cargo-test.log
read -r rust_pass rust_fail < <(grep -E '^test result:' /tmp/libos-cargo-test.log | awk '{p+=$4; f+=$6} END {print p+0, f+0}')
echo "rust: $rust_pass passed, $rust_fail failed"

step "Linux interop (namespaces, TAP, tshark), NUSE (unmodified programs), ns-3 plugin, LibOS C ABI"
cargo build --release -q -p libos-interop -p libos-nuse -p libos-nuse-shim
# The LibOS C ABI cdylib (liblibos_abi.so) for test/abi's C host.
cargo build --release -q -p libos-abi
# The fidelity harness (libos-pathemu, tcp-probe, fid-plot) and libos-sim for test/fidelity.
cargo build --release -q -p libos-fidelity -p libos-sim
suites=(test/interop test/nuse test/ns3 test/abi test/fidelity)
if [ "${LIBOS_SKIP_NETNS:-0}" = 1 ]; then
  echo "!!!! LIBOS_SKIP_NETNS=1: the Linux interop suite and NUSE's namespace tests are SKIPPED !!!!"
  suites=(test/nuse test/ns3 test/abi)
fi
# One pytest run per suite: each has its own conftest module.
py_pass=0
for suite in "${suites[@]}"; do
  python3 -m pytest -v "$suite" 2>&1 | tee /tmp/libos-pytest.log
  n=$(grep -oE '[0-9]+ passed' /tmp/libos-pytest.log | tail -1 | cut -d' ' -f1)
  py_pass=$(( py_pass + ${n:-0} ))
done

step "all tests passed"
echo "total: $(( rust_pass + ${py_pass:-0} )) passed, 0 failed"
