#!/usr/bin/env bash
# Installs missing packages, then builds and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build --product sluice
swift test "$@"
