#!/usr/bin/env bash
# Side-by-side check of Sluice's heuristic filters against datatrove 0.10.1 on real pages.
#
# Usage: scripts/compare_filters_datatrove.sh WORK_DIR [WARC_DIR]
#   WORK_DIR  scratch folder (created): the venv, the extracted texts, the per-filter runs
#   WARC_DIR  WARC files to extract text from (default: build them with
#             ../shared/tools/build_corpus.sh into WORK_DIR/corpus; needs the Debian doc packages)
#
# Steps: an offline datatrove venv (../shared/tools/setup_datatrove_venv.sh), a release build of
# sluice, text extraction with datatrove's own WARC reader + Trafilatura + fastText language ID,
# then compare_filters_datatrove.py compare on the English documents (keep/drop agreement,
# reason agreement, C4's rewritten text) and bench (datatrove's speed on the same texts).
# Exit status: 0 when every filter meets the floors (99.5% keep/drop, 99% reasons), 1 otherwise.
set -euo pipefail
WORK=${1:?usage: compare_filters_datatrove.sh WORK_DIR [WARC_DIR]}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
TOOLS=${SLUICE_SHARED_TOOLS:-$ROOT/../shared/tools}
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
PY="$WORK/venv/bin/python"

if [ ! -x "$PY" ] || ! "$PY" -c "import datatrove, spacy" 2>/dev/null; then
  bash "$TOOLS/setup_datatrove_venv.sh" "$WORK/venv" "$WORK/models"
fi
WARC=${2:-}
if [ -z "$WARC" ]; then
  if [ ! -d "$WORK/corpus/warc-full" ]; then
    bash "$TOOLS/build_corpus.sh" "$WORK/corpus" --python "$PY"
  fi
  WARC="$WORK/corpus/warc-full"
fi

(cd "$ROOT" && swift build -c release --product sluice)
SLUICE="$(cd "$ROOT" && swift build -c release --show-bin-path)/sluice"

if [ ! -s "$WORK/texts.jsonl" ]; then
  "$PY" "$HERE/compare_filters_datatrove.py" extract --warc "$WARC" --out "$WORK/texts.jsonl" \
    --lid-model "$WORK/models/lid.176.ftz" --languages all
fi
status=0
"$PY" "$HERE/compare_filters_datatrove.py" compare --input "$WORK/texts.jsonl" --languages en \
  --work "$WORK/compare" --sluice "$SLUICE" || status=$?
"$PY" "$HERE/compare_filters_datatrove.py" bench --input "$WORK/texts.jsonl" --languages en
exit $status
