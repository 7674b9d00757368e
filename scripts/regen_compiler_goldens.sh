#!/bin/sh
# The golden IR of the compiler's passes (tests/compiler/golden/<case>/<n>-<stage>.ir):
# builds compiler_pass_test and, with --write, rewrites every golden file from the current
# compiler; without it, only compares (the same check CTest runs) and prints the diffs.
# Review `git diff tests/compiler/golden` after --write: every changed line is a change in
# what a pass produces.
set -eu
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
write=0
for a in "$@"; do
  case "$a" in
    --write) write=1 ;;
    -h|--help) echo "usage: $0 [--write]   (BUILD_DIR=build by default)"; exit 0 ;;
    *) echo "$0: unknown argument '$a' (expected --write)" >&2; exit 2 ;;
  esac
done
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j2 --target compiler_pass_test >/dev/null
if [ "$write" = 1 ]; then
  TESSERA_REGEN_GOLDENS=1 "$build/bin/compiler_pass_test" --gtest_filter='Passes/PassGolden.*' >/dev/null
  echo "rewrote tests/compiler/golden; review with: git diff --stat tests/compiler/golden"
fi
"$build/bin/compiler_pass_test" --gtest_filter='Passes/PassGolden.*'
