#!/usr/bin/env bash
# Fuzzes every parser and loader of user files (docs/errors.md): configures a clang build
# in build-fuzz with -DTESSERA_FUZZ=ON (ASan + UBSan + libFuzzer), builds the targets of
# fuzz/ and runs each for SECONDS (default 60) over its seeds: the repository's own valid
# inputs (configs/arch, configs/models, tests/common/isa/data) and, for what the repository
# holds no file of, fuzz/corpus/<target>/ (written by `tessera gen-model` and `tessera asm`).
# New corpus entries go to build-fuzz/corpus/<target>/ (the seeds in the repository stay
# the small hand-picked set). Fails on the first crash, sanitizer report, leak, timeout
# (10 s per input) or out-of-memory (2 GB); libFuzzer writes the reproducer to
# build-fuzz/artifacts/<target>/. Usage: scripts/fuzz.sh [--ci] [SECONDS] [TARGET...]
# --ci: the short run of the test suite (ctest label `fuzz`, tests/fuzz): no base-package
# setup, and exit 77 (skipped) when clang cannot be had. TESSERA_FUZZ_BUILD overrides the
# build directory; TESSERA_JOBS the build's parallelism (default: every core).
set -euo pipefail
cd "$(dirname "$0")/.."
ci=0
if [ "${1:-}" = "--ci" ]; then ci=1; shift; fi
seconds=${1:-60}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then targets=(arch_yaml arch_set tbin asm safetensors model_config sweep_spec); fi

# The base packages (scripts/setup.sh; the test suite that runs --ci was built with them), then
# the fuzzing toolchain, which only this script needs.
if [ $ci -eq 0 ]; then scripts/setup.sh; fi
for p in clang libclang-rt-14-dev; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    sudo_cmd=()
    if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
    if ! { "${sudo_cmd[@]}" apt-get update -qq &&
           DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
             clang libclang-rt-14-dev; }; then
      if [ $ci -eq 1 ]; then
        echo "fuzz: SKIPPED: clang and libclang-rt-14-dev are not installed and could not be installed" >&2
        exit 77
      fi
      exit 1
    fi
    break
  fi
done

bdir=${TESSERA_FUZZ_BUILD:-build-fuzz}
CC=clang CXX=clang++ cmake -S . -B "$bdir" -DTESSERA_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$bdir" -j"${TESSERA_JOBS:-$(nproc)}" --target "${targets[@]/#/fuzz_}"

# Seed directories per target (libFuzzer reads every file of each directory).
seeds() {
  case "$1" in
    arch_yaml) echo configs/arch ;;
    asm) echo tests/common/isa/data ;;
    model_config) echo fuzz/corpus/model_config configs/models/* ;;
    sweep_spec) echo configs/sweeps ;;
    *) echo "fuzz/corpus/$1" ;;
  esac
}

for t in "${targets[@]}"; do
  mkdir -p "$bdir/corpus/$t" "$bdir/artifacts/$t"
  echo "== fuzz_$t for ${seconds}s"
  # detect_leaks: a leak fails the run like a crash; the scratch file of the safetensors
  # target lives in /tmp per process.
  log="$bdir/fuzz_$t.log"
  if ! ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    "$bdir/bin/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -print_final_stats=1 -artifact_prefix="$bdir/artifacts/$t/" \
    "$bdir/corpus/$t" $(seeds "$t") >"$log" 2>&1; then
    tail -n 60 "$log" >&2
    echo "fuzz_$t FAILED (log $log, reproducer in $bdir/artifacts/$t/)" >&2
    exit 1
  fi
  grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb)' "$log" || true
done
echo "fuzz: all targets ran ${seconds}s without a finding"
