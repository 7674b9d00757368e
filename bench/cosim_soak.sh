#!/usr/bin/env bash
# The co-simulation soak (docs/validation.md, "RTL"): N generated programs of LENGTH
# instructions, seeds FIRST.., each run on the RTL core and the model in lock-step by
# tessera-cosim; prints the counts (programs, instructions, cycles compared, divergences).
# A divergence stops the soak and leaves its program as cosim_seed_S.tbin in OUT.
# Build: cmake --build build --target tessera-cosim.
# Usage: bench/cosim_soak.sh [N=10000] [FIRST=1] [LENGTH=48] [tessera-cosim] [OUT=bench-out/cosim]
set -euo pipefail
n=${1:-10000}
first=${2:-1}
length=${3:-48}
exe=${4:-build/bin/tessera-cosim}
out=${5:-bench-out/cosim}
mkdir -p "$out"
echo "== $exe --arch tiny --random $n --seed $first --length $length"
"$exe" --arch tiny --random "$n" --seed "$first" --length "$length" --keep-dir "$out"
