#!/usr/bin/env bash
# Installs the Debian packages Sluice needs to build and test, if any are missing.
# Usage: scripts/install-deps.sh        (as root, or with sudo available)
set -euo pipefail
packages=(libzstd-dev libxml2-dev zlib1g-dev libcurl4-openssl-dev pkg-config zstd)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
echo "sluice: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "sluice: run as root or install: ${missing[*]}" >&2; exit 1; }
    SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
