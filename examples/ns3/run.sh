#!/bin/sh
# Builds the plugin (cpp/build.sh), compiles examples/ns3/NAME.cc against it and runs it:
#   examples/ns3/run.sh p2p-bulk [--ns3-args...]
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TD=${CARGO_TARGET_DIR:-$ROOT/target}
OUT=$TD/release
name=$1
shift
"$ROOT/cpp/build.sh" >/dev/null
src=$ROOT/examples/ns3/$name.cc
[ -f "$src" ] || src=$ROOT/bench/ns3/$name.cc
bin=$OUT/ns3-examples/$name
mkdir -p "$OUT/ns3-examples"
if [ ! -x "$bin" ] || [ "$src" -nt "$bin" ] || [ "$OUT/libns3-libos.so" -nt "$bin" ]; then
  g++ -std=c++17 -O2 -DNS3_LOG_ENABLE -DNS3_ASSERT_ENABLE -I "$OUT/include" -o "$bin" "$src" -L "$OUT" -lns3-libos \
    -Wl,-rpath,"$OUT" -lns3-applications -lns3-point-to-point -lns3-csma -lns3-internet \
    -lns3-network -lns3-core
fi
exec "$bin" "$@"
