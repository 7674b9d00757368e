#!/usr/bin/env bash
# The main job on the embedded defaults: builds the tessera command (only that; the RTL
# test benches are built by scripts/test.sh) and runs `tessera run` without arguments
# (compile Llama-3-8B for one sohu-like chip and simulate a request of 4 sequences, 256
# prompt + 32 generated tokens: TTFT, TPOT, tokens/s, utilisation, roofline;
# docs/compiler.md). Then, briefly: validates the architecture presets, shows the
# datacenter preset's derived figures, assembles and disassembles a program covering
# every opcode, runs the standard GEMM microbenchmark and an HBM streaming test on the
# cycle model, writes a fixed-seed tiny Llama-style model and generates from it with the
# reference Transformer and with the compiled program on the functional model.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== building build/bin/tessera (model, compiler, driver and commands; not the RTL test benches)"
echo "   The first build compiles the SystemC model and the compiler: a few minutes on two cores."
echo "   Later runs rebuild only what changed."
start=$SECONDS
scripts/build.sh tessera
echo "== built in $((SECONDS - start)) s"
echo
t=build/bin/tessera
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== tessera run (Llama-3-8B on one sohu-like chip: batch 4, prompt 256, generate 32)"
$t run
echo
echo "== tessera config check configs/arch/*.yaml"
$t config check configs/arch/*.yaml
echo
echo "== tessera config show --arch sohu-like"
$t config show --arch sohu-like
echo
echo "== tessera asm / disasm (every opcode, tiny preset)"
$t asm tests/common/isa/data/all_opcodes.s -o "$work/all.tbin"
# Through a file, not a pipe: under pipefail, head closing the pipe early would fail the job.
$t disasm "$work/all.tbin" > "$work/all.s"
head -n 12 "$work/all.s"
echo "..."
echo
echo "== tessera gemm --arch tiny --m 256 --k 256 --n 256 (cycle model)"
$t gemm --arch tiny --m 256 --k 256 --n 256
echo
echo "== tessera hbm --arch sohu-like --pattern stream (HBM3E model)"
$t hbm --arch sohu-like --pattern stream
echo
echo "== tessera gen-model --family llama (dim 64, 2 layers, 4 query / 2 KV heads, vocab 512)"
$t gen-model --family llama --out "$work/tiny-llama"
echo
echo "== tessera ref --model tiny-llama --prompt 1,10,20,30 --steps 16"
$t ref --model "$work/tiny-llama" --prompt 1,10,20,30 --steps 16
echo
echo "== tessera run --functional --model tiny-llama --arch tiny --prompt 1,10,20,30 --steps 16 (compiled, BF16)"
$t run --functional --model "$work/tiny-llama" --arch tiny --precision bf16 --prompt 1,10,20,30 --steps 16
