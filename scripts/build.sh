#!/usr/bin/env bash
# Configures and builds Tessera into build/ (installing missing Debian packages first).
# Usage: scripts/build.sh [TARGET...]. Without targets it builds everything: the tessera
# command, every test and the Verilator RTL test benches (the benches take most of the
# time). scripts/run.sh passes `tessera` only.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo > /dev/null
targets=()
for t in "$@"; do targets+=(--target "$t"); done
cmake --build build -j"${TESSERA_JOBS:-2}" "${targets[@]}"
