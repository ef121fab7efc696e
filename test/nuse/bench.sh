#!/usr/bin/env bash
# NUSE benchmark: iperf3 TCP throughput Linux<->Linux (veth) vs libos<->Linux (TAP) in
# one run, their ratio, and ping RTT both ways; then where the time goes on the libos
# side (syscalls per segment from strace -c over a short run). Needs root, iperf3, ping,
# and a release build: cargo build --release -p libos-nuse -p libos-nuse-shim.
#   usage: test/nuse/bench.sh [SECONDS]   (CARGO_TARGET_DIR honoured)
set -euo pipefail
cd "$(dirname "$0")/../.."
T=${1:-5}
BIN=${CARGO_TARGET_DIR:-target}/release/libos-nuse
[ -x "$BIN" ] || { echo "missing $BIN: cargo build --release -p libos-nuse -p libos-nuse-shim" >&2; exit 1; }
S=nb-srv-$$; C=nb-cli-$$
CONF=$(mktemp /tmp/nuse-bench-XXXX.conf)
cleanup() { ip netns del "$S" 2>/dev/null || true; ip netns del "$C" 2>/dev/null || true; rm -f "$CONF"; }
trap cleanup EXIT
ip netns add "$S"; ip netns add "$C"
ip link add vs type veth peer name vc
ip link set vs netns "$S"; ip link set vc netns "$C"
ip -n "$S" link set lo up; ip -n "$C" link set lo up
ip -n "$S" addr add 10.98.0.1/24 dev vs; ip -n "$C" addr add 10.98.0.2/24 dev vc
ip -n "$S" link set vs up; ip -n "$C" link set vc up
ip netns exec "$S" ip tuntap add mode tap name tap0
ip -n "$S" addr add 10.99.0.1/24 dev tap0; ip -n "$S" link set tap0 up
ip netns exec "$S" ethtool -K tap0 tx off >/dev/null 2>&1 || true
cat > "$CONF" <<CONF
interface tap0
	address 10.99.0.2
	netmask 255.255.255.0
	macaddr 02:00:00:00:99:02
	viftype TAP
CONF
bps() { python3 -c 'import json,sys; t=sys.stdin.read(); print(json.loads(t[t.index("{"):])["end"]["sum_received"]["bits_per_second"])'; }
# iperf3 -J exits 0 even when it could not connect (server not up yet): retry on "error".
client() { local out; for _ in 1 2 3 4 5 6 7 8 9 10; do
  out=$("$@"); grep -q '"error"' <<<"$out" || { bps <<<"$out"; return; }; sleep 0.3; done
  echo "iperf3 client failed: $out" >&2; exit 1; }
iperf_srv() { ip netns exec "$S" iperf3 -s -1 -B "$1" -p 5201 >/dev/null 2>&1 & sleep 0.5; }

iperf_srv 10.98.0.1
linux=$(client ip netns exec "$C" iperf3 -c 10.98.0.1 -p 5201 -t "$T" -J); wait
iperf_srv 10.99.0.1
libos=$(client ip netns exec "$S" "$BIN" --config "$CONF" -- iperf3 -c 10.99.0.1 -p 5201 -t "$T" -J); wait
# The reverse direction: Linux client -> iperf3 server over libos.
ip netns exec "$S" "$BIN" --config "$CONF" -- iperf3 -s -1 -B 10.99.0.2 -p 5202 >/dev/null 2>&1 & sleep 1
libos_rx=$(client ip netns exec "$S" iperf3 -c 10.99.0.2 -p 5202 -t "$T" -J); wait

rtt() { sed -n 's#.*rtt min/avg/max/mdev = [0-9.]*/\([0-9.]*\)/.*#\1#p'; }
ping_ll=$(ip netns exec "$C" ping -q -c 20 -i 0.05 10.98.0.1 | rtt)
ping_ol=$(ip netns exec "$S" "$BIN" --config "$CONF" -- ping -q -c 20 -i 0.05 10.99.0.1 2>/dev/null | rtt)
ip netns exec "$S" "$BIN" --config "$CONF" -- sleep 5 & sleep 0.5
ping_lo=$(ip netns exec "$S" ping -q -c 20 -i 0.05 10.99.0.2 | rtt); wait

python3 - "$linux" "$libos" "$libos_rx" "$ping_ll" "$ping_ol" "$ping_lo" "$T" <<'PY'
import sys
lin, lib, librx = (float(x) for x in sys.argv[1:4])
p_ll, p_ol, p_lo, t = sys.argv[4:8]
print(f"iperf3 TCP, {t} s each (2-core VM; veth for Linux<->Linux, TAP for libos<->Linux)")
print(f"  Linux client -> Linux server (veth):   {lin / 1e9:7.2f} Gbit/s")
print(f"  libos client -> Linux server (TAP):    {lib / 1e9:7.2f} Gbit/s   ratio libos/Linux {lib / lin:.2f}")
print(f"  Linux client -> libos server (TAP):    {librx / 1e9:7.2f} Gbit/s   ratio libos/Linux {librx / lin:.2f}")
print(f"ping RTT avg: Linux->Linux {p_ll} ms | libos->Linux {p_ol} ms | Linux->libos {p_lo} ms")
PY

if command -v strace >/dev/null; then
  iperf_srv 10.99.0.1
  ip netns exec "$S" strace -f -c -o /tmp/nuse-bench-strace.txt "$BIN" --config "$CONF" -- \
    iperf3 -c 10.99.0.1 -p 5201 -t 2 -J > /tmp/nuse-bench-iperf.json; wait
  bytes=$(python3 -c 'import json; t=open("/tmp/nuse-bench-iperf.json").read(); print(int(json.loads(t[t.index("{"):])["end"]["sum_sent"]["bytes"]))')
  echo "where the time goes (libos client, 2 s under strace; ~$((bytes / 1448)) segments of 1448 B):"
  awk -v segs=$((bytes / 1448)) '/^ *[0-9.]+ +[0-9.]+ +[0-9]+ +[0-9]+/ && $NF != "total" {
        printf "  %-14s %9d calls  %.2f per segment\n", $NF, $4, $4 / segs }' /tmp/nuse-bench-strace.txt | sort -k2 -nr | head -8
fi
