#!/bin/sh
# The ns-3 benchmark: 50 BulkSend flows at 10 Mbit/s for 10 simulated s, under ns-3's own
# stack and under libos (same binary, one process each so peak RSS is per stack).
#   bench/ns3/run.sh [--flows=50 --simTime=10 --rate=10Mbps]
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
out=$(mktemp)
for s in ns3 libos; do
  "$ROOT/examples/ns3/run.sh" bulk-pairs --stack=$s "$@" | tee -a "$out"
done
echo
printf '%-6s %6s %12s %10s %10s %8s %12s\n' stack flows rx_bytes Mbit/flow events wall_s maxrss_MB
sed 's/[a-z_]*=//g' "$out" | while read -r st fl rx gp ev wa rss; do
  printf '%-6s %6s %12s %10.3f %10s %8.2f %12.1f\n' "$st" "$fl" "$rx" "$gp" "$ev" "$wa" "$(echo "$rss / 1024" | bc -l)"
done
rm -f "$out"
