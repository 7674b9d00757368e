#!/usr/bin/env bash
# Fuzzes every parser and loader of user files (docs/errors.md): configures a clang build
# in build-fuzz with -DTESSERA_FUZZ=ON (ASan + UBSan + libFuzzer), builds the targets of
# fuzz/ and runs each for SECONDS (default 60) over its seeds: the repository's own valid
# inputs (configs/arch, configs/models, tests/common/isa/data) and, for what the repository
# holds no file of, fuzz/corpus/<target>/ (written by `tessera gen-model` and `tessera asm`).
# New corpus entries go to build-fuzz/corpus/<target>/ (the seeds in the repository stay
# the small hand-picked set). Fails on the first crash, sanitizer report, leak, timeout
# (10 s per input) or out-of-memory (2 GB); libFuzzer writes the reproducer to
# build-fuzz/artifacts/<target>/. Usage: scripts/fuzz.sh [--ci] [--parallel] [SECONDS] [TARGET...]
# --parallel: every target at once (long runs); TESSERA_FUZZ_TIMEOUT: seconds per input (10).
# --ci: the short run of the test suite (ctest label `fuzz`, tests/fuzz): no base-package
# setup, and exit 77 (skipped) when clang cannot be had. TESSERA_FUZZ_BUILD overrides the
# build directory; TESSERA_JOBS the build's parallelism (default: every core).
set -euo pipefail
cd "$(dirname "$0")/.."
ci=0
parallel=0
if [ "${1:-}" = "--ci" ]; then ci=1; shift; fi
if [ "${1:-}" = "--parallel" ]; then parallel=1; shift; fi
# Per-input time limit: a loaded machine starves the process, so long runs raise it.
timeout=${TESSERA_FUZZ_TIMEOUT:-10}
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

# One target: 0 when it ran its time without a finding.
run_one() {
  local t=$1 log="$bdir/fuzz_$1.log"
  mkdir -p "$bdir/corpus/$t" "$bdir/artifacts/$t"
  # detect_leaks: a leak fails the run like a crash; the scratch file of the safetensors
  # target lives in /tmp per process.
  if ! ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    "$bdir/bin/fuzz_$t" -max_total_time="$seconds" -timeout="$timeout" -rss_limit_mb=2048 -max_len=65536 \
    -print_final_stats=1 -artifact_prefix="$bdir/artifacts/$t/" \
    "$bdir/corpus/$t" $(seeds "$t") >"$log" 2>&1; then
    tail -n 60 "$log" >&2
    echo "fuzz_$t FAILED (log $log, reproducer in $bdir/artifacts/$t/)" >&2
    return 1
  fi
  echo "== fuzz_$t: $(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}') executions in ${seconds}s"
}

if [ $parallel -eq 0 ]; then
  for t in "${targets[@]}"; do
    echo "== fuzz_$t for ${seconds}s"
    run_one "$t" || exit 1
  done
else
  # Long runs on a machine with cores to spare: every target at once, each reported as it ends.
  pids=()
  for t in "${targets[@]}"; do run_one "$t" & pids+=($!); done
  failed=0
  for p in "${pids[@]}"; do wait "$p" || failed=1; done
  [ $failed -eq 0 ] || exit 1
fi
echo "fuzz: all targets ran ${seconds}s without a finding"
