#!/usr/bin/env python3
"""Sluice's MinHash dedup side by side with datatrove's, and the tables that make them agree.

Run it with the Python of a venv that has datatrove 0.10.1 and spaCy (see
scripts/compare_minhash_datatrove.sh, which creates one under /tmp).

  datatrove --input DIR --out OUT_DT [--hash xxhash|sha1] [--tasks N] [--workers N]
            runs datatrove's four MinHash steps (signatures, buckets, cluster, filter) at its
            defaults (5-grams, 14 x 8, seed 1, 64-bit precision) with the chosen shingle hash:
            xxhash (datatrove 0.10.1's default) or sha1 (FineWeb's). Kept documents go to
            OUT_DT/output, removed ones to OUT_DT/removed.
  compare   --input DIR --datatrove OUT_DT --sluice OUT_SL [--json]
            reads every *.jsonl* document of DIR (by id), the documents datatrove kept
            (OUT_DT/output) and the documents Sluice kept (shards in OUT_SL), and reports how
            many documents each removed and on how many documents the two agree.
  tables    OUT.swift
            writes Sources/SluiceDedup/DatatroveTables.swift: datatrove's punctuation set,
            Python's lower() and NFD (with marks removed), the regex module's decimal digits,
            and spaCy's English affixes, units and tokenizer exceptions, as compact strings.
  fixtures  OUT.swift INPUT.jsonl.zst...
            writes Tests/SluiceDedupTests/DatatroveFixtures.swift: texts with datatrove's
            simplified text, words and MinHash signature, for the agreement tests.

The tables are data read from datatrove and spaCy (character classes and word lists), so that
Sluice's own normaliser and tokenizer reproduce their behaviour; no code is copied.
"""
import argparse
import glob
import io
import json
import os
import sys
import unicodedata


def read_jsonl(path):
    import zstandard

    with open(path, "rb") as f:
        if path.endswith(".zst"):
            data = zstandard.ZstdDecompressor().stream_reader(f).read()
        elif path.endswith(".gz"):
            import gzip

            data = gzip.decompress(f.read())
        else:
            data = f.read()
    for line in data.decode("utf-8").splitlines():
        if line.strip():
            yield json.loads(line)


def keys_in(folder, pattern):
    """Documents as (id, hash of text) keys, counted: ids need not be unique, and two documents
    with the same id and text are interchangeable."""
    import collections
    import hashlib

    keys = collections.Counter()
    for p in sorted(glob.glob(os.path.join(folder, pattern))):
        for d in read_jsonl(p):
            keys[(d["id"], hashlib.blake2b(d["text"].encode(), digest_size=8).hexdigest())] += 1
    return keys


def cmd_datatrove(a):
    from datatrove.executor.local import LocalPipelineExecutor
    from datatrove.pipeline.dedup import MinhashDedupCluster, MinhashDedupFilter, MinhashDedupSignature
    from datatrove.pipeline.dedup.minhash import MinhashConfig, MinhashDedupBuckets
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers.jsonl import JsonlWriter
    from datatrove.utils.hashing import HashConfig

    out = os.path.abspath(a.out)
    config = MinhashConfig(hash_config=HashConfig(precision=64, hash_fc=a.hash))
    source = os.path.abspath(a.input)

    def reader():
        return JsonlReader(source, glob_pattern="*.jsonl*")

    def run(name, pipeline, tasks, workers):
        LocalPipelineExecutor(
            pipeline=pipeline, tasks=tasks, workers=workers, logging_dir=f"{out}/logs/{name}", start_method="forkserver"
        ).run()

    run("1_signatures", [reader(), MinhashDedupSignature(f"{out}/signatures", config=config)], a.tasks, a.workers)
    run("2_buckets", [MinhashDedupBuckets(f"{out}/signatures", f"{out}/buckets", config=config)], config.num_buckets, a.workers)
    run("3_cluster", [MinhashDedupCluster(f"{out}/buckets", f"{out}/remove_ids", config=config)], 1, 1)
    run(
        "4_filter",
        [
            reader(),
            MinhashDedupFilter(f"{out}/remove_ids", exclusion_writer=JsonlWriter(f"{out}/removed", compression="zstd")),
            JsonlWriter(f"{out}/output", compression="zstd"),
        ],
        a.tasks,
        a.workers,
    )


def cmd_compare(a):
    inputs = keys_in(a.input, "*.jsonl*")
    dt_kept = keys_in(os.path.join(a.datatrove, "output"), "*.jsonl*")
    sl_kept = keys_in(a.sluice, "[0-9]*_[0-9]*.jsonl.zst")
    dt_removed = inputs - dt_kept
    sl_removed = inputs - sl_kept
    both = dt_removed & sl_removed
    only_dt = dt_removed - sl_removed
    only_sl = sl_removed - dt_removed
    total = sum(inputs.values())
    n_dt, n_sl, n_both = sum(dt_removed.values()), sum(sl_removed.values()), sum(both.values())
    n_only_dt, n_only_sl = sum(only_dt.values()), sum(only_sl.values())
    result = {
        "documents": total,
        "datatrove_removed": n_dt,
        "sluice_removed": n_sl,
        "removed_by_both": n_both,
        "removed_only_by_datatrove": n_only_dt,
        "removed_only_by_sluice": n_only_sl,
        "agreement": (total - n_only_dt - n_only_sl) / max(1, total),
        "removed_set_jaccard": n_both / max(1, n_dt + n_sl - n_both),
        "examples_only_datatrove": sorted(k[0] for k in only_dt)[:10],
        "examples_only_sluice": sorted(k[0] for k in only_sl)[:10],
    }
    if a.json:
        print(json.dumps(result, indent=2))
    else:
        for k, v in result.items():
            print(f"{k}: {v}")


# --- tables -----------------------------------------------------------------------------------


def ranges(cps):
    """Sorted code points as 'XXXX-YYYY,ZZZZ' hex ranges."""
    cps = sorted(set(cps))
    out = []
    i = 0
    while i < len(cps):
        j = i
        while j + 1 < len(cps) and cps[j + 1] == cps[j] + 1:
            j += 1
        out.append(f"{cps[i]:X}" if i == j else f"{cps[i]:X}-{cps[j]:X}")
        i = j + 1
    return ",".join(out)


def hexs(s):
    return " ".join(f"{ord(c):X}" for c in s)


def chunked_literal(name, s, width=110):
    parts = [s[i : i + width] for i in range(0, len(s), width)] or [""]
    body = "\n".join(f"        {swift_literal(p)}," for p in parts)
    return f"    static let {name}: String = [\n{body}\n    ].joined()\n"


def cmd_tables(a):
    import regex
    import spacy
    from datatrove.utils.text import PUNCTUATION
    import datatrove

    nlp = spacy.blank("en")
    tok = nlp.tokenizer
    punct = set(PUNCTUATION)
    scalars = [cp for cp in range(0x110000) if not (0xD800 <= cp < 0xE000)]

    whitespace = [cp for cp in scalars if chr(cp).isspace()]
    digits = [cp for cp in scalars if regex.fullmatch(r"\p{Nd}", chr(cp))]
    lower = []
    for cp in scalars:
        c = chr(cp)
        if cp == 0x3A3:
            continue  # capital sigma: context dependent, handled in code
        if c.lower() != c:
            lower.append(f"{cp:X}:{hexs(c.lower())}")
    nfd = []
    for cp in scalars:
        if 0xAC00 <= cp <= 0xD7A3:
            continue  # Hangul syllables: decomposed algorithmically
        c = chr(cp)
        d = "".join(x for x in unicodedata.normalize("NFD", c) if unicodedata.category(x) != "Mn")
        if d != c:
            nfd.append(f"{cp:X}:{hexs(d)}")
    # Affixes for every character that can reach the tokenizer: anything lowercase, including
    # punctuation that NFD brings back (U+2260 NOT EQUAL TO decomposes to "=" and a mark).
    pre, suf, inf = [], [], []
    for cp in scalars:
        c = chr(cp)
        if c.lower() != c or c.isspace():
            continue
        m = tok.prefix_search(c + "a")
        if m and m.end() == 1:
            pre.append(cp)
        m = tok.suffix_search("a" + c)
        if m and m.start() == 1:
            suf.append(cp)
        ms = list(tok.infix_finditer("\x01" + c + "\x01"))  # between two non-letters: context-free infixes
        if ms and ms[0].start() == 1 and ms[0].end() == 2:
            inf.append(cp)
    from spacy.lang.char_classes import CURRENCY, UNITS

    after_digit = sorted(set(x.replace("\\", "") for x in (UNITS + "|" + CURRENCY).split("|")))
    after_digit = [u for u in after_digit if u]
    specials = []
    for k, v in sorted(tok.rules.items()):
        if not k or any(ch in punct or ch.isspace() for ch in k) or k.lower() != k:
            continue
        sub = [t.get(65) for t in v]
        if any(not s for s in sub):
            continue
        specials.append(k + "=" + " ".join(sub))
    out = io.StringIO()
    out.write(
        "// Generated by `scripts/compare_minhash_datatrove.py tables` from datatrove "
        f"{datatrove.__version__ if hasattr(datatrove, '__version__') else '0.10.1'}, spaCy {spacy.__version__}, "
        f"Python {sys.version.split()[0]} (Unicode {unicodedata.unidata_version}).\n"
        "// Do not edit: regenerate instead. Character classes and word lists only, read from the\n"
        "// peer's configuration so that Sluice's own normaliser reproduces its behaviour.\n\n"
        "/// Data that makes ``DatatroveText`` agree with datatrove's `simplify_text` and spaCy's English\n"
        "/// word tokenizer. Ranges are hex code points (`41-5A,61`); mappings are `FROM:TO TO…`.\n"
        "enum DatatroveTables {\n"
    )
    out.write(chunked_literal("punctuation", ranges(ord(c) for c in PUNCTUATION)))
    out.write(chunked_literal("whitespace", ranges(whitespace)))
    out.write(chunked_literal("decimalDigits", ranges(digits)))
    out.write(chunked_literal("lowercase", ";".join(lower)))
    out.write(chunked_literal("nfdWithoutMarks", ";".join(nfd)))
    out.write(chunked_literal("spacyPrefixes", ranges(pre)))
    out.write(chunked_literal("spacySuffixes", ranges(suf)))
    out.write(chunked_literal("spacyInfixes", ranges(inf)))
    out.write(chunked_literal("spacyAfterDigitSuffixes", ";".join(after_digit)))
    out.write(chunked_literal("spacySpecialCases", ";".join(specials)))
    out.write("}\n")
    with open(a.output, "w") as f:
        f.write(out.getvalue())
    print(f"wrote {a.output}: {len(lower)} lowercase, {len(nfd)} nfd, {len(pre)} prefixes, {len(specials)} special cases")


# --- fixtures ---------------------------------------------------------------------------------

HANDMADE = [
    "Hello, World! It's 10km to the café — isn't it? Cannot stop; gonna go.",
    "Prices: £10, €20.50 and ¥3,000.75; 100MB of data at 5m/s in 3.5.7 steps.",
    "ΟΔΟΣ ΣΟΦΟΣ Σ ΑΣ. Ὀδυσσεύς, naïve façade, İstanbul, ǅemal, Å ring.",
    "한국어 텍스트 정규화 테스트 입니다 그리고 더 많은 단어들",
    "‘quoted’ «guillemets» ¿qué? ¡sí! © 2024 ® ™ ♥♥♥ ─── box │ drawing ┌─┐",
    "tabs\tand\nnewlines\r\nand\u00a0nbsp\u2003em\u3000ideographic\u000bvt\u001cfs",
    "numbers ١٢٣ ٤٫٥ ५६ 12,34,56 1.2.3.4 0.5% 3rd 21st 1st 10am 7pm 2x4",
    "dont wont cant shouldnt im ive youre theyre lets whats hes shes its ill wed",
    "combining e\u0301 a\u0300 o\u0308 standalone \u0301 mark  and  spaces",
    "ﬁligree ﬂower ligatures Ⅳ ① ½ ² x² km² 5km² 3µm 10кг 2мб",
    "emoji 😀🎉 test 👍🏽 flags 🇫🇷 keycap 1️⃣ zwj 👨‍👩‍👧",
    "P(B)≠0 when a≠b and x≮y, or ≯ alone; Greek ano teleia · and ; question",
    "Bayes' theorem: P(A|B) = ───── over P(B) ≠ 0 (贝叶斯定理 其中 A 和 B 均为事件)",
    "a",
    "one two three four",
    "one two three four five",
    "",
]


def cmd_fixtures(a):
    import numpy as np
    from datatrove.pipeline.dedup.minhash import MinhashConfig, MinhashDedupSignature
    from datatrove.utils.hashing import HashConfig
    from datatrove.utils.text import simplify_text

    sig = MinhashDedupSignature("/tmp/unused-sluice-fixture", config=MinhashConfig(hash_config=HashConfig(precision=64)))
    sig_sha1 = MinhashDedupSignature(
        "/tmp/unused-sluice-fixture", config=MinhashConfig(hash_config=HashConfig(precision=64, hash_fc="sha1"))
    )
    texts = list(HANDMADE)
    for path in a.inputs:
        docs = list(read_jsonl(path))
        step = max(1, len(docs) // a.per_file)
        for d in docs[::step][: a.per_file]:
            texts.append(d["text"][: a.max_chars])
    cases = []
    for t in texts:
        simplified = simplify_text(t)
        words = sig.word_tokenizer.word_tokenize(simplified)
        sh = sig.get_shingles(t)
        signature = [] if sh.size == 0 else [int(x) for band in sig.get_signature(sh) for x in band]
        sh1 = sig_sha1.get_shingles(t)
        signature_sha1 = [] if sh1.size == 0 else [int(x) for band in sig_sha1.get_signature(sh1) for x in band]
        cases.append((t, simplified, words, signature, signature_sha1))
    out = io.StringIO()
    out.write(
        "// Generated by `scripts/compare_minhash_datatrove.py fixtures` with datatrove 0.10.1; do not edit.\n"
        "// Texts (hand-made edge cases and slices of SampleData) with datatrove's simplified text,\n"
        "// words and 14x8 MinHash signatures (seed 1) with xxhash64 and with sha1 shingles.\n\n"
        "struct DatatroveCase {\n    let text: String\n    let simplified: String\n    let words: [String]\n"
        "    /// Empty when not recorded (or when the text has fewer than 5 words).\n    let signature: [UInt64]\n"
        "    /// The same with `HashConfig(hash_fc=\"sha1\", precision=64)`.\n    let sha1Signature: [UInt64]\n}\n\n"
        "let datatroveCases: [DatatroveCase] = [\n"
    )

    for i, (t, s, w, g, g1) in enumerate(cases):
        if i >= a.signatures:
            g, g1 = [], []  # keep the file small: signatures for the first cases only
        out.write("    DatatroveCase(\n")
        out.write(f"        text: {swift_literal(t)},\n")
        out.write(f"        simplified: {swift_literal(s)},\n")
        out.write(f"        words: {swift_literal(chr(1).join(w))}.split(separator: \"\\u{{1}}\", omittingEmptySubsequences: false).map(String.init),\n")
        out.write(f"        signature: [{', '.join(str(x) for x in g)}],\n")
        out.write(f"        sha1Signature: [{', '.join(str(x) for x in g1)}]),\n")
    out.write("]\n")
    with open(a.output, "w") as f:
        f.write(out.getvalue())
    print(f"wrote {a.output}: {len(cases)} cases")


def swift_literal(s):
    """A Swift string literal with every non-printable-ASCII scalar escaped."""
    out = ['"']
    for ch in s:
        cp = ord(ch)
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif 0x20 <= cp < 0x7F:
            out.append(ch)
        else:
            out.append(f"\\u{{{cp:X}}}")
    out.append('"')
    return "".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("datatrove")
    d.add_argument("--input", required=True)
    d.add_argument("--out", required=True)
    d.add_argument("--hash", choices=["xxhash", "sha1"], default="xxhash")
    d.add_argument("--tasks", type=int, default=1)
    d.add_argument("--workers", type=int, default=1)
    c = sub.add_parser("compare")
    c.add_argument("--input", required=True)
    c.add_argument("--datatrove", required=True)
    c.add_argument("--sluice", required=True)
    c.add_argument("--json", action="store_true")
    t = sub.add_parser("tables")
    t.add_argument("output")
    f = sub.add_parser("fixtures")
    f.add_argument("output")
    f.add_argument("inputs", nargs="*")
    f.add_argument("--per-file", type=int, default=20)
    f.add_argument("--max-chars", type=int, default=800)
    f.add_argument("--signatures", type=int, default=30, help="record signatures for this many cases")
    a = ap.parse_args()
    {"datatrove": cmd_datatrove, "compare": cmd_compare, "tables": cmd_tables, "fixtures": cmd_fixtures}[a.cmd](a)


if __name__ == "__main__":
    main()
