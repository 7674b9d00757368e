#!/usr/bin/env bash
# The compiler's efficiency figures on sohu-like (docs/validation.md, "Compiler"): every
# run is `tessera run` in timing mode with the bandwidth DRAM model; the JSON reports go to
# OUT (default bench-out/compiler). Usage: bench/compiler_efficiency.sh [tessera] [OUT]
set -euo pipefail
t=${1:-build/bin/tessera}
out=${2:-bench-out/compiler}
mkdir -p "$out"
run() {  # name, then tessera run options
  local name=$1
  shift
  echo "== tessera run $*"
  "$t" run "$@" --json "$out/$name.json" > "$out/$name.txt"
  sed -n '4,12p' "$out/$name.txt"
}
# Prefill: one 2048-token prompt on one chip (the MAC-utilisation target).
run prefill-70b --model llama3-70b --chips 1 --batch 1 --prompt 2048 --gen 1
# Decode: one step at context 2049 (prompt 2048 + the first generated token) per batch.
for m in llama3-8b llama3-70b; do
  for b in 1 8 64 256; do
    # Llama-3-70B at batch 256 needs two chips for its KV cache: one tensor-parallel group of 2.
    chips=1
    [ "$m" = llama3-70b ] && [ "$b" = 256 ] && chips=2
    run "decode-$m-b$b" --model "$m" --chips "$chips" --tp "$chips" --batch "$b" --prompt 2048 --gen 2 --decode-points 1 || true
  done
done
# Etched's setting: Llama-3-70B FP8 on 8 chips, 2048 in / 128 out, (in + out) / time.
for b in 64 512 1728; do  # 1728: 216 sequences per chip, the most whose KV cache fits
  run "etched-b$b" --model llama3-70b --chips 8 --batch "$b" --prompt 2048 --gen 128 --precision fp8
done
