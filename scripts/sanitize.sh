#!/usr/bin/env bash
# The test suite under AddressSanitizer + UndefinedBehaviorSanitizer (docs/errors.md):
# configures build-asan with -DTESSERA_SANITIZE=address,undefined (GCC, as the normal
# build), builds and runs ctest there. Any sanitizer report aborts the test that caused it.
# Usage: scripts/sanitize.sh [LABEL_REGEX]   (default: every test). Each test carries its
# executable's name as CTest label; the whole suite takes about an hour on 2 cores, so e.g.
# `scripts/sanitize.sh '^(hf_test|numerics_test|config_test)$'` runs three executables.
set -euo pipefail
cd "$(dirname "$0")/.."
regex=${1:-}
cmake -S . -B build-asan -DTESSERA_SANITIZE=address,undefined -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
if [ -z "$regex" ]; then
  cmake --build build-asan -j"$(nproc)"
else
  # Only the test executables whose names match, so a partial run builds only what it runs.
  mapfile -t targets < <(grep -ohE 'tessera_gtest\(([a-z_]+)' -r tests --include=CMakeLists.txt | sed 's/.*(//' |
                         grep -E "$regex" || true)
  # The *_cli_test executables run the tessera command.
  case "${targets[*]}" in *_cli_test*) targets+=(tessera) ;; esac
  cmake --build build-asan -j"$(nproc)" --target "${targets[@]}"
fi
# halt_on_error: the first report fails the test; leaks are reported too.
export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir build-asan --output-on-failure -j"$(nproc)" ${regex:+-L "$regex"}
