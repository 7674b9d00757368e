#!/usr/bin/env bash
# Installs the Debian 12 packages Tessera builds with, when any is missing.
# chromium is for the headless screenshot test of the HTML report pages (docs/reports.md);
# Open MPI spreads `tessera sweep` over machines (docs/sweeps.md; the build works without it).
# Safe to run repeatedly: it only calls apt-get when dpkg says something is absent.
set -euo pipefail

packages=(
  cmake make g++ ccache git
  libyaml-cpp-dev nlohmann-json3-dev libcli11-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libsystemc-dev verilator yosys
  python3 python3-yaml
  chromium
  libopenmpi-dev openmpi-bin
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=()
  if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
