#!/usr/bin/env bash
# Sets everything up on a fresh Debian machine with Swift and runs the quickstart pipeline on
# SampleData/: installs missing packages, builds sluice (release), runs, verifies, prints stats.
# Usage: scripts/quickstart.sh [extra sluice run options, e.g. --set output.path=/tmp/q]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build -c release --product sluice
bin="$(swift build -c release --show-bin-path)/sluice"
SLUICE_BIN="$bin" scripts/setup-models.sh >/dev/null
"$bin" run Pipelines/quickstart.yaml "$@"
out=$("$bin" validate Pipelines/quickstart.yaml "$@" | sed -n 's/^output: //p')
"$bin" verify "$out"
