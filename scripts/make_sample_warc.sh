#!/usr/bin/env bash
# Rebuilds SampleData/web.warc.gz: real Debian documentation pages in 12 languages and 9 charsets
# (Shift_JIS, EUC-JP, GBK, Big5, EUC-KR, windows-1251, KOI8-R, windows-1252, UTF-8), with
# chunked, gzip and deflate bodies, a 404, an image, a spam URL and Apache manual pages with
# navigation, one gzip member per record. See SampleData/WEB-README.md.
# Needs: python3, zstd, and the Debian packages named in scripts/make_web_fixtures.py (--install
# installs them).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
if [ "${1:-}" = "--install" ]; then
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends maint-guide maint-guide-ja \
    maint-guide-zh-cn maint-guide-zh-tw maint-guide-ru maint-guide-de maint-guide-fr maint-guide-es \
    maint-guide-it maint-guide-ca maint-guide-vi debian-faq apache2-doc debian-reference-en zstd
fi
python3 "$HERE/make_web_fixtures.py" sample "$ROOT/SampleData/web.warc.gz"
