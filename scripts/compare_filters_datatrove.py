#!/usr/bin/env python3
"""Compare Sluice's heuristic filters with datatrove 0.10.x, document by document.

Three sub-commands:

  extract   WARC files -> plain-text JSONL with datatrove's own reader, Trafilatura extractor and
            (optionally) fastText language filter, so both tools see exactly the same texts.
  compare   runs each datatrove filter on every document *independently* (one filter at a time, on
            the original text) and runs Sluice's matching stage the same way (one `sluice run` per
            filter, rejected documents written with their reason), then reports per filter:
              keep/drop agreement, reason agreement on documents both dropped, text agreement of
              c4_quality's rewritten text, and the time each tool spent (MB/s of text).
            Disagreements go to WORK/disagreements/<filter>.jsonl for inspection.
  fixtures  writes a small fixture file (documents + datatrove's decisions for every filter) that
            the Swift tests replay without Python (Tests/Fixtures/filters/).
  words     writes strings with datatrove's English words for each (spaCy 3 via
            datatrove.utils.text.split_into_words): hand-picked hard cases plus whitespace-separated
            chunks drawn from the input that have punctuation or non-ASCII characters.
  bench     times datatrove's four filters (Gopher repetition, Gopher quality, C4 as FineWeb ran
            it, FineWeb) on the input, each alone and chained in FineWeb's order, and prints MB/s
            per CPU second (compare with `benchmarkHeuristicFilters` in Sluice).

Typical use (the venv comes from ../shared/tools/setup_datatrove_venv.sh; datatrove 0.10.1 + spaCy):

  V=/tmp/dt/venv/bin/python
  $V scripts/compare_filters_datatrove.py extract --warc CORPUS/warc-full --out /tmp/cmp/en.jsonl \
      --lid-model /tmp/dt/models/lid.176.ftz --languages en
  swift build -c release --product sluice
  $V scripts/compare_filters_datatrove.py compare --input /tmp/cmp/en.jsonl --work /tmp/cmp/work \
      --sluice .build/release/sluice
  $V scripts/compare_filters_datatrove.py fixtures --input /tmp/cmp/en.jsonl --out Tests/Fixtures/filters/x.jsonl \
      --limit 300 --max-chars 3000

The filters compared, with datatrove's defaults on both sides:
  gopher_quality     GopherQualityFilter()
  gopher_repetition  GopherRepetitionFilter()
  c4_quality         C4QualityFilter()                       (datatrove defaults, terminal punctuation on)
  c4_quality_fineweb C4QualityFilter(filter_no_terminal_punct=False)   (as FineWeb ran it)
  c4_paragraph       C4ParagraphFilter()
  fineweb_quality    FineWebQualityFilter()
Exit status: 0 when every filter meets the floors (>= 99.5% keep/drop, >= 99% reason agreement on
documents both tools dropped), 1 otherwise, 2 on bad usage.
"""
import argparse
import glob
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import time

KEEP_FLOOR = 99.5
REASON_FLOOR = 99.0

# name -> (datatrove constructor, Sluice stage YAML lines)
FILTERS = {
    "gopher_quality": ("GopherQualityFilter()", ["type: gopher_quality"]),
    "gopher_repetition": ("GopherRepetitionFilter()", ["type: gopher_repetition"]),
    "c4_quality": ("C4QualityFilter()", ["type: c4_quality"]),
    "c4_quality_fineweb": ("C4QualityFilter(filter_no_terminal_punct=False)",
                           ["type: c4_quality", "filter_no_terminal_punct: false"]),
    "c4_paragraph": ("C4ParagraphFilter()", ["type: c4_paragraph"]),
    "fineweb_quality": ("FineWebQualityFilter()", ["type: fineweb_quality"]),
}
# datatrove names C4ParagraphFilter's reason "< 3 paragraphs"; Sluice calls it too_few_paragraphs.
REASON_ALIASES = {"< 3 paragraphs": "too_few_paragraphs"}


# ----------------------------------------------------------------------------------------------
# JSONL helpers


def read_jsonl(path):
    if path.endswith(".zst"):
        import zstandard

        with open(path, "rb") as fh, zstandard.ZstdDecompressor().stream_reader(fh) as reader:
            for line in io.BufferedReader(reader, 1 << 20):
                if line.strip():
                    yield json.loads(line)
    elif path.endswith(".gz"):
        import gzip

        with gzip.open(path, "rt", encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    yield json.loads(line)
    else:
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    yield json.loads(line)


def write_jsonl(path, rows):
    with open(path, "w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")


def load_docs(paths, languages, limit):
    docs, seen = [], set()
    for p in paths:
        for d in read_jsonl(p):
            md = d.get("metadata") or {}
            lang = md.get("language", md.get("lang"))
            if languages and lang not in languages:
                continue
            did = str(d.get("id"))
            if did in seen:
                did = f"{did}#{len(docs)}"
            seen.add(did)
            text = d.get("text") or ""
            # Lone surrogates cannot be represented by a Swift String; drop them on both sides.
            text = text.encode("utf-8", "replace").decode("utf-8")
            meta = {"language": lang} if lang else {}
            if md.get("url"):
                meta["url"] = md["url"]
            docs.append({"id": did, "text": text, "metadata": meta})
            if limit and len(docs) >= limit:
                return docs
    return docs


# ----------------------------------------------------------------------------------------------
# extract


def cmd_extract(a):
    from datatrove.executor.local import LocalPipelineExecutor
    from datatrove.pipeline.extractors import Trafilatura
    from datatrove.pipeline.readers import WarcReader
    from datatrove.pipeline.writers.jsonl import JsonlWriter

    out = os.path.abspath(a.out)
    tmp = out + ".parts"
    shutil.rmtree(tmp, ignore_errors=True)
    steps = [WarcReader(os.path.abspath(a.warc), glob_pattern=a.glob),
             Trafilatura(favour_precision=True, timeout=a.extract_timeout)]
    if a.lid_model.lower() != "none":
        from datatrove.pipeline.filters import LanguageFilter
        from datatrove.utils.lid import FT176LID

        class LocalModel(FT176LID):  # point datatrove's fastText loader at a local model file
            MODEL_URL = os.path.abspath(a.lid_model)
            MODEL_SUBFOLDER = "ft176-local-compare"

        langs = None if a.languages in ("", "all") else a.languages.split(",")
        lf = LanguageFilter(languages=langs, language_threshold=0.65)
        lf.model = LocalModel(langs)
        steps.append(lf)
    steps.append(JsonlWriter(tmp, compression=None, output_filename="${rank}.jsonl"))
    LocalPipelineExecutor(pipeline=steps, tasks=a.tasks, workers=a.workers,
                          logging_dir=tmp + "-logs", start_method="forkserver").run()
    rows = []
    for p in sorted(glob.glob(os.path.join(tmp, "*.jsonl"))):
        for d in read_jsonl(p):
            md = d.get("metadata") or {}
            rows.append({"id": d["id"], "text": d["text"],
                         "metadata": {k: md[k] for k in ("language", "language_score", "url") if k in md}})
    rows.sort(key=lambda r: r["id"])
    write_jsonl(out, rows)
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.rmtree(tmp + "-logs", ignore_errors=True)
    print(f"extract: {len(rows)} documents -> {out}")
    return 0


# ----------------------------------------------------------------------------------------------
# datatrove side


def datatrove_filter(name):
    from datatrove.pipeline.filters import (C4QualityFilter, FineWebQualityFilter, GopherQualityFilter,
                                            GopherRepetitionFilter)
    from datatrove.pipeline.filters.c4_filters import C4ParagraphFilter

    env = {"GopherQualityFilter": GopherQualityFilter, "GopherRepetitionFilter": GopherRepetitionFilter,
           "C4QualityFilter": C4QualityFilter, "C4ParagraphFilter": C4ParagraphFilter,
           "FineWebQualityFilter": FineWebQualityFilter}
    return eval(FILTERS[name][0], env)


def run_datatrove(name, docs):
    """Returns ({id: (kept, reason, text_after)}, seconds)."""
    from datatrove.data import Document

    f = datatrove_filter(name)
    out = {}
    # warm the tokenizer so that spaCy's start-up is not timed
    f.filter(Document(text="Warm up the tokenizer. It loads lazily.", id="warm"))
    t0 = time.perf_counter()
    for d in docs:
        doc = Document(text=d["text"], id=d["id"], metadata=dict(d["metadata"]))
        try:
            r = f.filter(doc)
        except ZeroDivisionError:
            r = (False, "ZeroDivisionError")
        if isinstance(r, tuple):
            out[d["id"]] = (False, REASON_ALIASES.get(r[1], r[1]), None)
        elif r:
            out[d["id"]] = (True, "", doc.text)
        else:
            out[d["id"]] = (False, "", None)
    return out, time.perf_counter() - t0


# ----------------------------------------------------------------------------------------------
# Sluice side


def run_sluice(name, docs, sluice, work):
    d = os.path.join(work, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    inp = os.path.join(d, "input.jsonl")
    write_jsonl(inp, docs)
    stage = "\n".join(("  - " if i == 0 else "    ") + line for i, line in enumerate(FILTERS[name][1]))
    yaml = f"""name: compare-{name}
input:
  type: jsonl
  paths: ["{inp}"]
stages:
{stage}
output:
  path: {d}/out
  max_shard_bytes: 1GB
  rejected: true
run:
  tasks: 1
  workers: 1
"""
    pipeline = os.path.join(d, "pipeline.yaml")
    open(pipeline, "w").write(yaml)
    t0 = time.perf_counter()
    p = subprocess.run([sluice, "run", pipeline], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        sys.stderr.write(p.stdout + p.stderr)
        raise SystemExit(f"sluice run failed for {name} (exit {p.returncode})")
    out = {}
    for shard in sorted(glob.glob(os.path.join(d, "out", "*.jsonl.zst"))):
        for doc in read_jsonl(shard):
            out[doc["id"]] = (True, "", doc["text"])
    for rej in sorted(glob.glob(os.path.join(d, "out", "_rejected", "**", "*.jsonl*"), recursive=True)):
        for doc in read_jsonl(rej):
            md = doc.get("metadata") or {}
            reason = (md.get("_rejected") or {}).get("reason", "")  # Sluice's rejected output
            out[doc["id"]] = (False, reason, None)
    seconds = None
    for stats in glob.glob(os.path.join(d, "out", "_stats", "*.json")):
        s = json.load(open(stats))
        for st in s.get("stages", []):
            if st.get("seconds") is not None:
                seconds = (seconds or 0) + st["seconds"]
    return out, seconds if seconds is not None else wall


# ----------------------------------------------------------------------------------------------
# compare


def cmd_compare(a):
    languages = None if a.languages in ("", "all") else set(a.languages.split(","))
    docs = load_docs(a.input, languages, a.limit)
    if not docs:
        raise SystemExit("no documents")
    mb = sum(len(d["text"].encode("utf-8")) for d in docs) / 1e6
    names = list(FILTERS) if a.filters == "all" else a.filters.split(",")
    os.makedirs(os.path.join(a.work, "disagreements"), exist_ok=True)
    report = {"documents": len(docs), "text_mb": round(mb, 3), "filters": {}}
    ok = True
    print(f"{len(docs)} documents, {mb:.1f} MB of text")
    print(f"{'filter':20} {'dt kept':>8} {'sl kept':>8} {'keep/drop':>10} {'reason':>8} {'text':>8} "
          f"{'dt MB/s':>8} {'sl MB/s':>8}")
    fingerprint = hashlib.sha256("\n".join(d["id"] + "\0" + d["text"] for d in docs).encode("utf-8", "replace")).hexdigest()
    for name in names:
        # datatrove is slow: its decisions are cached per input under WORK/<filter>.datatrove.json
        cache = os.path.join(a.work, f"{name}.datatrove.json")
        cached = json.load(open(cache)) if os.path.exists(cache) else {}
        if cached.get("fingerprint") == fingerprint:
            dt = {k: tuple(v) for k, v in cached["decisions"].items()}
            dt_s = cached["seconds"]
        else:
            dt, dt_s = run_datatrove(name, docs)
            json.dump({"fingerprint": fingerprint, "seconds": dt_s, "decisions": dt}, open(cache, "w"))
        sl, sl_s = run_sluice(name, docs, a.sluice, a.work)
        agree = reason_agree = both_dropped = text_agree = both_kept = 0
        dis = []
        for d in docs:
            x, y = dt[d["id"]], sl.get(d["id"], (None, "missing", None))
            if x[0] == y[0]:
                agree += 1
                if not x[0]:
                    both_dropped += 1
                    if x[1] == y[1]:
                        reason_agree += 1
                    else:
                        dis.append({"id": d["id"], "datatrove": x[1], "sluice": y[1], "text": d["text"]})
                else:
                    both_kept += 1
                    if x[2] == y[2]:
                        text_agree += 1
                    else:
                        dis.append({"id": d["id"], "datatrove": "kept", "sluice": "kept, other text",
                                    "text": d["text"], "datatrove_text": x[2], "sluice_text": y[2]})
            else:
                dis.append({"id": d["id"], "datatrove": x[1] if not x[0] else "kept",
                            "sluice": y[1] if not y[0] else "kept", "text": d["text"]})
        write_jsonl(os.path.join(a.work, "disagreements", name + ".jsonl"), dis)
        n = len(docs)
        kd = 100.0 * agree / n
        rs = 100.0 * reason_agree / both_dropped if both_dropped else 100.0
        tx = 100.0 * text_agree / both_kept if both_kept else 100.0
        dt_kept = sum(1 for v in dt.values() if v[0])
        sl_kept = sum(1 for v in sl.values() if v[0])
        reasons = {}
        for v in dt.values():
            if not v[0]:
                reasons[v[1]] = reasons.get(v[1], 0) + 1
        report["filters"][name] = {
            "datatrove_kept": dt_kept, "sluice_kept": sl_kept, "keep_drop_agreement_pct": round(kd, 3),
            "reason_agreement_pct": round(rs, 3), "text_agreement_pct": round(tx, 3),
            "datatrove_seconds": round(dt_s, 3), "sluice_seconds": round(sl_s, 3),
            "datatrove_reasons": dict(sorted(reasons.items(), key=lambda kv: -kv[1])),
            "disagreements": len(dis)}
        print(f"{name:20} {dt_kept:8} {sl_kept:8} {kd:9.3f}% {rs:7.2f}% {tx:7.2f}% "
              f"{mb / dt_s:8.2f} {mb / sl_s if sl_s else float('inf'):8.1f}")
        if kd < KEEP_FLOOR or rs < REASON_FLOOR:
            ok = False
    json.dump(report, open(os.path.join(a.work, "report.json"), "w"), indent=1)
    print(f"report: {os.path.join(a.work, 'report.json')}; disagreements under {a.work}/disagreements/")
    return 0 if ok else 1


# ----------------------------------------------------------------------------------------------
# fixtures


def cmd_fixtures(a):
    languages = None if a.languages in ("", "all") else set(a.languages.split(","))
    docs = [d for d in load_docs(a.input, languages, 0) if len(d["text"]) <= a.max_chars]
    # keep every document some filter drops for an uncommon reason, then fill up evenly
    results = {name: run_datatrove(name, docs)[0] for name in FILTERS}
    counts = {}
    for name in FILTERS:
        for v in results[name].values():
            counts[(name, v[1])] = counts.get((name, v[1]), 0) + 1
    chosen, seen = [], set()

    def add(d):
        if d["id"] not in seen and len(chosen) < a.limit:
            seen.add(d["id"])
            chosen.append(d)

    for d in docs:  # rare outcomes first
        if any(counts[(name, results[name][d["id"]][1])] <= a.rare for name in FILTERS):
            add(d)
    step = max(1, len(docs) // max(1, a.limit))
    for d in docs[::step]:
        add(d)
    rows = []
    for d in sorted(chosen, key=lambda d: d["id"]):
        expect = {}
        for name in FILTERS:
            kept, reason, text = results[name][d["id"]]
            e = {"keep": kept}
            if not kept:
                e["reason"] = reason
            elif name.startswith("c4_quality") and text != d["text"]:
                e["text"] = text
            expect[name] = e
        rows.append({"id": d["id"], "text": d["text"], "metadata": d["metadata"], "datatrove": expect})
    write_jsonl(a.out, rows)
    print(f"fixtures: {len(rows)} documents -> {a.out} ({os.path.getsize(a.out) / 1e3:.0f} KB)")
    return 0


# ----------------------------------------------------------------------------------------------
# words

HARD_CASES = [
    "Hello, world! It's a test.", "don't can't won't I'm you're we've they'd", "DON'T Don't dont cannot gonna",
    "e.g. i.e. U.S. Mr. Dr. etc. a.m. p.m. Ph.D. N.Y.C.", "http://example.com/foo. www.Example.com me@x.org",
    "https://a.b.co.uk:8080/x?y=1#z 10.0.0.1 192.168.1.1 8.8.8.8 1.2.3.4:80/x 127.0.0.1:8080",
    "5km 10MB 3.14 $5 US$5 5$ 100% 50\u00b0C. 2x3 1st 2nd 10am 10a.m. 3pm", "hello.World foo,bar 10-20 a-b a--b a---b a~b",
    "...hi wait\u2026\u2026 dots... x...y x\u2026y", "'em ''em 'cause John's JOHN'S it's' (a). [1] {x} <tag>",
    "a/b a:b a=b a<b 1/2 x^2 3*4 5+6 +5 +a", "C++ c# F# .NET node.js", ":) :-) ;) :P <3 (: ): word:) ^_^ o.O",
    "\u201cQuoted\u201d \u2018single\u2019 \u00abguillemets\u00bb", "na\u00efve caf\u00e9 r\u00e9sum\u00e9", "emoji \U0001F600\U0001F44D \u263a \u2605",
    "a.b.c A.B.C a.B ab.Cd abc.De", "foo\u2014bar foo\u2013bar foo - bar", "(etc. (Mr. (e.g. (dont) (don't) 'tis (I. (AB. (ab.",
    "''''foobar'''' '''''''''' x'' ''x", "1,000,000 1.000,50 12:30 12:30pm 2023-01-01 (555) 555-1234",
    "a->b f(x)=y arr[0] obj.method() a,b,c 1,2,3 a;b a:b:c !!! ??? ?! ``hello''",
    "tel:+1-555-0100 $1,000.00 \u20ac50 \u00a33.50 5'10\" 6\u20322\u2033", "a\tb\nc  d\u00a0e\u3000f  double  spaces ",
    "I.B.M.'s x.org/a,b example.com. Example.COM localhost:8080 mailto:x@y.com ftp://ftp.x.org/pub",
]


def cmd_words(a):
    import random

    from datatrove.utils.text import split_into_words

    chunks = set()
    for d in load_docs(a.input, None, 0):
        for c in d["text"].split():
            if any(not ch.isalnum() for ch in c) or not c.isascii():
                chunks.add(c)
    rng = random.Random(a.seed)
    pool = sorted(chunks)
    picked = rng.sample(pool, min(a.limit, len(pool)))
    rows = [{"text": t, "words": split_into_words(t)} for t in HARD_CASES + sorted(picked)]
    write_jsonl(a.out, rows)
    print(f"words: {len(rows)} strings -> {a.out} ({os.path.getsize(a.out) / 1e3:.0f} KB)")
    return 0


# ----------------------------------------------------------------------------------------------
# bench


def cmd_bench(a):
    from datatrove.data import Document

    docs = load_docs(a.input, None if a.languages in ("", "all") else set(a.languages.split(",")), a.limit)
    mb = sum(len(d["text"].encode("utf-8")) for d in docs) / 1e6
    names = ["gopher_repetition", "gopher_quality", "c4_quality_fineweb", "fineweb_quality"]
    filters = {n: datatrove_filter(n) for n in names}
    for f in filters.values():
        f.filter(Document(text="Warm up the tokenizer. It loads lazily.", id="warm"))
    print(f"datatrove {len(docs)} documents, {mb:.1f} MB of text, one process")
    each = 0.0
    for n in names:
        t0 = time.process_time()
        kept = sum(1 for d in docs if filters[n].filter(Document(text=d["text"], id=d["id"])) is True)
        t = time.process_time() - t0
        each += t
        print(f"  each  {n:20} {len(docs):7} -> {kept:7} docs {t:9.2f} s cpu {mb / t:8.3f} MB/s")
    chain = 0.0
    current = docs
    for n in names:
        t0 = time.process_time()
        nxt = []
        for d in current:
            doc = Document(text=d["text"], id=d["id"])
            if filters[n].filter(doc) is True:
                nxt.append({"id": d["id"], "text": doc.text})
        t = time.process_time() - t0
        chain += t
        print(f"  chain {n:20} {len(current):7} -> {len(nxt):7} docs {t:9.2f} s cpu")
        current = nxt
    print(f"  together: {mb / chain:.3f} MB/s (chain), {mb / each:.3f} MB/s (each on all)")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("extract")
    e.add_argument("--warc", required=True, help="folder of *.warc.gz")
    e.add_argument("--glob", default="*.warc.gz")
    e.add_argument("--out", required=True, help="output .jsonl")
    e.add_argument("--lid-model", default="none", help="fastText lid.176 model file, or none")
    e.add_argument("--languages", default="en", help="comma list to keep, or all")
    e.add_argument("--tasks", type=int, default=1)
    e.add_argument("--workers", type=int, default=1)
    e.add_argument("--extract-timeout", type=float, default=10.0)
    c = sub.add_parser("compare")
    c.add_argument("--input", required=True, nargs="+", help="JSONL files (.jsonl, .jsonl.gz, .jsonl.zst)")
    c.add_argument("--work", required=True, help="scratch folder (created)")
    c.add_argument("--sluice", required=True, help="path to the sluice executable")
    c.add_argument("--filters", default="all", help="comma list of: " + ",".join(FILTERS))
    c.add_argument("--languages", default="all", help="only documents whose metadata language is listed")
    c.add_argument("--limit", type=int, default=0)
    f = sub.add_parser("fixtures")
    f.add_argument("--input", required=True, nargs="+")
    f.add_argument("--out", required=True)
    f.add_argument("--languages", default="all")
    f.add_argument("--limit", type=int, default=300)
    f.add_argument("--max-chars", type=int, default=4000)
    f.add_argument("--rare", type=int, default=3, help="always keep documents with an outcome seen at most this often")
    w = sub.add_parser("words")
    w.add_argument("--input", required=True, nargs="+")
    w.add_argument("--out", required=True)
    w.add_argument("--limit", type=int, default=2000, help="chunks drawn from the input")
    w.add_argument("--seed", type=int, default=1)
    b = sub.add_parser("bench")
    b.add_argument("--input", required=True, nargs="+")
    b.add_argument("--languages", default="all")
    b.add_argument("--limit", type=int, default=0)
    a = ap.parse_args()
    return {"extract": cmd_extract, "compare": cmd_compare, "fixtures": cmd_fixtures, "words": cmd_words,
            "bench": cmd_bench}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
