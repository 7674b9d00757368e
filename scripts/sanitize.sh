#!/usr/bin/env bash
# The test suite under AddressSanitizer + UndefinedBehaviorSanitizer (docs/errors.md):
# configures build-asan with -DTESSERA_SANITIZE=address,undefined (GCC, as the normal
# build), builds and runs ctest there. Any sanitizer report aborts the test that caused it.
# Usage: scripts/sanitize.sh [LABEL_REGEX]   (default: every test). Each test carries its
# executable's name as CTest label (the tests of tests/sim: sim_cli); the whole suite takes
# about an hour on 2 cores, so e.g.
# `scripts/sanitize.sh '^(hf_test|numerics_test|config_test)$'` runs three executables.
set -euo pipefail
cd "$(dirname "$0")/.."
regex=${1:-}
# The RTL benches (Verilator at configure time) only when the run includes them.
rtl=ON
if [ -n "$regex" ]; then case "$regex" in *rtl*) ;; *) rtl=OFF ;; esac; fi
cmake -S . -B build-asan -DTESSERA_SANITIZE=address,undefined -DTESSERA_RTL_TESTS=$rtl \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
if [ -z "$regex" ]; then
  cmake --build build-asan -j"${TESSERA_JOBS:-$(nproc)}"
else
  # Only the test executables whose names match, so a partial run builds only what it runs.
  mapfile -t targets < <(grep -ohE 'tessera_gtest\(([a-z_]+)' -r tests --include=CMakeLists.txt | sed 's/.*(//' |
                         grep -E "$regex" || true)
  # The *_cli_test executables and the tests of tests/sim (label sim_cli) run the tessera command.
  case "${targets[*]}" in *_cli_test*) targets+=(tessera) ;; esac
  if echo sim_cli | grep -qE "$regex"; then targets+=(tessera); fi
  cmake --build build-asan -j"${TESSERA_JOBS:-$(nproc)}" --target "${targets[@]}"
fi
# halt_on_error: the first report fails the test; leaks are reported too.
export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir build-asan --output-on-failure -j"$(nproc)" ${regex:+-L "$regex"}
