#!/usr/bin/env bash
# Build Sluice's small real sample corpus (SampleData/*.jsonl.zst) from Debian packages.
#
# Usage: scripts/make_sample_data.sh [OUT_DIR] [--no-install]
#   OUT_DIR       where to write (default: SampleData in the repository root)
#   --no-install  never call apt-get; just fail with the list of missing packages
#
# Run as root, it apt-get installs the Debian packages that are missing (Debian 12 / bookworm main).
# As another user it prints the packages to install and stops. Needs python3 (standard library only).
# Output: prose.jsonl.zst, manpages.jsonl.zst, fortunes.jsonl.zst, packages.txt, README.md;
# byte-identical for the same package versions (recorded in packages.txt).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
OUT=""
INSTALL=1
for a in "$@"; do
  case "$a" in
    --no-install) INSTALL=0 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    -*) echo "unknown option $a" >&2; exit 2 ;;
    *) [ -z "$OUT" ] || { echo "only one OUT_DIR" >&2; exit 2; }; OUT=$a ;;
  esac
done
OUT=${OUT:-$ROOT/SampleData}

PKGS="bible-kjv bible-kjv-text gnu-standards
 manpages manpages-de manpages-fr manpages-es manpages-it manpages-pl manpages-ru manpages-nl
 manpages-pt-br manpages-ja manpages-zh
 fortunes-min fortunes fortunes-de fortunes-es fortunes-it fortunes-ru fortunes-pl fortunes-cs
 fortunes-br fortunes-zh
 man-db groff-base zstd"

missing=()
for p in $PKGS; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
command -v python3 >/dev/null || missing+=(python3)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$INSTALL" = 1 ] && [ "$(id -u)" = 0 ]; then
    echo "installing: ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  else
    echo "missing Debian packages: ${missing[*]}" >&2
    echo "install them with: sudo apt-get install --no-install-recommends ${missing[*]}" >&2
    echo "(or run this script as root)" >&2
    exit 1
  fi
fi

# Containers often drop /usr/share/man and /usr/share/doc at install time (dpkg path-exclude).
if ! [ -e /usr/share/man/de/man1 ] || ! [ -e /usr/share/doc/manpages-de/copyright ]; then
  echo "man pages or /usr/share/doc are missing although the packages are installed;" >&2
  echo "check /etc/dpkg/dpkg.cfg.d/ for path-exclude rules, then reinstall the packages" >&2
  exit 1
fi

mkdir -p "$OUT"
# Remove earlier outputs only, so a changed file set leaves nothing stale behind.
rm -f "$OUT"/*.jsonl.zst
PY=$(command -v python3)
start=$(date +%s)
"$PY" "$HERE/make_sample_data.py" "$OUT"
for f in "$OUT"/*.jsonl.zst; do zstd -q -t "$f"; done
echo "wrote $OUT in $(( $(date +%s) - start )) s:" >&2
ls -l "$OUT" >&2
