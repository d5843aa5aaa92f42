#!/usr/bin/env python3
"""Build Sluice's small real sample corpus from installed Debian packages.

Usage: make_sample_data.py OUT_DIR
Normally run through scripts/make_sample_data.sh, which installs the packages first.

Writes OUT_DIR/{prose,manpages,fortunes}.jsonl.zst (Dolma schema, one JSON object per line:
id, text, source, added, created, metadata), OUT_DIR/packages.txt and OUT_DIR/README.md.
Everything is deterministic: the same package versions (and zstd/groff/man-db versions) give
byte-identical files. Standard library only; needs dpkg-query, man (man-db), bible (bible-kjv)
and zstd on PATH.
"""
import concurrent.futures
import datetime as dt
import gzip
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile

ADDED = "2026-11-29T00:00:00Z"  # fixed, so output is byte-stable
SALT = b"sluice-sample-v1"  # sampling seed (fortunes, man pages)

PROSE_PKGS = ["bible-kjv-text", "gnu-standards"]
MAN_PKGS = {  # package -> locale directories under /usr/share/man it contributes
    "manpages": [""], "manpages-de": ["de"], "manpages-fr": ["fr"], "manpages-es": ["es"],
    "manpages-it": ["it"], "manpages-pl": ["pl"], "manpages-ru": ["ru"], "manpages-nl": ["nl"],
    "manpages-pt-br": ["pt_BR"], "manpages-ja": ["ja"], "manpages-zh": ["zh_CN", "zh_TW"],
}
FORTUNE_PKGS = ["fortunes-min", "fortunes", "fortunes-de", "fortunes-es", "fortunes-it", "fortunes-ru",
                "fortunes-pl", "fortunes-cs", "fortunes-br", "fortunes-zh"]
# Tools whose versions change the output bytes (rendering, compression).
TOOL_PKGS = ["bible-kjv", "man-db", "groff-base", "zstd"]

MAN_PER_LOCALE = 45  # pages per locale, chosen by a salted hash of the page's file name
FORTUNE_CAP = {"en": 1300, "de": 450, "es": 350, "it": 350, "ru": 350, "zh": 350, "pt": 250,
               "pl": 200, "cs": 250, "sk": 60}

# Licence short names for packages whose debian/copyright is not machine-readable (DEP-5).
# Checked by hand against /usr/share/doc/PKG/copyright.
LICENSE_FALLBACK = {
    "bible-kjv-text": "public-domain",  # KJV text; the packaging legend also allows unrestricted use
    "gnu-standards": "GFDL-1.3+",  # no invariant sections
    "fortunes": "BSD-3-clause",  # fortune-mod "BSD copyright" (advertising clause deleted)
    "fortunes-min": "BSD-3-clause",
    "fortunes-it": "public-domain",  # "consider this package freeware (public domain)"
    "fortunes-br": "GPL-2+",
    "manpages-ja": "various-DFSG-free",  # same licences as the original English pages
    # Linux man-pages: per-page licences (GPL-2+, BSD-*, MIT, Linux-man-pages-copyleft, ...), given as
    # SPDX ids in the pages (metadata.page_license); debian/copyright's "Files: *" stanza says only GPL-2+.
    "manpages": "various-DFSG-free",
}
TOOL_USE = {"bible-kjv": "`bible` reader for the KJV data", "man-db": "`man -l` rendering",
            "groff-base": "`man -l` rendering", "zstd": "compression"}
LOCALE_LANG = {"": "en", "pt_BR": "pt", "zh_CN": "zh", "zh_TW": "zh"}


def die(msg):
    print("make_sample_data: " + msg, file=sys.stderr)
    sys.exit(1)


def pkg_version(pkg):
    r = subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg], capture_output=True, text=True)
    if r.returncode != 0 or not r.stdout:
        die(f"package {pkg} is not installed")
    return r.stdout


def pkg_files(pkg):
    r = subprocess.run(["dpkg-query", "-L", pkg], capture_output=True, text=True, check=True)
    return sorted(set(r.stdout.split("\n")) - {""})


def pkg_license(pkg):
    if pkg in LICENSE_FALLBACK:
        return LICENSE_FALLBACK[pkg]
    text = open(f"/usr/share/doc/{pkg}/copyright", encoding="utf-8", errors="replace").read()
    if text.startswith("Format:"):
        for para in re.split(r"\n\s*\n", text):
            files = re.search(r"^Files:\s*(.*(?:\n[ \t].*)*)", para, re.M)
            lic = re.search(r"^License:\s*(\S.*)$", para, re.M)
            if files and lic and "*" in files.group(1).split():
                return lic.group(1).strip()
    die(f"cannot find the licence of {pkg}; add it to LICENSE_FALLBACK")


def iso_mtime(path):
    t = dt.datetime.fromtimestamp(int(os.stat(path).st_mtime), tz=dt.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def salted(s):
    return hashlib.sha1(SALT + s.encode("utf-8")).hexdigest()


class Stats:
    def __init__(self):
        self.skipped = {}  # reason -> count

    def skip(self, reason):
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


def decode_strict(data, stats, what):
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        stats.skip(f"{what}: not valid UTF-8")
        return None


class Pkg:
    def __init__(self, name):
        self.name, self.version, self.license = name, pkg_version(name), pkg_license(name)

    def record(self, rid, text, source, path, created, language, **extra):
        meta = {"path": path, "package": self.name, "package_version": self.version,
                "license": self.license, "language": language}
        meta.update(extra)
        return {"id": f"{self.name}/{rid}", "text": text, "source": source, "added": ADDED,
                "created": created, "metadata": meta}


# --- prose: KJV Bible by chapter, GNU coding standards / maintainers' guide by info node -------------

def kjv(stats):
    pkg = Pkg("bible-kjv-text")
    data_path = "/usr/lib/bible.data"
    if data_path not in pkg_files(pkg.name):
        die("bible-kjv-text does not ship /usr/lib/bible.data")
    out = subprocess.run(["bible", "-l100000", "gen1:1-rev22:21"], capture_output=True, check=True,
                         env={"PATH": os.environ["PATH"], "LC_ALL": "C.UTF-8"}).stdout
    text = decode_strict(out, stats, "kjv")
    chapters = re.split(r"\n\n(?=\S[^\n]* \d+\n\n)", "\n" + text.strip("\n"))
    created = iso_mtime(data_path)
    books, recs = [], []
    for ch in chapters:
        ch = ch.strip("\n")
        head, _, body = ch.partition("\n\n")
        m = re.fullmatch(r"(.+) (\d+)", head)
        if not m or not body.strip():
            die(f"unexpected bible output near {head[:40]!r}")
        book, num = m.group(1), int(m.group(2))
        if not books or books[-1] != book:
            books.append(book)
        verses = [re.sub(r"^\s*\d+ ", "", v) for v in body.split("\n") if v.strip()]
        # Chapter heading, then one verse per line with its number, as printed Bibles do.
        body = "\n".join(f"{i} {v}" for i, v in enumerate(verses, 1))
        rid = f"kjv/{len(books):02d}-{book.replace(' ', '_')}/{num:03d}"
        recs.append(pkg.record(rid, f"{head}\n\n{body}", "kjv-bible", data_path, created, "en",
                               book=book, chapter=num, verses=len(verses)))
    if len(books) != 66 or len(recs) != 1189:
        die(f"expected 66 books / 1189 chapters, got {len(books)} / {len(recs)}")
    return [pkg], recs


def gnu_info(stats):
    pkg = Pkg("gnu-standards")
    recs = []
    for path in [p for p in pkg_files(pkg.name) if re.fullmatch(r"/usr/share/info/\w+\.info\.gz", p)]:
        manual = os.path.basename(path)[:-len(".info.gz")]
        text = decode_strict(gzip.open(path, "rb").read(), stats, "info")
        if text is None:
            continue
        created = iso_mtime(path)
        n = 0
        for chunk in text.split("\x1f\n")[1:]:
            first, _, body = chunk.partition("\n")
            m = re.match(r"File: [^,]+,\s+Node: ([^,]+)", first)
            if not m:  # tag table, local variables
                continue
            # Texinfo's hidden markers (index anchors, images) are not text: Info readers hide them.
            body = re.sub(r"\x00\x08\[(index|image[^\x00]*)\x00\x08\]", "", body).strip("\n")
            if not body.strip():
                stats.skip("info: empty node")
                continue
            n += 1
            recs.append(pkg.record(f"info/{manual}/{n:03d}", body, "gnu-manuals", path, created, "en",
                                   manual=manual, node=m.group(1)))
    return [pkg], recs


# --- man pages in 12 locales, rendered to plain text ----------------------------------------------

MAN_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LC_ALL": "C.UTF-8", "MANWIDTH": "80", "HOME": "/nonexistent"}


def render_man(path):
    try:  # a few CJK pages can send troff into an endless loop
        r = subprocess.run(["timeout", "30", "man", "-l", path], capture_output=True, env=MAN_ENV,
                           cwd="/", timeout=60)
    except subprocess.TimeoutExpired:
        return None, "timeout"
    if r.returncode != 0:
        return None, "timeout" if r.returncode == 124 else "man failed"
    return r.stdout, None


def roff_header(raw):
    """Copyright lines and SPDX licence id from the leading roff comments of a page."""
    lines = raw.decode("utf-8", errors="replace").split("\n")[:80]
    comments = [re.sub(r"^(\.|')\\\"\s?", "", l) for l in lines if re.match(r"^(\.|')\\\"", l)]
    spdx = [c.split(":", 1)[1].strip() for c in comments if c.startswith("SPDX-License-Identifier:")]
    cr = [c.strip() for c in comments if re.search(r"copyright\s*(\(c\)|©|\d)", c, re.I)]
    return (spdx[0] if spdx else None), cr[:6]


def so_target(path):
    head = gzip.open(path, "rb").read(400).lstrip()
    if head.startswith(b".so "):
        return head.split(b"\n")[0][4:].decode("utf-8", "replace").strip()
    return None


def manpages(stats):
    pkgs, jobs = [], []
    for name, locales in MAN_PKGS.items():
        pkg = Pkg(name)
        pkgs.append(pkg)
        files = [p for p in pkg_files(name) if p.endswith(".gz") and os.path.isfile(p) and not os.path.islink(p)]
        for loc in locales:
            base = "/usr/share/man/" + (loc + "/" if loc else "")
            mine = [p for p in files if re.fullmatch(re.escape(base) + r"man\w+/[^/]+", p)]
            mine.sort(key=lambda p: (salted(os.path.basename(p)), p))
            chosen = mine[:MAN_PER_LOCALE]
            for p in list(chosen):  # a chosen ".so" link brings its target: a natural exact duplicate
                target = so_target(p)
                if target and base + target + ".gz" in mine and base + target + ".gz" not in chosen:
                    chosen.append(base + target + ".gz")
            jobs += [(pkg, loc, p) for p in sorted(chosen)]
    workers = max(1, min(16, os.cpu_count() or 1))
    with concurrent.futures.ThreadPoolExecutor(workers) as ex:
        outs = list(ex.map(lambda j: render_man(j[2]), jobs))
    recs = []
    for (pkg, loc, path), (out, err) in zip(jobs, outs):
        if err:
            stats.skip("man: " + err)
            continue
        text = decode_strict(out, stats, "man")
        if text is None:
            continue
        text = re.sub(r".\x08", "", text)  # any overstrike left by col
        text = re.sub(r"\x1b\[[0-9;]*m", "", text)
        text = "\n".join(l.rstrip() for l in text.split("\n")).strip("\n")
        if not text.strip():
            stats.skip("man: empty output")
            continue
        rel = os.path.relpath(path, "/usr/share/man")
        page = os.path.basename(path)[:-3]
        raw = gzip.open(path, "rb").read()
        spdx, cr = roff_header(raw)
        extra = {"locale": loc or "C", "page": page, "section": path.split("/")[-2][3:]}
        if so_target(path):
            extra["so_link"] = so_target(path)
        if spdx:
            extra["page_license"] = spdx
        if cr:
            extra["copyright"] = cr
        recs.append(pkg.record("man/" + rel[:-3], text, "man-pages", path, iso_mtime(path),
                               LOCALE_LANG.get(loc, loc), **extra))
    return pkgs, recs


# --- fortunes in 10 languages, sampled by text hash (exact duplicates are kept together) ---------------

def fortune_lang(rel):
    parts = rel.split("/")
    if len(parts) == 1:
        return {"chinese": "zh", "tang300": "zh", "song100": "zh", "brasil": "pt"}.get(parts[0], "en")
    if parts[0] == "cs" and parts[1] == "klasik-sk":
        return "sk"
    return parts[0]


def fortunes(stats):
    pkgs, cands = [], []
    root = "/usr/share/games/fortunes/"
    for name in FORTUNE_PKGS:
        pkg = Pkg(name)
        pkgs.append(pkg)
        for path in pkg_files(name):
            if (not path.startswith(root) or not os.path.isfile(path) or os.path.islink(path)
                    or path.endswith((".dat", ".u8")) or "/off/" in path):
                continue
            rel = path[len(root):]
            text = decode_strict(open(path, "rb").read(), stats, "fortune file")
            if text is None:
                continue
            created, lang = iso_mtime(path), fortune_lang(rel)
            for i, t in enumerate(re.split(r"\n%\n", "\n" + text.replace("\r\n", "\n") + "\n")):
                t = t.strip("\n")
                if t.strip() in ("", "%"):
                    continue
                cands.append((lang, salted(t), f"{rel}/{i:05d}", pkg, t, path, created, rel, i))
    recs = []
    cands.sort(key=lambda c: (c[0], c[1], c[2]))
    taken = {}
    for lang, h, rid, pkg, t, path, created, rel, i in cands:
        if lang not in FORTUNE_CAP:
            die(f"no fortune cap for language {lang!r} ({rel})")
        if taken.get(lang, 0) >= FORTUNE_CAP[lang]:
            continue
        taken[lang] = taken.get(lang, 0) + 1
        recs.append(pkg.record(rid, t, "fortunes", path, created, lang, file=rel, index=i))
    return pkgs, recs


# --- output ---------------------------------------------------------------------------------------

def write_zst(records, out_path):
    records = sorted(records, key=lambda r: r["id"])
    ids = [r["id"] for r in records]
    if len(set(ids)) != len(ids):
        die(f"duplicate ids in {out_path}")
    with tempfile.NamedTemporaryFile("wb", dir=os.path.dirname(out_path), suffix=".jsonl", delete=False) as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False).encode("utf-8") + b"\n")
        tmp = f.name
    try:
        subprocess.run(["zstd", "-19", "-T1", "--no-progress", "-q", "-f", tmp, "-o", out_path], check=True)
    finally:
        os.unlink(tmp)
    os.chmod(out_path, 0o644)
    return records


def summarize(records):
    langs, texts = {}, {}
    for r in records:
        lg = r["metadata"]["language"]
        langs[lg] = langs.get(lg, 0) + 1
        texts[r["text"]] = texts.get(r["text"], 0) + 1
    dup = sum(n - 1 for n in texts.values() if n > 1)
    nbytes = [len(r["text"].encode()) for r in records]
    return {"docs": len(records), "text_bytes": sum(nbytes), "langs": dict(sorted(langs.items())),
            "exact_dups": dup, "short": sum(1 for b in nbytes if b < 100),
            "min": min(nbytes), "max": max(nbytes)}


README_HEAD = """\
# SampleData: a small real corpus for Sluice

Generated by `scripts/make_sample_data.sh` from Debian 12 (bookworm) packages; do not edit by hand.
Every `*.jsonl.zst` here is zstd-compressed JSON Lines in Dolma's document schema, one document a line:

```json
{{"id": "PACKAGE/...", "text": "...", "source": "kjv-bible|gnu-manuals|man-pages|fortunes",
 "added": "{added}", "created": "<mtime of the source file in the package, UTC>",
 "metadata": {{"path": "/usr/...", "package": "...", "package_version": "...", "license": "...",
              "language": "en", "...": "..."}}}}
```

Records are sorted by `id`; `added` is fixed so that the bytes are stable. `metadata.path` is the file the
text came from on a Debian system with the package installed.

## Files

| file | documents | compressed bytes | text bytes | languages (documents) | exact duplicate docs | docs < 100 bytes |
| --- | ---: | ---: | ---: | --- | ---: | ---: |
"""

README_BODY = """
- `prose.jsonl.zst`: clean reference prose. The King James Bible, one document per chapter (1,189
  chapters of 66 books, verse numbers kept, `metadata.book/chapter/verses`), read with the `bible`
  program from `/usr/lib/bible.data`; and the GNU Coding Standards and Information for GNU Maintainers,
  one document per Info node (`metadata.manual/node`; some nodes are only a short menu).
- `manpages.jsonl.zst`: technical text. {man_per_locale} man pages per locale (chosen by a salted hash
  of the file name, so the same command often appears in several languages) from the Linux man-pages
  project (English) and the manpages-l10n / JM / Chinese translation projects, rendered to plain
  UTF-8 text with `man -l` (man-db + groff, 80 columns, formatting stripped). Some English pages are
  `.so` links whose rendering is the target page (`metadata.so_link`): natural exact duplicates.
  `metadata.locale` is the man directory (`C` for English), `metadata.page_license` the page's own
  SPDX id and `metadata.copyright` its copyright lines where the source page has them.
- `fortunes.jsonl.zst`: short noisy text. Fortune cookies (quotes, jokes, proverbs, poems, ASCII
  art), sampled per language by a salted hash of the text, so copies of the same text are kept or
  dropped together: natural exact duplicates, many very short documents. The offensive sections
  (`off/`) are excluded. `metadata.file/index` give the cookie file and the cookie's position in it.
  The cookies are kept as shipped, noise included: ANSI colour escapes (`ESC[33m`) in most Chinese
  cookies, backspace overstrikes in some ASCII art, a few BEL and other control characters.

Skipped while building (not valid UTF-8, renderer failures): {skipped}.

## Provenance and licences

Package versions used are in `packages.txt` (data packages, then the tools whose versions change the
bytes). Each record carries its `package`, `package_version`, `path` and the package's licence.

| package | version | licence (`metadata.license`) | used for |
| --- | --- | --- | --- |
"""

README_TAIL = """
Licence notes, honestly stated:

- The King James Version text is in the public domain in most of the world (in the United Kingdom
  the Crown's letters patent still govern printing it); the `bible-kjv-text` packaging legend allows
  unrestricted use.
- The GNU documents are under the GNU Free Documentation License 1.3 or later, with no invariant
  sections (`/usr/share/doc/gnu-standards/copyright`).
- Man pages are under many different free licences. The Linux man-pages project (package `manpages`)
  uses per-page licences (GPL-1+/2+, BSD variants, MIT, `Linux-man-pages-copyleft`, ...; see
  `metadata.page_license`, the page's own SPDX line, which some translations also carry);
  the translations (manpages-l10n: GPL-3+; manpages-ja: the same licences as the original pages;
  manpages-zh: GFDL-1.2+) are derived from original pages that carry their own licences. Several of
  these licences ask that formatted versions without the roff source acknowledge the copyright and
  authors: the source page is named in `metadata.path` (in the Debian package at
  `package_version`), its copyright lines are in `metadata.copyright` where present, and the
  authoritative statements are in `/usr/share/doc/PACKAGE/copyright` and the page sources.
- Fortune files are collections of quotations under the licence of their packages (see each
  `/usr/share/doc/PACKAGE/copyright`); the quoted texts themselves come from many authors.

`metadata.license` is the short name from the package's `debian/copyright` (the `Files: *` stanza), or
a hand-checked summary for packages whose copyright file is not machine-readable. It describes the
package, not every individual text. All these packages are in Debian main (DFSG-free).

## Regenerating

```sh
sudo scripts/make_sample_data.sh            # installs missing packages, writes SampleData/
scripts/make_sample_data.sh /tmp/sample     # as a normal user once the packages are installed
```

The output is byte-identical for the same package versions (data packages and `man-db`,
`groff-base`, `bible-kjv`, `zstd`), as listed in `packages.txt`. Other Debian releases or package
versions give different bytes and possibly different counts.
"""


def main():
    if len(sys.argv) != 2:
        die("usage: make_sample_data.py OUT_DIR")
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    stats = Stats()
    files = {}
    pkgs_all = []

    p1, r1 = kjv(stats)
    p2, r2 = gnu_info(stats)
    files["prose"] = (r1 + r2, "Bible (KJV) chapters; GNU standards info nodes")
    pkgs_all += [(p, "prose") for p in p1 + p2]
    p3, r3 = manpages(stats)
    files["manpages"] = (r3, "")
    pkgs_all += [(p, "manpages") for p in p3]
    p4, r4 = fortunes(stats)
    files["fortunes"] = (r4, "")
    pkgs_all += [(p, "fortunes") for p in p4]

    rows = []
    for name, (recs, _) in files.items():
        path = os.path.join(out, name + ".jsonl.zst")
        write_zst(recs, path)
        s = summarize(recs)
        langs = ", ".join(f"{k} ({v})" for k, v in s["langs"].items())
        rows.append(f"| `{name}.jsonl.zst` | {s['docs']:,} | {os.path.getsize(path):,} | {s['text_bytes']:,} "
                    f"| {langs} | {s['exact_dups']} | {s['short']} |")
        print(f"{name}.jsonl.zst: {s['docs']} docs, {os.path.getsize(path)} bytes compressed, "
              f"{s['text_bytes']} text bytes, langs {s['langs']}, exact dups {s['exact_dups']}, "
              f"<100 B {s['short']}, text bytes min {s['min']} max {s['max']}", file=sys.stderr)

    with open(os.path.join(out, "packages.txt"), "w") as f:
        for p, _ in pkgs_all:
            f.write(f"{p.name}={p.version}\n")
        for t in TOOL_PKGS:
            f.write(f"{t}={pkg_version(t)}\n")

    skipped = ", ".join(f"{k}: {v}" for k, v in sorted(stats.skipped.items())) or "nothing"
    print("skipped: " + skipped, file=sys.stderr)
    with open(os.path.join(out, "README.md"), "w") as f:
        f.write(README_HEAD.format(added=ADDED))
        f.write("\n".join(rows) + "\n")
        f.write(README_BODY.format(man_per_locale=MAN_PER_LOCALE, skipped=skipped))
        for p, use in pkgs_all:
            f.write(f"| {p.name} | {p.version} | {p.license} | `{use}.jsonl.zst` |\n")
        for t in TOOL_PKGS:
            f.write(f"| {t} | {pkg_version(t)} | (tool, not in the data) | {TOOL_USE[t]} |\n")
        f.write(README_TAIL)


if __name__ == "__main__":
    main()
