#!/bin/sh
# Builds the ns-3 plugin: the Rust staticlib (cargo, feature ns3) plus cpp/*.cc linked
# into one shared library, and installs the headers next to it.
#
#   cpp/build.sh            -> $OUT/libns3-libos.so and $OUT/include/ns3/libos-*.h
#
# OUT defaults to $CARGO_TARGET_DIR/release (CARGO_TARGET_DIR defaults to target/).
# Needs g++ and libns3-dev (Debian ns-3 3.37). A cdylib would hide the C++ symbols, so
# the .so is linked here by g++: the C++ objects whole, the Rust archive on demand.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TD=${CARGO_TARGET_DIR:-$ROOT/target}
OUT=${OUT:-$TD/release}
NS3_LIBS="-lns3-internet -lns3-network -lns3-core"
cd "$ROOT"
CARGO_TARGET_DIR=$TD cargo build --release --features ns3 --lib -p libos-ns3 -q
mkdir -p "$OUT/obj" "$OUT/include/ns3"
objs=""
for src in cpp/*.cc; do
  o="$OUT/obj/$(basename "$src" .cc).o"
  if [ ! -f "$o" ] || [ "$src" -nt "$o" ] || [ cpp/libos-kernel.h -nt "$o" ] \
     || [ cpp/libos-socket.h -nt "$o" ] || [ cpp/libos-stack-helper.h -nt "$o" ] \
     || [ "$TD/cxxbridge/libos-ns3/rust/ns3/bridge.rs.h" -nt "$o" ]; then
    g++ -std=c++17 -O2 -g -fPIC -Wall -DNS3_LOG_ENABLE -DNS3_ASSERT_ENABLE -I "$TD/cxxbridge" -I cpp -c "$src" -o "$o" &
  fi
  objs="$objs $o"
done
wait
g++ -shared -o "$OUT/libns3-libos.so" $objs "$TD/release/liblibos_ns3.a" \
  $NS3_LIBS -lpthread -ldl -lm -Wl,--no-undefined -Wl,-soname,libns3-libos.so
for h in cpp/libos-kernel.h cpp/libos-socket.h cpp/libos-stack-helper.h; do
  cp "$h" "$OUT/include/ns3/"
done
cat > "$OUT/include/ns3/libos-module.h" <<'H'
#include "ns3/libos-kernel.h"
#include "ns3/libos-socket.h"
#include "ns3/libos-stack-helper.h"
H
echo "$OUT/libns3-libos.so"
