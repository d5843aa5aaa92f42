#!/usr/bin/env bash
# The model-based quality loop end to end: an LLM judge scores a sample, a fastText classifier
# learns the judge, and the classifier scores the whole corpus (Pipelines/quality.yaml).
#
# Usage: scripts/quality_loop.sh [--base-url URL --model NAME [--api-key-env VAR]] [--sample N]
#                                [--work DIR] [--threshold T] [--rubric NAME|FILE]
#
# Without --base-url it starts scripts/quality_judge_server.py, a scripted judge on loopback (a
# deterministic rule over each document), so the loop runs on any machine. With a real server
# (llama-server, vLLM, OpenAI) give its URL up to /v1 and the model name.
# The sluice binary is $SLUICE_BIN, or the release build (built when missing).
set -euo pipefail
cd "$(dirname "$0")/.."

base_url="" model="" key_env="" sample=2000 work="out/quality-loop" threshold=3 rubric="educational_value"
while [ $# -gt 0 ]; do
    case "$1" in
        --base-url) base_url="$2"; shift 2 ;;
        --model) model="$2"; shift 2 ;;
        --api-key-env) key_env="$2"; shift 2 ;;
        --sample) sample="$2"; shift 2 ;;
        --work) work="$2"; shift 2 ;;
        --threshold) threshold="$2"; shift 2 ;;
        --rubric) rubric="$2"; shift 2 ;;
        -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
        *) echo "quality_loop: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done

if [ -n "${SLUICE_BIN:-}" ]; then
    sluice="$SLUICE_BIN"
else
    swift build -c release --product sluice >&2
    sluice="$(swift build -c release --show-bin-path)/sluice"
fi
scripts/setup-models.sh >/dev/null
mkdir -p "$work"

server_pid=""
cleanup() { if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi; }
trap cleanup EXIT
if [ -z "$base_url" ]; then
    rm -f "$work/judge.port"
    python3 scripts/quality_judge_server.py --port-file "$work/judge.port" >/dev/null &
    server_pid=$!
    for _ in $(seq 50); do [ -f "$work/judge.port" ] && break; sleep 0.1; done
    base_url="http://127.0.0.1:$(cat "$work/judge.port")/v1"
    model="scripted-judge"
    echo "quality_loop: no --base-url given; using the scripted judge at $base_url" >&2
fi
[ -n "$model" ] || { echo "quality_loop: --model is needed with --base-url" >&2; exit 2; }

echo "== 1. sluice annotate: the judge scores $sample documents" >&2
extra=()
[ -n "$key_env" ] && extra+=(--api-key-env "$key_env")
"$sluice" annotate SampleData/*.jsonl.zst -o "$work/annotations.jsonl" --sample "$sample" --rubric "$rubric" \
    --base-url "$base_url" --model "$model" --concurrency 8 --cache-dir "$work/cache" "${extra[@]}"

echo "== 2. sluice quality train: a fastText classifier learns the judge (score >= $threshold is hq)" >&2
"$sluice" quality train "$work/annotations.jsonl" --threshold "$threshold" -o "$work/quality-judge.bin" \
    --report "$work/train-report.json"

echo "== 3. sluice run Pipelines/quality.yaml with the new classifier" >&2
QUALITY_MODEL="$work/quality-judge.bin" "$sluice" run Pipelines/quality.yaml --set output.path="$work/scored" --quiet
"$sluice" verify "$work/scored"
echo "scored corpus: $work/scored (metadata.quality.judge, .reference, .best); training report: $work/train-report.json" >&2
