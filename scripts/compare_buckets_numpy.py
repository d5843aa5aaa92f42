#!/usr/bin/env python3
"""Checks Sluice's score_buckets boundaries against numpy's weighted percentiles.

numpy >= 2 computes token-weighted percentiles with
    np.percentile(scores, p, weights=w, method="inverted_cdf")
and Nemotron-CC buckets with np.digitize(score, boundaries). Sluice must give exactly the
same boundaries (bit for bit) and the same buckets.

Usage (numpy in a virtual environment outside the repository):
    python3 -m venv /tmp/bucketsvenv && /tmp/bucketsvenv/bin/pip install 'numpy>=2'

    # Write the committed test fixture (scores, weights, numpy's boundaries and buckets):
    /tmp/bucketsvenv/bin/python scripts/compare_buckets_numpy.py fixture Tests/Fixtures/buckets/cases.json

    # Check a finished run: OUT is the pipeline's output folder, ID the score_buckets stage id
    /tmp/bucketsvenv/bin/python scripts/compare_buckets_numpy.py run OUT --stage score_buckets

`run` makes three checks and exits 1 if any fails:
  1. the (score, weight) records of step 1 (OUT/_work/ID/scores/*.scores, which a completed run
     removes unless it ran with `--set run.keep_work=true`), through numpy, give the boundaries
     in OUT/_work/ID/boundaries.json;
  2. independently of Sluice's files: the documents step 1 read (the shards of the step
     before it, or --documents GLOB), with the score read from their metadata and the weight
     counted here (whitespace-delimited words, Unicode White_Space as Sluice defines it),
     give the same boundaries (skipped with sample < 1, which hashes ids with XXH64);
  3. every document in the final shards carries bucket == np.digitize(score, boundaries).
"""
import argparse
import glob
import json
import os
import re
import struct
import subprocess
import sys

import numpy as np

if tuple(int(x) for x in np.__version__.split(".")[:2]) < (2, 0):
    sys.exit(f"numpy >= 2 is needed for weighted percentiles (found {np.__version__})")

# Unicode White_Space, exactly as Sluice's UTF8Whitespace (Python's str.split also splits on
# U+001C..U+001F, which are not White_Space, so it is not used).
WHITESPACE = re.compile(
    "[\u0009\u000a\u000b\u000c\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+"
)


def words(text):
    return sum(1 for part in WHITESPACE.split(text) if part)


def numpy_boundaries(scores, weights, percentiles):
    scores = np.asarray(scores, dtype=np.float64) + 0.0  # -0.0 reads as 0.0, as in Sluice
    weights = np.asarray(weights, dtype=np.float64)
    if len(percentiles) == 0:
        return []
    return [float(b) for b in np.percentile(scores, np.asarray(percentiles, dtype=np.float64),
                                            weights=weights, method="inverted_cdf")]


def bucket_percentiles(n):
    return [100 * i / n for i in range(1, n)]


# ---------------------------------------------------------------------------------------------
# fixture


def fixture_cases():
    rng = np.random.default_rng(20240531)
    cases = []

    def add(name, scores, weights, percentiles, note):
        scores = [float(s) for s in scores]
        weights = [int(w) for w in weights]
        b = numpy_boundaries(scores, weights, percentiles)
        cases.append({
            "name": name,
            "note": note,
            "percentiles": [float(p) for p in percentiles],
            "scores": scores,
            "weights": weights,
            "boundaries": b,
            "buckets": [int(x) for x in np.digitize(np.asarray(scores), np.asarray(b))] if b else [],
        })

    n = 2000
    add("uniform_token_weighted_20", rng.random(n), rng.integers(0, 2000, n), bucket_percentiles(20),
        "uniform scores in [0,1), word-count-like weights 0..1999 (some zero), Nemotron-CC's 20 buckets")
    add("edu_int_scores_ties", rng.integers(0, 6, 1500), rng.integers(1, 800, 1500), [30, 60],
        "FineWeb-Edu-like integer scores 0..5 (heavy ties), CCNet's 30/60 percentiles")
    add("edu_int_scores_ties_20", rng.integers(0, 6, 1500), rng.integers(1, 800, 1500), bucket_percentiles(20),
        "integer scores 0..5 with 20 buckets: many boundaries coincide")
    add("documents_normal_20", rng.normal(0.0, 1.0, 1001), [1] * 1001, bucket_percentiles(20),
        "weight: documents (all 1), negative and positive scores")
    add("perplexity_ccnet", np.round(rng.lognormal(6.0, 0.5, 3000), 1), rng.integers(20, 3000, 3000), [30, 60],
        "CCNet-like perplexities rounded to 0.1, head/middle/tail cutoffs")
    add("three_buckets", rng.random(500) * 10, rng.integers(0, 50, 500), bucket_percentiles(3),
        "percentiles 100/3 and 200/3 (not exact in binary)")
    add("exact_cdf_hits", list(range(10)), [1] * 10, bucket_percentiles(10),
        "cumulative weight exactly at each percentile: the boundary is the value that reaches it")
    add("cdf_rounding", [1.0, 2.0, 3.0], [1, 1, 1], [100 / 3, 50, 200 / 3],
        "1/3 and 2/3 of the weight against percentiles 100/3 and 200/3 after float rounding")
    add("leading_zero_weights", [0.1, 0.2, 0.3, 0.4, 0.5], [0, 0, 3, 0, 7], [0.001, 30, 50, 99.999],
        "zero-weight lowest scores are never a boundary (numpy sets zero cdf entries to -1)")
    add("single_document", [0.75], [12], [5, 50, 95], "one document: every boundary is its score")
    add("wide_range", np.concatenate([rng.normal(0, 1e-9, 300), rng.normal(1e6, 1e5, 300), -rng.random(300) * 1e12]),
        rng.integers(0, 100, 900), bucket_percentiles(20), "scores over 20 orders of magnitude, both signs")
    return cases


def write_fixture(path):
    cases = fixture_cases()
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w") as f:
        json.dump({"numpy": np.__version__, "method": "inverted_cdf", "cases": cases}, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {len(cases)} cases to {path} (numpy {np.__version__})")


# ---------------------------------------------------------------------------------------------
# run


def read_score_file(path):
    data = open(path, "rb").read()
    if data[:8] != b"SLSCORE1" or data[-8:] != b"SLSCEND\0":
        raise SystemExit(f"{path}: not a score file")
    count = struct.unpack_from("<Q", data, len(data) - 24)[0]
    body = np.frombuffer(data, dtype="<u8", count=2 * count, offset=16).reshape(-1, 2) if count else np.zeros((0, 2), "<u8")
    keys = body[:, 0].astype(np.uint64)
    top = (keys >> np.uint64(63)) == 1
    bits = np.where(top, keys & np.uint64(0x7FFFFFFFFFFFFFFF), ~keys)
    return bits.view(np.float64), body[:, 1].astype(np.float64)


def read_jsonl_zst(path):
    out = subprocess.run(["zstd", "-dcf", path], check=True, capture_output=True).stdout
    for line in out.splitlines():
        if line.strip():
            yield json.loads(line)


def metadata_value(doc, path):
    parts = path.split(".")
    if len(parts) > 1 and parts[0] == "metadata":
        parts = parts[1:]
    cur = doc.get("metadata") or {}
    for p in parts:
        if not isinstance(cur, dict) or p not in cur:
            return None
        cur = cur[p]
    return cur


def usable(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v)


def same(a, b):
    return len(a) == len(b) and all(x == y for x, y in zip(a, b))


def check_run(out, stage, documents_glob, bucket_key):
    work = os.path.join(out, "_work", stage)
    info = json.load(open(os.path.join(work, "boundaries.json")))
    percentiles, expected = info["percentiles"], info["boundaries"]
    print(f"{work}/boundaries.json: score {info['score']}, weight {info['weight']}, {info['scored']} scored documents, "
          f"total weight {info['weight_total']}, {len(percentiles)} percentiles")
    ok = True

    # 1. Sluice's own score records through numpy (kept after the run with run.keep_work: true).
    files = [os.path.join(work, "scores", f"{t:05d}.scores") for t in range(info["tasks"])]
    if not all(os.path.exists(f) for f in files):
        print("1. skipped: the score files were removed when the run completed; rerun with --set run.keep_work=true to keep them")
    else:
        parts = [read_score_file(f) for f in files]
        scores = np.concatenate([p[0] for p in parts])
        weights = np.concatenate([p[1] for p in parts])
        got = numpy_boundaries(scores, weights, percentiles)
        agree = same(got, expected) and len(scores) == info["scored"]
        ok &= agree
        print(f"1. numpy on step 1's {len(scores)} records: {'identical' if agree else 'DIFFERENT'} boundaries")
        if not agree:
            for p, a, b in zip(percentiles, got, expected):
                if a != b:
                    print(f"   p{p}: numpy {a!r}, sluice {b!r}")

    # 2. From the documents themselves.
    if documents_glob is None:
        steps = sorted(glob.glob(os.path.join(out, "_steps", f"*.{stage}.input")))
        documents_glob = os.path.join(steps[-1], "*.jsonl.zst") if steps else None
    if info.get("sample", 1) != 1:
        print("2. skipped: sample < 1 chooses documents by XXH64 of their ids")
    elif documents_glob is None:
        print("2. skipped: score_buckets is the first stage; pass --documents GLOB (the pipeline's input)")
    else:
        files = sorted(glob.glob(documents_glob))
        ds, dw = [], []
        for f in files:
            for doc in read_jsonl_zst(f):
                v = metadata_value(doc, info["score"])
                if usable(v):
                    ds.append(float(v))
                    dw.append(words(doc.get("text", "")) if info["weight"] == "tokens" else 1)
        got2 = numpy_boundaries(ds, dw, percentiles)
        agree2 = same(got2, expected) and len(ds) == info["scored"] and sum(dw) == info["weight_total"]
        ok &= agree2
        print(f"2. numpy on {len(ds)} documents from {len(files)} files (weights counted here, total {sum(dw)}): "
              f"{'identical' if agree2 else 'DIFFERENT'} boundaries")

    # 3. Buckets in the final shards.
    key = bucket_key or (info["score"] + "_bucket")
    checked = wrong = 0
    b = np.asarray(expected)
    for f in sorted(glob.glob(os.path.join(out, "[0-9]*.jsonl.zst"))):
        for doc in read_jsonl_zst(f):
            v = metadata_value(doc, info["score"])
            got_bucket = metadata_value(doc, key)
            if not usable(v):
                continue
            checked += 1
            if got_bucket != int(np.digitize(float(v) + 0.0, b)):
                wrong += 1
    ok &= wrong == 0 and checked > 0
    print(f"3. {checked} output documents: {wrong} with a bucket other than np.digitize(score, boundaries)")
    print("OK: Sluice's boundaries and buckets equal numpy's" if ok else "FAILED")
    return 0 if ok else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    f = sub.add_parser("fixture", help="write the test fixture")
    f.add_argument("path")
    r = sub.add_parser("run", help="check a finished run")
    r.add_argument("out")
    r.add_argument("--stage", default="score_buckets", help="the score_buckets stage id (its work folder name)")
    r.add_argument("--documents", default=None, help="glob of the JSONL(.zst) documents step 1 read")
    r.add_argument("--key", default=None, help="the bucket metadata key (default <score>_bucket)")
    a = ap.parse_args()
    if a.command == "fixture":
        write_fixture(a.path)
        return 0
    return check_run(a.out, a.stage, a.documents, a.key)


if __name__ == "__main__":
    sys.exit(main())
