#!/usr/bin/env python3
"""Compares `sluice quality train` with official fastText trained on the same judge labels.

The loop runs for real: scripts/quality_judge_server.py (a scripted OpenAI-compatible judge on
loopback, a deterministic rule over each document) answers `sluice annotate` for every document
of SampleData/*.jsonl.zst (prose, man pages in 11 languages, fortunes in 10); then, for each
split seed and each of two settings, `sluice quality train --threshold 3 --seed S --splits DIR`
trains and writes the exact training and held-out files it used, and official fastText (PyPI
fasttext-wheel 0.9.2, in a venv under /tmp) trains on the same training file with the same
settings: softmax, word bigrams, lr 0.1, 5 epochs, 200,000 buckets, one thread, and dim 16
(`sluice quality train`'s default) or dim 100 (fastText's and DCLM's). Both models are
evaluated on the same held-out file: precision, recall and F1 of __label__hq.

Checks (PASS/FAIL):
  1. F1 of Sluice's model within 2 points of official fastText's, on average over the seeds
     (per setting), and on every seed within 3 points (single splits of ~1,100 documents are
     noisy).
  2. Official fastText loads each model Sluice wrote and, predicting the held-out file,
     reproduces the precision/recall/F1 that `sluice quality train` reported.

Usage:
  scripts/compare_quality_train.py [--sluice BIN] [--work DIR] [--seeds N] [--sample N]

Needs python3 with venv, zstd, PyPI access on the first run, and a built sluice (default: the
release build, `swift build -c release --product sluice`).
"""

import argparse
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WHEEL_VENV = "/tmp/sluice-fasttext-wheel-venv"
SETTINGS = {"default": 16, "dclm": 100}  # name -> dim


def params(dim):
    return {"lr": 0.1, "dim": dim, "epoch": 5, "wordNgrams": 2, "bucket": 200000, "minCount": 1, "thread": 1, "loss": "softmax"}

failures = []


def check(ok, what):
    print(("PASS " if ok else "FAIL ") + what, flush=True)
    if not ok:
        failures.append(what)


def ensure_venv(path, packages):
    py = os.path.join(path, "bin", "python")
    marker = os.path.join(path, ".sluice-ready")
    if os.path.exists(marker):
        return py
    if not os.path.exists(py):
        subprocess.run([sys.executable, "-m", "venv", path], check=True)
    subprocess.run([py, "-m", "pip", "install", "-q", *packages], check=True)
    open(marker, "w").write(" ".join(packages))
    return py


def metrics(gold, predicted, positive="__label__hq"):
    tp = sum(1 for g, p in zip(gold, predicted) if g == positive and p == positive)
    fp = sum(1 for g, p in zip(gold, predicted) if g != positive and p == positive)
    fn = sum(1 for g, p in zip(gold, predicted) if g == positive and p != positive)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def worker_main(spec):
    """Runs inside the venv: trains officially and evaluates models on a held-out file."""
    import fasttext

    fasttext.FastText.eprint = lambda *a, **k: None
    gold, texts = [], []
    with open(spec["test"], encoding="utf-8") as f:
        for line in f:
            label, _, text = line.rstrip("\n").partition(" ")
            gold.append(label)
            texts.append(text)
    out = {}
    if spec.get("train"):
        t0 = time.time()
        m = fasttext.train_supervised(input=spec["train"], verbose=0, **spec["params"])
        out["seconds"] = time.time() - t0
        out["official"] = metrics(gold, [m.predict(t, k=1)[0][0] for t in texts])
    for name, path in spec.get("models", {}).items():
        m = fasttext.load_model(path)
        out[name] = metrics(gold, [m.predict(t, k=1)[0][0] for t in texts])
    print(json.dumps(out))


def run_worker(python, spec):
    r = subprocess.run([python, os.path.abspath(__file__), "--worker", json.dumps(spec)], capture_output=True, text=True)
    if r.returncode != 0:
        sys.stderr.write(r.stderr)
        raise SystemExit("official fastText worker failed")
    return json.loads(r.stdout.splitlines()[-1])


def main():
    if len(sys.argv) > 2 and sys.argv[1] == "--worker":
        worker_main(json.loads(sys.argv[2]))
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sluice", default=None)
    ap.add_argument("--work", default="/tmp/sluice-compare-quality")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--sample", type=int, default=10000)
    args = ap.parse_args()
    sluice = args.sluice
    if not sluice:
        subprocess.run(["swift", "build", "-c", "release", "--product", "sluice"], cwd=ROOT, check=True)
        sluice = subprocess.run(["swift", "build", "-c", "release", "--show-bin-path"], cwd=ROOT, check=True, capture_output=True, text=True).stdout.strip() + "/sluice"
    os.makedirs(args.work, exist_ok=True)
    py = ensure_venv(WHEEL_VENV, ["numpy<2", "fasttext-wheel==0.9.2"])

    port_file = os.path.join(args.work, "judge.port")
    if os.path.exists(port_file):
        os.remove(port_file)
    server = subprocess.Popen([sys.executable, os.path.join(ROOT, "scripts", "quality_judge_server.py"), "--port-file", port_file], stdout=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if os.path.exists(port_file):
                break
            time.sleep(0.1)
        port = open(port_file).read().strip()
        ann = os.path.join(args.work, "annotations.jsonl")
        inputs = [os.path.join(ROOT, "SampleData", n) for n in sorted(os.listdir(os.path.join(ROOT, "SampleData"))) if n.endswith(".jsonl.zst")]
        r = subprocess.run(
            [sluice, "annotate", *inputs, "-o", ann, "--sample", str(args.sample), "--base-url", f"http://127.0.0.1:{port}/v1", "--model", "scripted-judge",
             "--concurrency", "8", "--cache-dir", os.path.join(args.work, "cache"), "--json"],
            capture_output=True, text=True)
        if r.returncode != 0:
            sys.stderr.write(r.stderr)
            raise SystemExit("sluice annotate failed")
        summary = json.loads(r.stdout)
        print(f"annotations: {summary['scored']} scored, {summary['unparseable']} unparseable of {summary['sampled']} sampled; histogram {summary['histogram']}")
        check(summary["unparseable"] > 0 and summary["scored"] > 0.9 * summary["sampled"], "annotate counts the scripted judge's unparseable replies and scores the rest")
    finally:
        server.terminate()
        server.wait()

    for setting, dim in SETTINGS.items():
        rows = []
        for seed in range(args.seeds):
            d = os.path.join(args.work, f"{setting}-seed{seed}")
            model = os.path.join(d, "sluice.bin")
            report = os.path.join(d, "report.json")
            cmd = [sluice, "quality", "train", ann, "--threshold", "3", "--seed", str(seed), "-o", model, "--splits", d, "--report", report,
                   "--lr", "0.1", "--dim", str(dim), "--epoch", "5", "--word-ngrams", "2", "--bucket", "200000", "--min-count", "1", "--thread", "1"]
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode != 0:
                sys.stderr.write(r.stderr)
                raise SystemExit("sluice quality train failed")
            rep = json.load(open(report))
            off = run_worker(py, {"train": os.path.join(d, "train.txt"), "test": os.path.join(d, "test.txt"), "params": params(dim), "models": {"sluice_model": model}})
            rows.append((seed, rep, off))
            print(f"{setting} (dim {dim}) seed {seed}: {rep['train_examples']} train / {rep['test_examples']} held out | "
                  f"sluice P {rep['precision']:.4f} R {rep['recall']:.4f} F1 {rep['f1']:.4f} | "
                  f"official P {off['official']['precision']:.4f} R {off['official']['recall']:.4f} F1 {off['official']['f1']:.4f} | "
                  f"dF1 {100 * (rep['f1'] - off['official']['f1']):+.2f} points | train {rep['train_seconds']:.2f} s vs {off['seconds']:.2f} s")
            same = all(abs(off["sluice_model"][k] - rep[k]) <= 1e-4 for k in ("precision", "recall", "f1"))
            check(same, f"{setting} seed {seed}: official fastText predicting with Sluice's model reproduces the reported P/R/F1")
            check(abs(rep["f1"] - off["official"]["f1"]) <= 0.03, f"{setting} seed {seed}: F1 within 3 points of official fastText")
        mean = lambda key, i: sum((r[1] if i == 1 else r[2]["official"])[key] for r in rows) / len(rows)
        print(f"{setting} (dim {dim}) mean over {len(rows)} seeds: sluice P {mean('precision', 1):.4f} R {mean('recall', 1):.4f} F1 {mean('f1', 1):.4f}; "
              f"official P {mean('precision', 2):.4f} R {mean('recall', 2):.4f} F1 {mean('f1', 2):.4f}")
        check(abs(mean("f1", 1) - mean("f1", 2)) <= 0.02, f"{setting}: mean F1 within 2 points of official fastText ({100 * (mean('f1', 1) - mean('f1', 2)):+.2f})")
    if failures:
        print(f"{len(failures)} check(s) failed")
        sys.exit(1)
    print("all checks passed")


if __name__ == "__main__":
    main()
