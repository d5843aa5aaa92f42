#!/usr/bin/env python3
"""Compares Sluice's n-gram language models with KenLM's.

Scoring: every line of every document, as KenLM's Python module scores it
(kenlm.Model(arpa).score(line), with <s> and </s>), against `sluice lm score --lines`; and
every document's CCNet perplexity against `sluice lm score --json`. With --normalize ccnet the
lines are normalised first (scripts/lm_reference.py's ccnet_normalize for KenLM, Sluice's
own for Sluice, so the normaliser is compared too).

Training: `lmplz -o N` and `sluice lm train --order N` on the same text corpus (a file with
one sentence per line, ending in a newline); the ARPA files are compared n-gram by n-gram.

Setup (KenLM is built from source; PyPI has only an sdist):
  python3 -m venv /tmp/kenlm-venv && /tmp/kenlm-venv/bin/pip install kenlm
  # lmplz and query: the sdist holds KenLM's sources; with cmake, a C++ compiler and Boost
  # (libboost-program-options-dev libboost-system-dev libboost-thread-dev libboost-test-dev):
  pip download --no-deps --no-binary :all: kenlm   # or reuse pip's cached kenlm-0.3.0.tar.gz
  tar xzf kenlm-0.3.0.tar.gz && cd kenlm-0.3.0 && mkdir build && cd build && cmake .. && make lmplz query

Usage:
  /tmp/kenlm-venv/bin/python scripts/compare_kenlm.py score MODEL.arpa[.zst] DOCS.jsonl [--normalize ccnet]
  /tmp/kenlm-venv/bin/python scripts/compare_kenlm.py train CORPUS.txt --lmplz PATH [--order 5]
Set SLUICE to the sluice binary (default .build/release/sluice, then .build-h/release/sluice).
"""
import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile

import kenlm  # type: ignore

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lm_reference as ref  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def sluice_binary():
    if os.environ.get("SLUICE"):
        return os.environ["SLUICE"]
    for p in (".build/release/sluice", ".build-h/release/sluice", ".build/debug/sluice", ".build-h/debug/sluice"):
        if os.path.exists(os.path.join(ROOT, p)):
            return os.path.join(ROOT, p)
    sys.exit("no sluice binary; build it or set SLUICE")


def plain_arpa(path, tmp):
    if path.endswith(".zst"):
        out = os.path.join(tmp, "model.arpa")
        subprocess.run(["zstd", "-dcq", path, "-o", out], check=True)
        return out
    return path


def f32(x):
    return struct.unpack("f", struct.pack("f", x))[0]


def score(args):
    sluice = sluice_binary()
    with tempfile.TemporaryDirectory() as tmp:
        arpa = plain_arpa(args.model, tmp)
        model = kenlm.Model(arpa)
        docs = [json.loads(l) for l in open(args.docs, encoding="utf-8") if l.strip()]
        norm = ["--normalize", args.normalize]
        lines_out = subprocess.run([sluice, "lm", "score", args.model, args.docs, "--lines"] + norm,
                                   check=True, capture_output=True).stdout.decode("utf-8")
        docs_out = subprocess.run([sluice, "lm", "score", args.model, args.docs, "--json"] + norm,
                                  check=True, capture_output=True).stdout.decode("utf-8")
    rows = [r.split("\t", 4) for r in lines_out.split("\n") if r]
    expected = []
    for d in docs:
        for line in d["text"].split("\n"):
            if args.normalize == "ccnet":
                line = ref.ccnet_normalize(line)
            expected.append((d["id"], line, model.score(line), len(line.split())))
    assert len(rows) == len(expected), (len(rows), len(expected))
    worst, exact, words_differ = 0.0, 0, 0
    for (i, line, want, words), row in zip(expected, rows):
        got = float(row[1])
        worst = max(worst, abs(got - want))
        # Sluice prints the float32 sum in its shortest form; KenLM returns the float32 itself.
        exact += f32(got) == f32(want)
        words_differ += int(row[2]) != words
    print("lines: %d, identical log10 (float32): %d, largest |Δlog10| %.3g, word counts differing %d"
          % (len(rows), exact, worst, words_differ))
    worst_pp = 0.0
    for d, j in zip(docs, (json.loads(l) for l in docs_out.split("\n") if l)):
        lines = d["text"].split("\n")
        if args.normalize == "ccnet":
            lines = [ref.ccnet_normalize(l) for l in lines]
        if not d["text"]:
            assert j["perplexity"] is None
            continue
        log10 = sum(model.score(l) for l in lines)
        length = sum(len(l.split()) + 1 for l in lines)
        pp = 10.0 ** (-log10 / length)
        worst_pp = max(worst_pp, abs(j["perplexity"] - pp) / pp)
        assert j["length"] == length, (d["id"], j["length"], length)
    print("documents: %d, largest relative |Δperplexity| vs CCNet's formula over KenLM scores: %.3g"
          % (len(docs), worst_pp))


def load_arpa(path):
    out, order = {}, 0
    for raw in open(path, encoding="utf-8", errors="surrogateescape"):
        line = raw.rstrip("\n")
        if line.startswith("\\"):
            order = int(line[1]) if line.endswith("-grams:") else 0
            continue
        if not order or not line.strip():
            continue
        parts = line.split("\t")
        out[parts[1]] = (float(parts[0]), float(parts[2]) if len(parts) > 2 else None)
    return out


def train(args):
    sluice = sluice_binary()
    with tempfile.TemporaryDirectory() as tmp:
        a = os.path.join(tmp, "lmplz.arpa")
        b = os.path.join(tmp, "sluice.arpa")
        with open(args.corpus, "rb") as f, open(a, "wb") as out:
            subprocess.run([args.lmplz, "-o", str(args.order), "-S", "20%"], stdin=f, stdout=out,
                           stderr=subprocess.DEVNULL, check=True)
        subprocess.run([sluice, "lm", "train", args.corpus, "--order", str(args.order), "-o", b],
                       check=True, stderr=subprocess.DEVNULL)
        same_bytes = sorted(open(a, "rb").read().split(b"\n")) == sorted(open(b, "rb").read().split(b"\n"))
        x, y = load_arpa(a), load_arpa(b)
    missing = set(x) ^ set(y)
    dp = max(abs(x[g][0] - y[g][0]) for g in x if g in y)
    db = max((abs(x[g][1] - y[g][1]) for g in x if g in y and x[g][1] is not None and y[g][1] is not None),
             default=0.0)
    print("order %d: %d n-grams (lmplz) / %d (sluice), %d in only one; largest |Δlog10 p| %.3g, |Δlog10 backoff| %.3g; "
          "identical lines (sorted): %s" % (args.order, len(x), len(y), len(missing), dp, db, same_bytes))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("score")
    s.add_argument("model")
    s.add_argument("docs")
    s.add_argument("--normalize", default="none", choices=["none", "ccnet"])
    t = sub.add_parser("train")
    t.add_argument("corpus")
    t.add_argument("--lmplz", required=True)
    t.add_argument("--order", type=int, default=5)
    args = ap.parse_args()
    score(args) if args.cmd == "score" else train(args)


if __name__ == "__main__":
    main()
