#!/usr/bin/env bash
# Installs missing packages, then builds and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# The language-ID tests and Pipelines/language.yaml need fastText's lid.176 model.
scripts/setup-models.sh >/dev/null
swift build --product sluice
swift test "$@"
