#!/usr/bin/env python3
"""Extraction quality against trafilatura on real pages whose main content is known.

Pages and their known main content (from a WARC made by ../shared/tools/build_corpus.sh):
  * Sphinx documentation (docs.python.org, docs.djangoproject.com, www.sphinx-doc.org, Debian's
    developers-reference): the
    element with role="main" (the page's body, without the sidebars, related links, footer);
  * DocBook manuals (www.debian.org/doc/manuals/*, debian-handbook.info): the content between
    the navheader and navfooter blocks (div.navheader / div.navfooter removed);
  * the corpus's "boilerplate" pages: the real paragraphs inside <main> (the cookie banner,
    navigation, tag cloud, related posts and footer around them are boilerplate).
Both extractors get the same UTF-8 HTML (sluice's warc reader output). Scores are word-level
(lowercased tokens, multiset overlap): precision = kept true words / words output, recall =
kept true words / true words, averaged over pages (F1 per page, then averaged).

Usage: VENV/bin/python scripts/eval_web_extraction.py SLUICE_BINARY WARC_FILE... > report
Needs trafilatura and lxml (the datatrove venv has both).
"""
import json
import os
import re
import subprocess
import sys
import tempfile
from collections import Counter

import lxml.html
import trafilatura

TOKEN = re.compile(r"\w+", re.U)


def words(t):
    return Counter(w.lower() for w in TOKEN.findall(t or ""))


def prf(out, truth):
    o, g = words(out), words(truth)
    inter = sum((o & g).values())
    p = inter / max(1, sum(o.values()))
    r = inter / max(1, sum(g.values()))
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def text_of(el):
    for bad in el.xpath(".//script|.//style|.//a[contains(@class,'headerlink')]"):
        bad.drop_tree()
    return " ".join(el.text_content().split())


def truth_for(url, html):
    try:
        doc = lxml.html.fromstring(html)
    except Exception:
        return None, None
    m = doc.xpath("//*[@role='main']")
    if m and (any(h in url for h in ("docs.python.org", "docs.djangoproject.com", "www.sphinx-doc.org"))
              or "/developers-reference/" in url):
        return "sphinx", text_of(m[0])
    if "/doc/manuals/" in url or "debian-handbook.info" in url:
        for bad in doc.xpath("//div[contains(@class,'navheader')]|//div[contains(@class,'navfooter')]"):
            bad.drop_tree()
        b = doc.xpath("//body")
        return ("docbook", text_of(b[0])) if b else (None, None)
    if ".example.com/" in url and url.startswith("https://blog-"):
        ps = doc.xpath("//main/p")
        t = " ".join(text_of(p) for p in ps)
        return ("boilerplate", t) if t.strip() else (None, None)
    return None, None


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    binary, warcs = sys.argv[1], sys.argv[2:]
    tmp = tempfile.mkdtemp()
    def run(stages, name):
        y = os.path.join(tmp, name + ".yaml")
        with open(y, "w") as f:
            f.write("name: %s\ninput:\n  type: warc\n  paths: %s\nstages:%s\noutput:\n  path: %s/%s\n"
                    "  compression_level: 1\nrun:\n  workers: 1\n" % (name, json.dumps([os.path.abspath(w) for w in warcs]),
                                                                  stages, tmp, name))
        subprocess.run([binary, "run", y], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        out = subprocess.run([binary, "inspect", f"{tmp}/{name}", "--json", "--limit", "1000000"], check=True,
                             stdout=subprocess.PIPE).stdout.decode()
        return {d["id"]: d for d in map(json.loads, out.splitlines())}
    raw = run(" []", "raw")
    ext = run("\n  - type: html_extract", "ext")
    rows = []
    for id_, d in raw.items():
        url = d["metadata"]["url"]
        kind, truth = truth_for(url, d["text"])
        if not kind or len(words(truth)) < 20:
            continue
        s_text = ext.get(id_, {}).get("text", "")
        t_prec = trafilatura.extract(d["text"], favor_precision=True, include_comments=False) or ""
        t_def = trafilatura.extract(d["text"], include_comments=False) or ""
        rows.append((kind, prf(s_text, truth), prf(t_prec, truth), prf(t_def, truth)))
    def avg(rs, k):
        n = len(rs)
        return [round(sum(r[k][i] for r in rs) / n, 3) for i in range(3)] if n else None
    kinds = sorted(set(r[0] for r in rows))
    report = {"pages": len(rows)}
    for kind in kinds + ["all"]:
        rs = [r for r in rows if kind == "all" or r[0] == kind]
        report[kind] = {"pages": len(rs), "sluice P/R/F1": avg(rs, 1),
                        "trafilatura favor_precision P/R/F1": avg(rs, 2), "trafilatura default P/R/F1": avg(rs, 3)}
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
