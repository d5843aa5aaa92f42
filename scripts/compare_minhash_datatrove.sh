#!/usr/bin/env bash
# Sluice's MinHash dedup against datatrove's four MinHash steps on the same JSONL: wall time,
# peak memory, and agreement on which documents are removed.
#
# Usage: scripts/compare_minhash_datatrove.sh [INPUT_DIR] [WORK_DIR]
#   INPUT_DIR  folder of *.jsonl.zst (default: SampleData)
#   WORK_DIR   scratch folder outside the repository (default: /tmp/sluice-minhash-compare)
# Environment:
#   TASKS, WORKERS   task and worker counts for both tools (default 1 and 1: datatrove's
#                    single-task run, the one whose removals a first-in-order keeper matches)
#   HASH             the shingle hash of both tools: xxhash (datatrove 0.10.1's default) or
#                    sha1 (FineWeb's HashConfig(hash_fc="sha1", precision=64)); default xxhash
#   VENV             a venv with datatrove 0.10.1 + spaCy (default WORK_DIR/venv, created with
#                    /work/shared/tools/setup_datatrove_venv.sh or pip when missing)
#   SLUICE           the sluice binary (default: built here with `swift build -c release`)
#   DT_TOOLS         folder of the shared peer tools (default /work/shared/tools)
# Prints one JSON object: both tools' wall seconds and peak RSS, the speed-up, and the agreement.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
INPUT=$(cd "${1:-$ROOT/SampleData}" && pwd)
WORK=${2:-/tmp/sluice-minhash-compare}
TASKS=${TASKS:-1}
WORKERS=${WORKERS:-1}
HASH=${HASH:-xxhash}
case "$HASH" in xxhash|sha1) ;; *) echo "HASH must be xxhash or sha1, got $HASH" >&2; exit 2 ;; esac
VENV=${VENV:-$WORK/venv}
DT_TOOLS=${DT_TOOLS:-/work/shared/tools}
mkdir -p "$WORK"

if [ ! -x "$VENV/bin/python" ]; then
  if [ -f "$DT_TOOLS/setup_datatrove_venv.sh" ]; then
    bash "$DT_TOOLS/setup_datatrove_venv.sh" "$VENV" "$WORK/models" >&2
  else
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q 'datatrove[io,processing]==0.10.1' spacy zstandard >&2
  fi
fi
if [ -z "${SLUICE:-}" ]; then
  (cd "$ROOT" && swift build -c release --product sluice >&2)
  SLUICE="$ROOT/.build/release/sluice"
fi
"$VENV/bin/python" -c 'import zstandard' 2>/dev/null || "$VENV/bin/pip" install -q zstandard >&2

# Wall time, CPU time (user + system, waited-for children included) and peak RSS, via GNU
# time. On a shared machine compare CPU seconds: wall time depends on the other load.
measure() {  # measure LABEL OUTFILE cmd...
  local label=$1 out=$2
  shift 2
  /usr/bin/time -f "%e %U %S %M" -o "$out.time" "$@" > "$out.log" 2>&1 || { echo "$label failed, see $out.log" >&2; tail -20 "$out.log" >&2; exit 1; }
}

DT_OUT="$WORK/datatrove"
SL_OUT="$WORK/sluice"
rm -rf "$DT_OUT" "$SL_OUT"
export PYTHONWARNINGS=ignore
measure datatrove "$WORK/datatrove" "$VENV/bin/python" "$ROOT/scripts/compare_minhash_datatrove.py" datatrove \
  --input "$INPUT" --out "$DT_OUT" --hash "$HASH" --tasks "$TASKS" --workers "$WORKERS"

cat > "$WORK/minhash.yaml" <<EOF
name: minhash-compare
input:
  type: jsonl
  paths: ["$INPUT/*.jsonl*"]
stages:
  - type: minhash_dedup
    hash: $HASH
output:
  path: $SL_OUT
  rejected: true
run:
  tasks: $TASKS
  workers: $WORKERS
EOF
measure sluice "$WORK/sluice" "$SLUICE" run "$WORK/minhash.yaml" --quiet

"$VENV/bin/python" "$ROOT/scripts/compare_minhash_datatrove.py" compare --input "$INPUT" --datatrove "$DT_OUT" \
  --sluice "$SL_OUT" --json > "$WORK/agreement.json"
"$VENV/bin/python" - "$WORK/agreement.json" "$WORK/datatrove.time" "$WORK/sluice.time" "$TASKS" "$WORKERS" "$INPUT" "$HASH" <<'EOF'
import json, sys
a = json.load(open(sys.argv[1]))
dt_s, dt_u, dt_sys, dt_kb = open(sys.argv[2]).read().split()[-4:]
sl_s, sl_u, sl_sys, sl_kb = open(sys.argv[3]).read().split()[-4:]
dt_cpu, sl_cpu = float(dt_u) + float(dt_sys), float(sl_u) + float(sl_sys)
out = {
    "input": sys.argv[6], "hash": sys.argv[7], "tasks": int(sys.argv[4]), "workers": int(sys.argv[5]),
    "datatrove_seconds": float(dt_s), "datatrove_cpu_seconds": round(dt_cpu, 2),
    "datatrove_peak_rss_mb": round(int(dt_kb) / 1024, 1),
    "sluice_seconds": float(sl_s), "sluice_cpu_seconds": round(sl_cpu, 2),
    "sluice_peak_rss_mb": round(int(sl_kb) / 1024, 1),
    "speedup_wall": round(float(dt_s) / max(float(sl_s), 1e-9), 1),
    "speedup_cpu": round(dt_cpu / max(sl_cpu, 1e-9), 1),
}
out.update(a)
print(json.dumps(out, indent=2))
EOF
