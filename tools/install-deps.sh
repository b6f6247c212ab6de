#!/usr/bin/env bash
# Installs the Debian packages skingen builds and tests with (the list is
# tools/debian-packages.txt). As root it runs apt-get; otherwise it prints
# the exact command and fails.
# Usage: tools/install-deps.sh [extra packages...]
set -euo pipefail
here=$(dirname "$0")
mapfile -t packages < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$here/debian-packages.txt")
packages+=("$@")
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
  echo "skingen: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # No Recommends: what the build needs is listed, and the install guard
  # (tools/check-install-list.sh) proves the list complete.
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
else
  echo "skingen: missing Debian packages. Run:" >&2
  echo "  sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi
