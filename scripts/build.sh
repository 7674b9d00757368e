#!/usr/bin/env bash
# Configures and builds Tessera into build/ (installing missing Debian packages first).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo > /dev/null
cmake --build build -j"${TESSERA_JOBS:-2}"
