#!/usr/bin/env bash
# Installs the Debian packages skingen builds and tests with. As root it runs
# apt-get; otherwise it prints the exact command and fails.
# Usage: tools/install-deps.sh [extra packages...]
set -euo pipefail
packages=(cmake make g++ pkg-config libdnnl-dev nlohmann-json3-dev libstb-dev catch2 libcli11-dev zlib1g-dev "$@")
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
  echo "skingen: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
else
  echo "skingen: missing Debian packages. Run:" >&2
  echo "  sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
