#!/usr/bin/env bash
# Fuzzes every parser and loader of user files (docs/errors.md): configures a clang build
# in build-fuzz with -DTESSERA_FUZZ=ON (ASan + UBSan + libFuzzer), builds the targets of
# fuzz/ and runs each for SECONDS (default 60) over its seeds: the repository's own valid
# inputs (configs/arch, configs/models, tests/common/isa/data) and, for what the repository
# holds no file of, fuzz/corpus/<target>/ (written by `tessera gen-model` and `tessera asm`).
# New corpus entries go to build-fuzz/corpus/<target>/ (the seeds in the repository stay
# the small hand-picked set). Fails on the first crash, sanitizer report, leak, timeout
# (10 s per input) or out-of-memory (2 GB); libFuzzer writes the reproducer to
# build-fuzz/artifacts/<target>/.
# Usage: scripts/fuzz.sh [--ci] [--parallel] [--runs N | --replay] [SECONDS] [TARGET...]
# --parallel: every target at once (long runs); TESSERA_FUZZ_TIMEOUT: seconds per input (10).
# --runs N: each target runs N inputs instead of SECONDS (the long run of docs/validation.md).
# --replay: no fuzzing; every input of build-fuzz/corpus/<target>/ and of TESSERA_FUZZ_REPLAY's
#   corpus/<target>/ runs once (a corpus grown by a faster build, replayed under ASan + UBSan).
# TESSERA_FUZZ_SANITIZE: the sanitizers of the build (default address,undefined). A long run
# with "undefined" only executes several times more inputs per second; replay its corpus after.
# --ci: the short run of the test suite (ctest label `fuzz`, tests/fuzz): no base-package
# setup, and exit 77 (skipped) when clang cannot be had. TESSERA_FUZZ_BUILD overrides the
# build directory; TESSERA_JOBS the build's parallelism (default: every core).
set -euo pipefail
cd "$(dirname "$0")/.."
ci=0
parallel=0
runs=-1
replay=0
while [ $# -gt 0 ]; do
  case "$1" in
    --ci) ci=1; shift ;;
    --parallel) parallel=1; shift ;;
    --runs) runs=${2:?--runs needs a number}; shift 2 ;;
    --replay) replay=1; shift ;;
    *) break ;;
  esac
done
# Per-input time limit: a loaded machine starves the process, so long runs raise it.
timeout=${TESSERA_FUZZ_TIMEOUT:-10}
seconds=60
if [[ "${1:-}" =~ ^[0-9]+$ ]]; then seconds=$1; shift; fi
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
CC=clang CXX=clang++ cmake -S . -B "$bdir" -DTESSERA_FUZZ=ON -DTESSERA_SANITIZE="${TESSERA_FUZZ_SANITIZE:-address,undefined}" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
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
  local limit=(-max_total_time="$seconds") dirs=("$bdir/corpus/$t" $(seeds "$t"))
  if [ "$runs" != -1 ]; then limit=(-runs="$runs"); fi
  if [ $replay -eq 1 ]; then
    # -runs=0: the corpora's inputs run once each and nothing is mutated.
    limit=(-runs=0)
    if [ -n "${TESSERA_FUZZ_REPLAY:-}" ]; then dirs+=("$TESSERA_FUZZ_REPLAY/corpus/$t"); fi
  fi
  if ! ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    "$bdir/bin/fuzz_$t" "${limit[@]}" -timeout="$timeout" -rss_limit_mb=2048 -max_len=65536 \
    -print_final_stats=1 -artifact_prefix="$bdir/artifacts/$t/" "${dirs[@]}" >"$log" 2>&1; then
    tail -n 60 "$log" >&2
    echo "fuzz_$t FAILED (log $log, reproducer in $bdir/artifacts/$t/)" >&2
    return 1
  fi
  # The safetensors target's scratch files of fuzzers that ended without their destructors.
  for f in /dev/shm/tessera-fuzz-*.safetensors /tmp/tessera-fuzz-*.safetensors; do
    [ -e "$f" ] || continue
    local pid=${f##*-}; pid=${pid%.safetensors}
    kill -0 "$pid" 2>/dev/null || rm -f "$f"
  done
  echo "== fuzz_$t: $(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}') executions in" \
       "$(grep -E '^Done [0-9]+ runs in' "$log" | awk '{print $5}')s, corpus $(ls "$bdir/corpus/$t" | wc -l) inputs"
}

if [ $parallel -eq 0 ]; then
  for t in "${targets[@]}"; do
    echo "== fuzz_$t"
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
echo "fuzz: all targets ran without a finding"
