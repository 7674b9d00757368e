#!/usr/bin/env bash
# Builds everything and runs every test suite (the command CI runs).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
ctest --test-dir build -j"${TESSERA_JOBS:-2}" --output-on-failure
