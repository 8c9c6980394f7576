#!/usr/bin/env bash
# test_install.sh BUILD_DIR SRC_DIR [EXTRA_CFLAGS] — installs convnet into a temporary prefix,
# then builds example.c outside the tree twice: with pkg-config (shared and --static) and
# with CMake's find_package(convnet). Each program must run and print the version.
set -eu
build=$1 src=$2 extra=${3:-}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cmake --install "$build" --prefix "$T/prefix" >/dev/null
pcdir=$(dirname "$(find "$T/prefix" -name convnet.pc | head -1)")
export PKG_CONFIG_PATH=$pcdir
libdir=$(pkg-config --variable=libdir convnet)
echo "pkg-config: $(pkg-config --cflags --libs convnet)"
cc $extra "$src/example.c" -o "$T/ex_shared" $(pkg-config --cflags --libs convnet)
LD_LIBRARY_PATH=$libdir "$T/ex_shared" | tee "$T/out1"
grep -q "^convnet [0-9]" "$T/out1"
cc $extra "$src/example.c" -o "$T/ex_static" $(pkg-config --static --cflags convnet) \
  "$libdir/libconvnet.a" $(pkg-config --static --libs-only-l convnet | sed 's/-lconvnet//')
"$T/ex_static" | grep -q "^convnet [0-9]"
CFLAGS="$extra" LDFLAGS="$extra" cmake -S "$src" -B "$T/consumer" -DCMAKE_PREFIX_PATH="$T/prefix" >/dev/null
cmake --build "$T/consumer" >/dev/null
"$T/consumer/example_cmake" | grep -q "^convnet [0-9]"
echo "3 passed, 0 failed"
