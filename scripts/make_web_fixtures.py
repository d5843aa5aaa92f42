#!/usr/bin/env python3
"""Builds the WARC test fixtures (Tests/Fixtures/web/) and the sample WARC (SampleData/web.warc.gz)
from real HTML pages of Debian documentation packages, deterministically (fixed record ids, dates
and gzip mtime; the bytes depend only on the package versions, which are recorded).

Usage:
  python3 scripts/make_web_fixtures.py fixtures Tests/Fixtures/web
  python3 scripts/make_web_fixtures.py sample SampleData/web.warc.gz

Needs the Debian packages maint-guide maint-guide-{ja,zh-cn,zh-tw,ru,de,fr,es,it,ca,vi}
debian-faq (Korean pages) apache2-doc debian-reference-en and the zstd tool:
  apt-get install -y maint-guide maint-guide-ja maint-guide-zh-cn maint-guide-zh-tw maint-guide-ru \
      maint-guide-de maint-guide-fr maint-guide-es maint-guide-it maint-guide-ca maint-guide-vi \
      debian-faq apache2-doc debian-reference-en zstd
Only the Python standard library is used. The pages are DFSG-free documentation (see the
packages' copyright files); provenance is written next to the output.
"""
import gzip
import hashlib
import html as htmlmod
import json
import os
import re
import subprocess
import sys
import uuid
import zlib

MG = "/usr/share/doc/maint-guide{}/html/{}"
PKGS = ["maint-guide", "maint-guide-ja", "maint-guide-zh-cn", "maint-guide-zh-tw", "maint-guide-ru",
        "maint-guide-de", "maint-guide-fr", "maint-guide-es", "maint-guide-it", "maint-guide-ca",
        "maint-guide-vi", "debian-faq", "apache2-doc", "debian-reference-en"]


def page(lang, name="upload"):
    if lang == "en":
        return MG.format("", f"{name}.en.html")
    return MG.format("-" + lang, f"{name}.{lang}.html")


KO = "/usr/share/doc/debian/FAQ/ko/contributing.ko.html"


class Ids:
    """Deterministic record ids and dates."""

    def __init__(self, seed):
        self.n = 0
        self.seed = seed

    def rid(self):
        self.n += 1
        h = hashlib.sha256(f"{self.seed}:{self.n}".encode()).digest()
        return "<urn:uuid:%s>" % uuid.UUID(bytes=h[:16], version=4)

    def date(self):
        return "2024-03-01T00:%02d:%02dZ" % ((self.n // 60) % 60, self.n % 60)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def title_of(html_text):
    m = re.search(r"<title>(.*?)</title>", html_text, re.I | re.S)
    return htmlmod.unescape(re.sub(r"\s+", " ", m.group(1)).strip()) if m else ""


def strip_meta_charset(html_text):
    return re.sub(r'<meta[^>]+charset=["\']?[\w-]+["\']?[^>]*>', "", html_text, flags=re.I)


def set_meta_charset(html_text, cs):
    h = strip_meta_charset(html_text)
    meta = f'<meta http-equiv="Content-Type" content="text/html; charset={cs}">'
    h2, n = re.subn(r"(<head[^>]*>)", r"\1" + meta, h, count=1, flags=re.I)
    return h2 if n else meta + h


def warc_record(ids, wtype, uri, block, content_type, extra=None):
    rid = ids.rid()
    h = [("WARC-Type", wtype), ("WARC-Record-ID", rid), ("WARC-Date", ids.date())]
    if uri:
        h.append(("WARC-Target-URI", uri))
    for k, v in (extra or []):
        h.append((k, v))
    h.append(("Content-Type", content_type))
    h.append(("Content-Length", str(len(block))))
    head = "WARC/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in h) + "\r\n"
    return rid, head.encode() + block + b"\r\n\r\n"


def http_block(status, reason, headers, body):
    head = f"HTTP/1.1 {status} {reason}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
    return head.encode() + body


def response(ids, url, body, ctype, status=200, reason="OK", extra_http=None, ident=None, with_request=True):
    out = []
    host = url.split("/")[2]
    if with_request:
        req = f"GET /{url.split('/', 3)[3] if url.count('/') >= 3 else ''} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
        out.append(warc_record(ids, "request", url, req, "application/http; msgtype=request")[1])
    hh = [("Date", "Fri, 01 Mar 2024 00:00:00 GMT"), ("Server", "Apache/2.4.57 (Debian)")]
    if ctype is not None:
        hh.append(("Content-Type", ctype))
    hh += extra_http or []
    if not any(k.lower() == "transfer-encoding" for k, _ in hh):
        hh.append(("Content-Length", str(len(body))))
    extra = [("WARC-Identified-Payload-Type", ident)] if ident else []
    rid, rec = warc_record(ids, "response", url, http_block(status, reason, hh, body),
                           "application/http; msgtype=response", extra)
    out.append(rec)
    return rid, out


def gz_member(b):
    return gzip.compress(b, compresslevel=6, mtime=0)


def zstd_frame(b):
    return subprocess.run(["zstd", "-q", "-c", "-3", "--no-check"], input=b, stdout=subprocess.PIPE, check=True).stdout


def chunked(b, size=4096):
    parts = [b"%x\r\n" % len(b[i:i + size]) + b[i:i + size] + b"\r\n" for i in range(0, len(b), size)]
    return b"".join(parts) + b"0\r\n\r\n"


def raw_deflate(b):
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return c.compress(b) + c.flush()


def text_of(html_text):
    """Rough visible text for WET records: tags removed, whitespace collapsed per line."""
    h = re.sub(r"(?is)<(script|style|head)[^>]*>.*?</\1>", " ", html_text)
    h = re.sub(r"(?i)</?(p|div|h\d|li|tr|br|pre|dt|dd)[^>]*>", "\n", h)
    h = htmlmod.unescape(re.sub(r"<[^>]+>", " ", h))
    lines = [re.sub(r"[ \t\r\f\v]+", " ", l).strip() for l in h.split("\n")]
    return "\n".join(l for l in lines if l).encode("utf-8")


def package_versions():
    try:
        out = subprocess.run(["dpkg-query", "-W", "-f", "${Package}\t${Version}\n"] + PKGS,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout
    except FileNotFoundError:
        out = ""
    return out


# ---------------------------------------------------------------------------------------------


def multilang_records(ids):
    """Response records of real pages in several languages and charsets, with expectations."""
    recs = []  # (list of record bytes, expectation or None)
    info = ("", "warcinfo")
    _, wi = warc_record(ids, "warcinfo", None, b"software: make_web_fixtures.py\r\nformat: WARC File Format 1.1\r\n",
                        "application/warc-fields")
    recs.append(([wi], None))

    def add(url, lang, src, charset, decl, body, ctype, expect_charset, **kw):
        rid, rs = response(ids, url, body, ctype, **{k: v for k, v in kw.items() if k in ("extra_http", "status", "reason", "ident")})
        t = title_of(read(src).decode("utf-8", "replace"))
        recs.append((rs, {"id": rid.strip("<>"), "url": url, "lang": lang, "source": src, "encoding": charset,
                          "declared": decl, "charset": expect_charset, "title": t, "outcome": "document"}))

    def enc(src, cs, meta):
        h = read(src).decode("utf-8")
        h = set_meta_charset(h, meta) if meta else strip_meta_charset(h)
        return h.encode(cs, errors="xmlcharrefreplace")

    base = "https://www.debian.org/doc/manuals/maint-guide/"
    add(base + "upload.en.html", "en", page("en"), "utf-8", "http", read(page("en")), "text/html; charset=utf-8", "utf-8")
    add(base + "upload.ja.html", "ja", page("ja"), "shift_jis", "http", enc(page("ja"), "cp932", "Shift_JIS"),
        "text/html; charset=Shift_JIS", "shift_jis")
    add(base + "index.ja.html", "ja", page("ja", "index"), "euc-jp", "meta", enc(page("ja", "index"), "euc_jp", "EUC-JP"),
        "text/html", "euc-jp")
    # gb2312 label with GBK-only characters appended: WHATWG reads gb2312 as GBK.
    zh = read(page("zh-cn")).decode("utf-8").replace("</body>", "<p>镕 堃 喆</p></body>")
    zh_bytes = set_meta_charset(zh, "gb2312").encode("gbk", errors="xmlcharrefreplace")
    add(base + "upload.zh-cn.html", "zh-cn", page("zh-cn"), "gbk", "http", zh_bytes, "text/html; charset=gb2312", "gbk")
    add(base + "upload.zh-tw.html", "zh-tw", page("zh-tw"), "big5", "none", enc(page("zh-tw"), "big5", None),
        "text/html", "big5")
    add("https://www.debian.org/doc/manuals/debian-faq/contributing.ko.html", "ko", KO, "euc-kr", "none",
        enc(KO, "euc_kr", None), "text/html", "euc-kr")
    add(base + "upload.ru.html", "ru", page("ru"), "windows-1251", "http", enc(page("ru"), "cp1251", "windows-1251"),
        "text/html; charset=windows-1251", "windows-1251")
    add(base + "index.ru.html", "ru", page("ru", "index"), "koi8-r", "none", enc(page("ru", "index"), "koi8_r", None),
        "text/html", "koi8-r")
    # iso-8859-1 label with windows-1252-only characters: WHATWG reads it as windows-1252.
    de = read(page("de")).decode("utf-8").replace("</body>", "<p>Preis: 10 € „Zitat“ – Ende</p></body>")
    add(base + "upload.de.html", "de", page("de"), "windows-1252", "http", set_meta_charset(de, "iso-8859-1").encode("cp1252", errors="xmlcharrefreplace"),
        "text/html; charset=ISO-8859-1", "windows-1252")
    add(base + "upload.fr.html", "fr", page("fr"), "windows-1252", "none", enc(page("fr"), "cp1252", None),
        "text/html", "windows-1252")
    add(base + "upload.zh-cn.bom.html", "zh-cn", page("zh-cn"), "utf-8", "bom", b"\xef\xbb\xbf" + read(page("zh-cn")),
        "text/html; charset=iso-8859-1", "utf-8")
    add(base + "upload.es.html", "es", page("es"), "utf-8", "http", chunked(gzip.compress(read(page("es")), mtime=0)),
        "text/html; charset=utf-8", "utf-8", extra_http=[("Content-Encoding", "gzip"), ("Transfer-Encoding", "chunked")])
    add(base + "upload.it.html", "it", page("it"), "utf-8", "meta", raw_deflate(read(page("it"))), None, "utf-8",
        extra_http=[("Content-Encoding", "deflate")], ident="text/html")
    add(base + "upload.vi.html", "vi", page("vi"), "utf-8", "meta", read(page("vi")), "text/html", "utf-8")
    # Not documents.
    rid, rs = response(ids, "https://www.debian.org/missing.html", b"<html><body><h1>Not Found</h1></body></html>",
                       "text/html", status=404, reason="Not Found")
    recs.append((rs, {"id": rid.strip("<>"), "outcome": "not_selected"}))
    png = read("/usr/share/doc/maint-guide/html/images/caution.png") if os.path.exists(
        "/usr/share/doc/maint-guide/html/images/caution.png") else b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    rid, rs = response(ids, "https://www.debian.org/caution.png", png, "image/png")
    recs.append((rs, {"id": rid.strip("<>"), "outcome": "not_selected"}))
    rid, rs = response(ids, "https://www.debian.org/fake.html", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "text/html")
    recs.append((rs, {"id": rid.strip("<>"), "outcome": "binary_content"}))
    # A resource record (no HTTP headers).
    ca = read(page("ca"))
    rid, rec = warc_record(ids, "resource", base + "upload.ca.html", ca, "text/html; charset=utf-8")
    recs.append(([rec], {"id": rid.strip("<>"), "url": base + "upload.ca.html", "lang": "ca", "source": page("ca"),
                         "encoding": "utf-8", "declared": "http", "charset": "utf-8",
                         "title": title_of(ca.decode("utf-8")), "outcome": "document"}))
    return recs


def write_fixtures(out):
    os.makedirs(out, exist_ok=True)
    ids = Ids("fixtures")
    recs = multilang_records(ids)
    flat = [r for rs, _ in recs for r in rs]
    expectations = [e for _, e in recs if e]
    with open(f"{out}/multilang.warc", "wb") as f:
        f.write(b"".join(flat))
    with open(f"{out}/multilang.warc.gz", "wb") as f:  # one gzip member per record
        f.write(b"".join(gz_member(r) for r in flat))
    with open(f"{out}/multilang-whole.warc.gz", "wb") as f:  # the whole file as one member
        f.write(gzip.compress(b"".join(flat), mtime=0))
    with open(f"{out}/multilang.warc.zst", "wb") as f:  # one zstd frame per record
        f.write(b"".join(zstd_frame(r) for r in flat))

    # Damaged files.
    ids = Ids("damaged")
    pages = [("en", page("en")), ("de", page("de")), ("fr", page("fr")), ("ja", page("ja")), ("ru", page("ru")),
             ("es", page("es")), ("it", page("it"))]
    base = "https://www.debian.org/doc/manuals/maint-guide/"
    rr = []
    for lang, src in pages:
        rid, rs = response(ids, base + os.path.basename(src), read(src), "text/html; charset=utf-8", with_request=False)
        rr.append((rid.strip("<>"), rs[0]))
    members = [gz_member(r) for _, r in rr]
    dmg = {"documents": [], "problems": 0, "lost": 0}
    parts = []
    parts.append(members[0]); dmg["documents"].append(rr[0][0])                      # A: fine
    parts.append(members[1][:len(members[1]) // 2]); dmg["lost"] += 1; dmg["problems"] += 1  # B: member cut in half
    parts.append(members[2]); dmg["documents"].append(rr[2][0])                      # C: fine
    parts.append(b"this is not a gzip member, just garbage between records\n" * 5); dmg["problems"] += 1
    bad = bytearray(members[3]); bad[len(bad) // 2] ^= 0xFF; bad[len(bad) // 2 + 1] ^= 0x55
    parts.append(bytes(bad)); dmg["lost"] += 1; dmg["problems"] += 1                  # D: corrupt member
    wrong = rr[4][1].replace(b"Content-Length: %d\r\n" % (len(rr[4][1]) - rr[4][1].index(b"\r\n\r\n") - 8),
                             b"Content-Length: %d\r\n" % (len(rr[4][1]) - rr[4][1].index(b"\r\n\r\n") - 8 + 5000), 1)
    assert wrong != rr[4][1]
    parts.append(gz_member(wrong)); dmg["lost"] += 1; dmg["problems"] += 1            # E: Content-Length too large
    parts.append(members[5]); dmg["documents"].append(rr[5][0])                      # F: fine
    parts.append(members[6][:len(members[6]) - 40]); dmg["lost"] += 1; dmg["problems"] += 1  # G: file ends inside it
    with open(f"{out}/damaged.warc.gz", "wb") as f:
        f.write(b"".join(parts))
    # The same damage in a plain file: garbage, a too-short Content-Length, a truncated end.
    plain = [rr[0][1], b"garbage garbage garbage\r\n" * 3, rr[2][1]]
    short = rr[5][1].replace(b"Content-Length: ", b"Content-Length: 1", 0)
    body_len = len(rr[5][1]) - rr[5][1].index(b"\r\n\r\n") - 8
    short = rr[5][1].replace(b"Content-Length: %d\r\n" % body_len, b"Content-Length: %d\r\n" % (body_len - 3000), 1)
    plain.append(short)
    plain.append(rr[6][1])
    plain.append(rr[1][1][:len(rr[1][1]) - 500])
    with open(f"{out}/damaged.warc", "wb") as f:
        f.write(b"".join(plain))
    dmg_plain = {"documents": [rr[0][0], rr[2][0], rr[6][0]], "lost": 2, "garbage": 1}

    # WET conversion records.
    ids = Ids("wet")
    wet = []
    _, wi = warc_record(ids, "warcinfo", None, b"software: make_web_fixtures.py\r\n", "application/warc-fields")
    wet.append(wi)
    wet_ids = []
    for lang in ["en", "ja", "ru", "zh-cn"]:
        text = text_of(read(page(lang)).decode("utf-8"))
        rid, rec = warc_record(ids, "conversion", base + f"upload.{lang}.html", text, "text/plain",
                               [("WARC-Refers-To", ids.rid()), ("WARC-Block-Digest", "sha1:" + hashlib.sha1(text).hexdigest())])
        wet.append(rec)
        wet_ids.append({"id": rid.strip("<>"), "lang": lang, "first_line": text.split(b"\n")[0].decode("utf-8")})
    with open(f"{out}/sample.warc.wet.gz", "wb") as f:
        f.write(b"".join(gz_member(r) for r in wet))

    # Undeclared legacy-charset pages for the charset detector.
    os.makedirs(f"{out}/pages", exist_ok=True)
    undeclared = []
    for lang, src, cs, name in [("ja", page("ja"), "cp932", "shift_jis"), ("ja", page("ja", "index"), "euc_jp", "euc-jp"),
                                ("zh-cn", page("zh-cn"), "gbk", "gbk"), ("zh-tw", page("zh-tw"), "big5", "big5"),
                                ("ko", KO, "euc_kr", "euc-kr"), ("ru", page("ru"), "cp1251", "windows-1251"),
                                ("ru", page("ru", "index"), "koi8_r", "koi8-r"), ("de", page("de"), "cp1252", "windows-1252"),
                                ("fr", page("fr"), "cp1252", "windows-1252")]:
        h = strip_meta_charset(read(src).decode("utf-8"))
        fn = f"{os.path.basename(src).rsplit('.', 1)[0]}.{name}.html"
        with open(f"{out}/pages/{fn}", "wb") as f:
            f.write(h.encode(cs, errors="xmlcharrefreplace"))
        undeclared.append({"file": "pages/" + fn, "charset": name, "title": title_of(h)})
    # A real page with navigation around its content, for extraction tests.
    with open(f"{out}/pages/upload.en.html", "wb") as f:
        f.write(read(page("en")))

    manifest = {"multilang": expectations, "damaged_gz": dmg, "damaged_plain": dmg_plain, "wet": wet_ids,
                "undeclared_pages": undeclared}
    with open(f"{out}/manifest.json", "w") as f:
        json.dump(manifest, f, ensure_ascii=False, indent=1)
    with open(f"{out}/PROVENANCE.md", "w") as f:
        f.write(PROVENANCE.format(versions=package_versions()))


PROVENANCE = """# Web fixtures: provenance

Built by `python3 scripts/make_web_fixtures.py fixtures Tests/Fixtures/web` from real HTML pages of
Debian documentation packages (DFSG-free; see /usr/share/doc/PACKAGE/copyright):

- maint-guide and its translations (Debian New Maintainers' Guide, Josip Rodin, Osamu Aoki and
  translators; GPL-2+/MIT-style): `upload.*.html`, `index.ja.html`, `index.ru.html`;
- debian-faq (The Debian GNU/Linux FAQ; GPL-2+): `ko/contributing.ko.html`.

Changes made on purpose: pages are re-encoded to legacy charsets (Shift_JIS, EUC-JP, GBK, Big5,
EUC-KR, windows-1251, KOI8-R, windows-1252) with their `<meta charset>` rewritten or removed; the
GBK page gets a paragraph with GBK-only characters (镕 堃 喆) and is labelled `gb2312`; the German
page gets a paragraph with windows-1252-only characters (€ „ “ –) and is labelled `ISO-8859-1`.
Damage in `damaged.warc.gz` / `damaged.warc` is injected as listed in `manifest.json` (a gzip
member cut in half, garbage between records, flipped bytes in a member, a Content-Length 5,000
bytes too large or 3,000 bytes too small, a file that ends inside its last record).

`manifest.json` holds the expectations the tests check (record ids, charsets, titles).

Package versions used:

```
{versions}```
"""


SAMPLE_README = """# {name}: a small WARC of real pages

`{name}` ({size} bytes, {records} records, one gzip member per record as Common Crawl writes
them) is what `Pipelines/web.yaml` reads. It is rebuilt by `scripts/make_sample_warc.sh`
(`python3 scripts/make_web_fixtures.py sample SampleData/{name}`), deterministically.

What is in it:

- Real pages of the Debian New Maintainers' Guide (package `maint-guide` and its translations)
  in English, Japanese, Chinese (simplified and traditional), Russian, German, French, Spanish,
  Italian, Catalan and Vietnamese, and one page of the Debian FAQ in Korean (`debian-faq`).
- Legacy charsets: Shift_JIS and GBK/gb2312 and windows-1251 and ISO-8859-1 declared in the
  HTTP header, EUC-JP declared only in `<meta>`, Big5, EUC-KR, KOI8-R and windows-1252 not
  declared at all (detected), a UTF-8 page with a byte-order mark under a wrong header.
- HTTP bodies sent chunked and gzip-encoded, and raw-deflate-encoded.
- Pages of the Apache HTTP Server manual (`apache2-doc`) with their navigation and sidebars.
- Noise: request and warcinfo records, a 404 page, a PNG image, binary data labelled
  text/html, and a real page under a spam URL (`free-camgirl-videos.example.com`).

Changes made on purpose are listed in `Tests/Fixtures/web/PROVENANCE.md` (the same generator).

Licences: the Debian documentation is free (DFSG): maint-guide is GPL-2+ / MIT-style (Josip
Rodin, Osamu Aoki and translators), the Debian FAQ GPL-2+, the Apache manual Apache-2.0. See
`/usr/share/doc/PACKAGE/copyright`.

Package versions used:

```
{versions}```
"""


def write_sample(out):
    ids = Ids("sample")
    recs = multilang_records(ids)
    flat = [r for rs, _ in recs for r in rs]
    # More real pages, UTF-8, in more languages (maint-guide chapters).
    base = "https://www.debian.org/doc/manuals/maint-guide/"
    extra = []
    for lang in ["en", "de", "fr", "es", "it", "ja", "ru", "zh-cn", "zh-tw", "vi", "ca"]:
        for name in ["first", "dother", "checkit"]:
            src = page(lang, name)
            if os.path.exists(src):
                _, rs = response(ids, base + os.path.basename(src), read(src), "text/html; charset=utf-8")
                extra += rs
    # A few boilerplate-heavy pages (Apache manual with its navigation and sidebars).
    for name in ["bind.html", "caching.html", "dso.html", "env.html"]:
        src = "/usr/share/doc/apache2-doc/manual/en/" + name
        if not os.path.exists(src):
            src = "/usr/share/doc/apache2-doc/manual/" + name
        if os.path.exists(src):
            _, rs = response(ids, "https://httpd.apache.org/docs/2.4/" + name, read(src), "text/html; charset=utf-8")
            extra += rs
    # A spam URL for the URL filter.
    _, rs = response(ids, "https://free-camgirl-videos.example.com/upload.en.html", read(page("en")), "text/html; charset=utf-8")
    extra += rs
    with open(out, "wb") as f:
        f.write(b"".join(gz_member(r) for r in flat + extra))
    with open(os.path.join(os.path.dirname(os.path.abspath(out)), "WEB-README.md"), "w") as f:
        f.write(SAMPLE_README.format(name=os.path.basename(out), size=os.path.getsize(out),
                                     records=len(flat) + len(extra), versions=package_versions()))
    print(f"{out}: {os.path.getsize(out)} bytes, {len(flat) + len(extra)} records")


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("fixtures", "sample"):
        sys.exit(__doc__)
    missing = [p for p in [page("en"), page("ja"), KO, page("zh-tw")] if not os.path.exists(p)]
    if missing:
        sys.exit("missing source pages (install the packages listed in --help): " + ", ".join(missing))
    if sys.argv[1] == "fixtures":
        write_fixtures(sys.argv[2])
    else:
        write_sample(sys.argv[2])


if __name__ == "__main__":
    main()
