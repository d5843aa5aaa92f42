#!/usr/bin/env python3
"""Writes the training file of Sluice's default quality classifier (models/quality-default.bin).

Usage: scripts/quality_default_data.py OUTPUT.txt [--root DIR]

The default classifier follows the reference-set recipe of GPT-3 and DCLM: a fastText model
learns to tell text that looks like a trusted reference corpus (positives) from unfiltered web
text (negatives). Both sets come from SampleData/, so a fresh machine needs nothing else:

  positives, __label__hq: SampleData/prose.jsonl.zst, the reference-quality prose: the King
    James Bible (one document per chapter) and the GNU Coding Standards and GNU maintainers'
    manual (one document per Info node), as packaged by Debian. Each document's first 1,500
    characters (whole lines) are one example; documents under 200 characters (bare Info menus)
    are left out.

  negatives, __label__cc: SampleData/web.warc.gz, every HTML page with status 200 (Debian
    New Maintainers' Guide pages in 12 languages, Apache manual pages, and a page on a spam
    host) turned into text the naive way a raw crawl dump is: every visible text node,
    navigation bars, tables of contents, footers, links and code listings included, one line
    per block element, with no main-content extraction. Each page is cut into examples of about
    700 characters at line boundaries (shorter than the positives, so that the ~55 pages give
    about as many examples as the prose does).

The labels mirror DCLM's (__label__hq / __label__cc). The classifier therefore scores how
much a text reads like edited English reference prose rather than raw web-page text; it is a
small demonstration model (about 2,250 examples), not a substitute for a model trained on a
large reference set or on judge labels (`sluice annotate` + `sluice quality train`). Non-English
text and technical listings score low by construction.

Lines are written in the order of the SHA-256 of their text, so that the two classes are
interleaved (fastText reads the file in order) and the file is the same on every machine.
Only the Python standard library and the zstd command-line tool are needed.
"""

import argparse
import gzip
import hashlib
import html.parser
import json
import os
import re
import subprocess
import sys
import zlib

CHUNK_CHARS = 1500
WEB_CHUNK_CHARS = 700
MIN_CHARS = 200

BLOCK_TAGS = {
    "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "fieldset", "figcaption", "figure",
    "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p", "pre",
    "section", "table", "tbody", "td", "tfoot", "th", "thead", "title", "tr", "ul",
}
SKIP_TAGS = {"script", "style", "noscript", "template"}


class NaiveText(html.parser.HTMLParser):
    """Every visible text node, block elements on their own lines."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts = []
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in SKIP_TAGS:
            self.skip += 1
        elif tag in BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in SKIP_TAGS:
            self.skip = max(0, self.skip - 1)
        elif tag in BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)

    def text(self):
        lines = []
        for line in "".join(self.parts).split("\n"):
            line = re.sub(r"\s+", " ", line).strip()
            if line:
                lines.append(line)
        return lines


def dechunk(body):
    out = b""
    while body:
        line, _, rest = body.partition(b"\r\n")
        size = int(line.split(b";")[0].strip() or b"0", 16)
        if size == 0:
            break
        out += rest[:size]
        body = rest[size + 2:]
    return out


def warc_pages(path):
    data = gzip.decompress(open(path, "rb").read())
    pos = 0
    while True:
        start = data.find(b"WARC/1.", pos)
        if start < 0:
            return
        head_end = data.find(b"\r\n\r\n", start)
        head = data[start:head_end].decode("latin-1")
        length = int(re.search(r"Content-Length: (\d+)", head).group(1))
        block = data[head_end + 4:head_end + 4 + length]
        pos = head_end + 4 + length
        if not re.search(r"WARC-Type: response", head):
            continue
        uri = re.search(r"WARC-Target-URI: (\S+)", head).group(1)
        http, _, body = block.partition(b"\r\n\r\n")
        http = http.decode("latin-1")
        if not http.startswith("HTTP/1.1 200"):
            continue
        ctype = re.search(r"(?im)^Content-Type: *([^\r\n]+)", http)
        ctype = ctype.group(1) if ctype else "text/html"
        if "html" not in ctype.lower():
            continue
        if re.search(r"(?im)^Transfer-Encoding: *chunked", http):
            body = dechunk(body)
        enc = re.search(r"(?im)^Content-Encoding: *(\S+)", http)
        if enc and enc.group(1).lower() == "gzip":
            body = gzip.decompress(body)
        elif enc and enc.group(1).lower() == "deflate":
            try:
                body = zlib.decompress(body)
            except zlib.error:
                body = zlib.decompress(body, -15)
        if body[:1] == b"\x89":  # binary labelled as HTML
            continue
        charset = re.search(r"charset=([\w-]+)", ctype, re.I)
        if not charset:
            charset = re.search(rb"<meta[^>]+charset=[\"']?([\w-]+)", body[:4096], re.I)
            charset = charset and charset.group(1).decode("ascii")
        else:
            charset = charset.group(1)
        try:
            text = body.decode(charset or "utf-8", errors="replace")
        except LookupError:
            text = body.decode("utf-8", errors="replace")
        parser = NaiveText()
        parser.feed(text)
        parser.close()
        yield uri, parser.text()


def chunks(lines, size):
    out, cur, n = [], [], 0
    for line in lines:
        cur.append(line)
        n += len(line) + 1
        if n >= size:
            out.append("\n".join(cur))
            cur, n = [], 0
    if cur:
        out.append("\n".join(cur))
    return out


def first_chars(text, size):
    out, n = [], 0
    for line in text.strip().split("\n"):
        out.append(line)
        n += len(line) + 1
        if n >= size:
            break
    return "\n".join(out)


def example(label, text):
    # One line: fastText reads one example per line; every whitespace run becomes one space
    # (the quality_score stage's DCLM preparation gives the same tokens).
    return "__label__" + label + " " + " ".join(text.split())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("output")
    ap.add_argument("--root", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    args = ap.parse_args()
    sample = os.path.join(args.root, "SampleData")
    lines = []
    counts = {"hq": 0, "cc": 0}
    prose = subprocess.run(["zstd", "-dc", "--no-progress", os.path.join(sample, "prose.jsonl.zst")], check=True, capture_output=True).stdout
    for raw in prose.decode("utf-8").splitlines():
        doc = json.loads(raw)
        text = doc["text"]
        if len(text.strip()) < MIN_CHARS:
            continue
        lines.append(example("hq", first_chars(text, CHUNK_CHARS)))
        counts["hq"] += 1
    for uri, page in warc_pages(os.path.join(sample, "web.warc.gz")):
        for c in chunks(page, WEB_CHUNK_CHARS):
            if len(c) < MIN_CHARS:
                continue
            lines.append(example("cc", c))
            counts["cc"] += 1
    lines.sort(key=lambda l: hashlib.sha256(l.encode("utf-8")).hexdigest())
    tmp = args.output + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        for l in lines:
            f.write(l + "\n")
    os.replace(tmp, args.output)
    print(f"quality-default data: {counts['hq']} hq (prose.jsonl.zst), {counts['cc']} cc (web.warc.gz pages) -> {args.output}", file=sys.stderr)


if __name__ == "__main__":
    main()
