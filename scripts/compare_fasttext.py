#!/usr/bin/env python3
"""Compares Sluice's native fastText with official fastText from PyPI.

Official side: fasttext-wheel 0.9.2 (train, quantize, predict) and fasttext-predict (predict
only), each installed into its own virtual environment under /tmp (they both provide the
`fasttext` module). The Debian `fasttext` command line (official 0.9.2), when installed, is
used for the speed comparison against `sluice fasttext`.

Checks, each printed with PASS/FAIL:
  1. lid.176.ftz on >= 10,000 real multilingual lines (SampleData manpages in 11 languages and
     fortunes in 10, split into lines): the same top-1 label on every line and the top-5
     labels' probabilities within 1e-5, against both PyPI packages; all 176 probabilities on
     a subset.
  2. Models trained by official fastText with each loss (softmax, ns, hs, ova; word bigrams,
     character n-grams) and a quantized one (qnorm, cutoff, retrain): the same labels and
     probabilities (k = -1) on held-out lines.
  3. Models trained by `sluice fasttext supervised` (each loss) and one quantized by `sluice
     fasttext quantize`: official fastText loads them and predicts exactly what Sluice
     predicts, and their test precision is within 1 point of official models trained with
     the same flags.
  4. The language_id stage on every SampleData document (through `sluice run`): the same
     metadata.language and metadata.language_score as datatrove's recipe with official
     fastText (`predict(text.replace("\n", " "))`).
  5. Speed (reported): language ID per core (user CPU seconds), official `fasttext predict`
     vs `sluice fasttext predict` on the same lines; training time with the same flags and
     threads.

Usage:
  scripts/compare_fasttext.py [--sluice BIN] [--models DIR] [--work DIR]
  scripts/compare_fasttext.py --write-fixtures   # regenerate Tests/SluiceFastTextTests/Fixtures

Needs: python3 with venv, zstd, network access to PyPI for the first run, and a built sluice
(default: swift build -c release --product sluice). Exit status 0 when every check passes.
"""

import argparse
import hashlib
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WHEEL_VENV = "/tmp/sluice-fasttext-wheel-venv"
PREDICT_VENV = "/tmp/sluice-fasttext-predict-venv"
FIXTURES = os.path.join(ROOT, "Tests", "SluiceFastTextTests", "Fixtures")
TOLERANCE = 1e-5

failures = []


def check(ok, what):
    print(("PASS " if ok else "FAIL ") + what, flush=True)
    if not ok:
        failures.append(what)


# ---------------------------------------------------------------------------------------------
# Environments


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


def wheel_python():
    # fasttext-wheel 0.9.2's predict uses np.array(copy=False), which numpy 2 rejects.
    return ensure_venv(WHEEL_VENV, ["numpy<2", "fasttext-wheel==0.9.2"])


def predict_python():
    return ensure_venv(PREDICT_VENV, ["fasttext-predict"])


def run_worker(python, task, **kw):
    """Runs one of this file's worker tasks in another interpreter (a venv); JSON in and out."""
    args = json.dumps({"task": task, **kw})
    r = subprocess.run([python, os.path.abspath(__file__), "--worker", args], capture_output=True, text=True)
    if r.returncode != 0:
        sys.stderr.write(r.stderr)
        raise SystemExit(f"worker {task} failed")
    return json.loads(r.stdout.splitlines()[-1])


# ---------------------------------------------------------------------------------------------
# Workers (run inside a venv that has the `fasttext` module)


def worker_main(spec):
    import fasttext  # noqa: the venv's official package

    fasttext.FastText.eprint = lambda *a, **k: None  # silence load_model's warning
    task = spec["task"]
    if task == "predict":
        m = fasttext.load_model(spec["model"])
        out = []
        with open(spec["lines"], encoding="utf-8") as f:
            for line in f:
                labels, probs = m.predict(line.rstrip("\n"), k=spec["k"])
                out.append([list(labels), [float(p) for p in probs]])
        json.dump(out, open(spec["output"], "w"))
        print(json.dumps({"ok": True}))
    elif task == "predict_documents":
        # datatrove's LanguageFilter: text.replace("\n", " "), then the best label.
        m = fasttext.load_model(spec["model"])
        out = {}
        for doc_id, text in json.load(open(spec["documents"])):
            labels, probs = m.predict(text.replace("\n", " "), k=1)
            out[doc_id] = [labels[0][len("__label__"):], float(probs[0])] if labels else None
        json.dump(out, open(spec["output"], "w"))
        print(json.dumps({"ok": True}))
    elif task == "time_predict":
        m = fasttext.load_model(spec["model"])
        lines = open(spec["lines"], encoding="utf-8").read().splitlines()
        t0 = time.process_time()
        for line in lines:
            m.predict(line, k=1)
        print(json.dumps({"seconds": time.process_time() - t0, "lines": len(lines)}))
    elif task == "train":
        t0 = time.time()
        m = fasttext.train_supervised(input=spec["input"], verbose=0, **spec["params"])
        seconds = time.time() - t0
        if spec.get("quantize"):
            m.quantize(input=spec["input"], verbose=0, **spec["quantize"])
        m.save_model(spec["output"])
        n, p, r = m.test(spec["test"])
        print(json.dumps({"seconds": seconds, "n": n, "precision": p, "recall": r}))
    elif task == "test":
        m = fasttext.load_model(spec["model"])
        n, p, r = m.test(spec["test"])
        print(json.dumps({"n": n, "precision": p, "recall": r}))
    else:
        raise SystemExit("unknown task " + task)


# ---------------------------------------------------------------------------------------------
# Data


def read_jsonl_zst(path):
    data = subprocess.run(["zstd", "-dc", path], capture_output=True, check=True).stdout.decode("utf-8")
    return [json.loads(l) for l in data.splitlines() if l.strip()]


def multilingual_lines(work):
    """Every non-empty line of the manpages (11 languages) and fortunes (10 languages)."""
    path = os.path.join(work, "lines.txt")
    lines = []
    for name in ["manpages", "fortunes"]:
        for doc in read_jsonl_zst(os.path.join(ROOT, "SampleData", name + ".jsonl.zst")):
            for line in doc["text"].split("\n"):
                line = line.strip()
                # A literal </s> ends a line in fastText's file reading; Python's predict and
                # the command line would then see different lines.
                if line and "</s>" not in line and "\r" not in line:
                    lines.append(line)
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return path, len(lines)


def language_dataset(work, max_train=None, max_test=None, seed=1):
    """Lines labelled with their document's language, split by document (1 in 5 to test)."""
    train, test = [], []
    for name in ["manpages", "fortunes"]:
        for doc in read_jsonl_zst(os.path.join(ROOT, "SampleData", name + ".jsonl.zst")):
            lang = doc.get("metadata", {}).get("language")
            if not lang:
                continue
            held = int(hashlib.md5(doc["id"].encode()).hexdigest(), 16) % 5 == 0
            for line in doc["text"].split("\n"):
                line = " ".join(line.split())
                if len(line) < 20 or "</s>" in line:
                    continue
                (test if held else train).append(f"__label__{lang} {line}")
    random.Random(seed).shuffle(train)
    random.Random(seed + 1).shuffle(test)
    if max_train:
        train = train[:max_train]
    if max_test:
        test = test[:max_test]
    tr, te = os.path.join(work, "lang.train"), os.path.join(work, "lang.test")
    open(tr, "w", encoding="utf-8").write("\n".join(train) + "\n")
    open(te, "w", encoding="utf-8").write("\n".join(test) + "\n")
    return tr, te


def unlabelled(path, out):
    with open(path, encoding="utf-8") as f, open(out, "w", encoding="utf-8") as g:
        for line in f:
            g.write(" ".join(w for w in line.split() if not w.startswith("__label__")) + "\n")
    return out


# ---------------------------------------------------------------------------------------------
# Sluice side


def sluice_predict(sluice, model, lines, k):
    """`sluice fasttext predict-prob` parsed into [[labels], [probs]] per line."""
    r = subprocess.run([sluice, "fasttext", "predict-prob", model, lines, str(k)], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit("sluice fasttext predict-prob failed: " + r.stderr)
    out = []
    for row in r.stdout.split("\n")[:-1]:
        parts = row.split(" ") if row else []
        out.append([parts[0::2], [float(p) for p in parts[1::2]]])
    return out


def compare_predictions(name, ours, theirs, full_order=True):
    """Same top-1 label everywhere; same labels (in order) with probabilities within 1e-5."""
    if len(ours) != len(theirs):
        check(False, f"{name}: {len(ours)} Sluice predictions vs {len(theirs)} official")
        return
    top1 = sum(1 for a, b in zip(ours, theirs) if (a[0][:1] == b[0][:1]))
    worst = 0.0
    label_mismatch = 0
    for a, b in zip(ours, theirs):
        if full_order and a[0] != b[0]:
            # Labels whose probabilities print identically may swap places in the text output.
            if sorted(a[0]) != sorted(b[0]):
                label_mismatch += 1
                continue
        pa = dict(zip(a[0], a[1]))
        for lab, p in zip(b[0], b[1]):
            if lab in pa:
                # The command line prints 6 significant digits.
                worst = max(worst, abs(pa[lab] - p))
    check(top1 == len(theirs), f"{name}: same top-1 label on {top1}/{len(theirs)} lines")
    check(label_mismatch == 0, f"{name}: same label sets on every line ({label_mismatch} differ)")
    check(worst <= TOLERANCE, f"{name}: largest probability difference {worst:.2e} (limit {TOLERANCE:g})")


def user_seconds(cmd, stdout=subprocess.DEVNULL):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.time()
    subprocess.run(cmd, stdout=stdout, stderr=subprocess.DEVNULL, check=True)
    wall = time.time() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime, wall


def test_precision(sluice, model, test_file):
    r = subprocess.run([sluice, "fasttext", "test", model, test_file], capture_output=True, text=True, check=True)
    vals = dict(l.split("\t") for l in r.stdout.strip().split("\n"))
    return float(vals["P@1"])


# ---------------------------------------------------------------------------------------------
# Fixtures for the Swift tests (no Python needed when the tests run)


def write_fixtures(args):
    wheel = wheel_python()
    predictor = predict_python()
    os.makedirs(FIXTURES, exist_ok=True)
    work = args.work
    tr, te = language_dataset(work, max_train=3000, max_test=400, seed=7)
    shutil.copy(tr, os.path.join(FIXTURES, "lang.train"))
    shutil.copy(te, os.path.join(FIXTURES, "lang.test"))
    probe = unlabelled(te, os.path.join(work, "probe.txt"))
    probe_lines = open(probe, encoding="utf-8").read().splitlines()[:120]
    open(os.path.join(FIXTURES, "probe.txt"), "w", encoding="utf-8").write("\n".join(probe_lines) + "\n")
    common = {"dim": 8, "epoch": 10, "lr": 0.5, "minCount": 2, "bucket": 2000, "thread": 1, "seed": 0}
    models = {
        "softmax.bin": {**common, "loss": "softmax", "wordNgrams": 2},
        "hs.bin": {**common, "loss": "hs", "minn": 2, "maxn": 4},
        "ns.bin": {**common, "loss": "ns", "wordNgrams": 2, "neg": 3},
        "ova.bin": {**common, "loss": "ova", "wordNgrams": 2, "minn": 3, "maxn": 5},
        "quantized.ftz": {**common, "loss": "softmax", "wordNgrams": 2, "minn": 2, "maxn": 4},
    }
    expected = {"probe": "probe.txt", "models": {}}
    for name, params in models.items():
        out = os.path.join(FIXTURES, name)
        quant = {"qnorm": True, "cutoff": 1500, "retrain": True, "epoch": 2} if name.endswith(".ftz") else None
        res = run_worker(wheel, "train", input=tr, test=te, params=params, output=out, quantize=quant)
        pred_path = os.path.join(work, name + ".pred.json")
        run_worker(predictor, "predict", model=out, lines=os.path.join(FIXTURES, "probe.txt"), k=-1, output=pred_path)
        preds = json.load(open(pred_path))
        expected["models"][name] = {
            "params": params,
            "quantize": quant,
            "test_n": res["n"],
            "test_precision": res["precision"],
            "predictions": preds,
        }
        print(f"{name}: {os.path.getsize(out)} bytes, P@1 {res['precision']:.4f}")
    # lid.176.ftz expectations (used only where the model is installed).
    lid = os.path.join(args.models, "lid.176.ftz")
    if os.path.exists(lid):
        lines_path, _ = multilingual_lines(work)
        lines = open(lines_path, encoding="utf-8").read().splitlines()
        sample = lines[:: max(1, len(lines) // 300)][:300]
        sp = os.path.join(FIXTURES, "lid_probe.txt")
        open(sp, "w", encoding="utf-8").write("\n".join(sample) + "\n")
        pred_path = os.path.join(work, "lid.pred.json")
        run_worker(predictor, "predict", model=lid, lines=sp, k=3, output=pred_path)
        expected["lid176"] = {"probe": "lid_probe.txt", "predictions": json.load(open(pred_path))}
    json.dump(expected, open(os.path.join(FIXTURES, "expected.json"), "w"), ensure_ascii=False, separators=(",", ":"))
    print("fixtures written to", FIXTURES)


# ---------------------------------------------------------------------------------------------
# The comparison


def compare(args):
    sluice = args.sluice
    if not sluice:
        subprocess.run(["swift", "build", "-c", "release", "--product", "sluice"], cwd=ROOT, check=True)
        binpath = subprocess.run(["swift", "build", "-c", "release", "--show-bin-path"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
        sluice = os.path.join(binpath, "sluice")
    wheel = wheel_python()
    predictor = predict_python()
    work = args.work
    lid = os.path.join(args.models, "lid.176.ftz")
    if not os.path.exists(lid):
        subprocess.run([os.path.join(ROOT, "scripts", "setup-models.sh"), args.models], check=True)

    # 1. lid.176.ftz on real multilingual lines.
    lines, n = multilingual_lines(work)
    check(n >= 10000, f"{n} real multilingual lines (at least 10,000)")
    ours = sluice_predict(sluice, lid, lines, 5)
    for label, py in [("fasttext-predict", predictor), ("fasttext-wheel 0.9.2", wheel)]:
        out = os.path.join(work, "lid_official.json")
        run_worker(py, "predict", model=lid, lines=lines, k=5, output=out)
        compare_predictions(f"lid.176.ftz vs {label}, top 5", ours, json.load(open(out)))
    subset = os.path.join(work, "lines_subset.txt")
    all_lines = open(lines, encoding="utf-8").read().splitlines()
    open(subset, "w", encoding="utf-8").write("\n".join(all_lines[::50]) + "\n")
    out = os.path.join(work, "lid_all.json")
    run_worker(predictor, "predict", model=lid, lines=subset, k=-1, output=out)
    compare_predictions("lid.176.ftz all 176 labels (k=-1) on every 50th line", sluice_predict(sluice, lid, subset, -1), json.load(open(out)))

    # 2. Models trained by official fastText, each loss, and a quantized one.
    tr, te = language_dataset(work)
    probe = unlabelled(te, os.path.join(work, "probe.txt"))
    # One thread: both sides are then deterministic, so the accuracy comparison is not noise.
    base = {"dim": 32, "epoch": 5, "lr": 0.3, "bucket": 200000, "thread": 1}
    variants = [
        ("softmax", {**base, "loss": "softmax", "wordNgrams": 2}, None),
        ("ns", {**base, "loss": "ns", "wordNgrams": 2}, None),
        ("hs", {**base, "loss": "hs", "wordNgrams": 2, "minn": 2, "maxn": 4}, None),
        ("ova", {**base, "loss": "ova", "wordNgrams": 3, "minn": 3, "maxn": 5}, None),
        ("quantized", {**base, "loss": "softmax", "wordNgrams": 2, "minn": 2, "maxn": 4},
         {"qnorm": True, "cutoff": 50000, "retrain": True, "epoch": 1}),
    ]
    official_precision = {}
    for name, params, quant in variants:
        path = os.path.join(work, f"official_{name}" + (".ftz" if quant else ".bin"))
        res = run_worker(wheel, "train", input=tr, test=te, params=params, output=path, quantize=quant)
        official_precision[name] = res["precision"]
        out = os.path.join(work, f"official_{name}.json")
        run_worker(predictor, "predict", model=path, lines=probe, k=-1, output=out)
        compare_predictions(f"official-trained {name} model, all labels", sluice_predict(sluice, path, probe, -1), json.load(open(out)))

    # 3. Models trained by Sluice, loaded in official fastText.
    flag = {"dim": "-dim", "epoch": "-epoch", "lr": "-lr", "bucket": "-bucket", "thread": "-thread",
            "loss": "-loss", "wordNgrams": "-wordNgrams", "minn": "-minn", "maxn": "-maxn"}
    for name, params, quant in variants:
        prefix = os.path.join(work, f"sluice_{name}")
        cmd = [sluice, "fasttext", "supervised", "-input", tr, "-output", prefix, "-verbose", "0"]
        for k, v in params.items():
            cmd += [flag[k], str(v)]
        subprocess.run(cmd, check=True)
        path = prefix + ".bin"
        if quant:
            q = [sluice, "fasttext", "quantize", "-input", tr, "-output", prefix, "-qnorm", "-retrain",
                 "-cutoff", str(quant["cutoff"]), "-epoch", str(quant["epoch"]), "-verbose", "0"]
            subprocess.run(q, check=True)
            path = prefix + ".ftz"
        out = os.path.join(work, f"sluice_{name}_in_official.json")
        run_worker(predictor, "predict", model=path, lines=probe, k=-1, output=out)
        compare_predictions(f"Sluice-trained {name} model in official fastText, all labels", sluice_predict(sluice, path, probe, -1), json.load(open(out)))
        theirs = run_worker(wheel, "test", model=path, test=te)
        ours = test_precision(sluice, path, te)
        check(abs(theirs["precision"] - ours) < 0.0015, f"Sluice-trained {name}: `test` P@1 {ours:.3f} in Sluice, {theirs['precision']:.4f} in official")
        diff = (theirs["precision"] - official_precision[name]) * 100
        check(abs(diff) <= 1.0, f"Sluice-trained {name}: P@1 {theirs['precision']:.4f} vs official-trained {official_precision[name]:.4f} ({diff:+.2f} points, limit 1)")

    # 4. The language_id stage, end to end, against datatrove's recipe.
    pipeline = os.path.join(work, "lid_stage.yaml")
    inputs = [os.path.join(ROOT, "SampleData", f) for f in sorted(os.listdir(os.path.join(ROOT, "SampleData"))) if f.endswith(".jsonl.zst")]
    with open(pipeline, "w") as f:
        f.write("name: lid_stage\ninput:\n  type: jsonl\n  paths: " + json.dumps(inputs) + "\n")
        f.write("stages:\n  - type: language_id\n    model: " + json.dumps(lid) + "\n    label_only: true\n")
        f.write("output:\n  path: " + json.dumps(os.path.join(work, "lid_stage_out")) + "\nrun:\n  tasks: 2\n  workers: 2\n")
    shutil.rmtree(os.path.join(work, "lid_stage_out"), ignore_errors=True)
    subprocess.run([sluice, "run", pipeline, "--quiet"], check=True, stdout=subprocess.DEVNULL)
    stage_docs = {}
    out_dir = os.path.join(work, "lid_stage_out")
    for name in sorted(os.listdir(out_dir)):
        if name.endswith(".jsonl.zst"):
            for d in read_jsonl_zst(os.path.join(out_dir, name)):
                stage_docs[d["id"]] = (d["metadata"].get("language"), d["metadata"].get("language_score"))
    documents = []
    for path in inputs:
        for d in read_jsonl_zst(path):
            documents.append([d["id"], d["text"]])
    docs_path = os.path.join(work, "lid_documents.json")
    json.dump(documents, open(docs_path, "w"))
    out = os.path.join(work, "lid_documents_official.json")
    run_worker(predictor, "predict_documents", model=lid, documents=docs_path, output=out)
    official = json.load(open(out))
    same_label = sum(1 for i, v in official.items() if v and stage_docs.get(i, (None,))[0] == v[0])
    worst = max((abs(stage_docs[i][1] - v[1]) for i, v in official.items() if v and i in stage_docs), default=1.0)
    check(len(stage_docs) == len(documents), f"language_id stage kept every document with label_only ({len(stage_docs)}/{len(documents)})")
    check(same_label == len(official), f"language_id stage: same language as datatrove's recipe on {same_label}/{len(official)} documents")
    check(worst <= TOLERANCE, f"language_id stage: largest language_score difference {worst:.2e} (limit {TOLERANCE:g})")

    # 5. Speed.
    official_cli = shutil.which("fasttext")
    unl = unlabelled(lines, os.path.join(work, "lines_plain.txt"))
    reps = 3
    ours_t = min(user_seconds([sluice, "fasttext", "predict", lid, unl])[0] for _ in range(reps))
    print(f"SPEED language ID, {n} lines, {os.path.getsize(unl) / 1e6:.1f} MB, one thread:")
    print(f"  sluice fasttext predict: {ours_t:.3f} s CPU ({n / ours_t:,.0f} lines/s)")
    if official_cli:
        theirs_t = min(user_seconds([official_cli, "predict", lid, unl])[0] for _ in range(reps))
        print(f"  official fasttext predict (Debian 0.9.2): {theirs_t:.3f} s CPU ({n / theirs_t:,.0f} lines/s)")
        check(ours_t <= theirs_t, f"language ID per core at least as fast as official ({theirs_t / ours_t:.2f}x)")
    res = run_worker(predictor, "time_predict", model=lid, lines=unl)
    print(f"  fasttext-predict from Python, one call a line: {res['seconds']:.3f} s CPU")
    if official_cli:
        flags = ["-dim", "100", "-wordNgrams", "2", "-bucket", "2000000", "-epoch", "5", "-thread", "2", "-verbose", "0"]
        for loss in ["softmax", "hs", "ns", "ova"]:
            o_cpu, o_wall = user_seconds([official_cli, "supervised", "-input", tr, "-output", os.path.join(work, "t_off"), "-loss", loss, *flags])
            s_cpu, s_wall = user_seconds([sluice, "fasttext", "supervised", "-input", tr, "-output", os.path.join(work, "t_sl"), "-loss", loss, *flags])
            print(f"SPEED training {loss} ({' '.join(flags)}): official {o_wall:.2f} s wall / {o_cpu:.2f} s CPU, sluice {s_wall:.2f} s wall / {s_cpu:.2f} s CPU")
            check(s_cpu <= 1.5 * o_cpu, f"training {loss} within 1.5x official CPU time ({s_cpu / o_cpu:.2f}x)")

    print()
    if failures:
        print(f"{len(failures)} check(s) failed:")
        for f in failures:
            print("  " + f)
        return 1
    print("all checks passed")
    return 0


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "--worker":
        worker_main(json.loads(sys.argv[2]))
        return 0
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sluice", help="path of the sluice binary (default: build it in release mode)")
    p.add_argument("--models", default=os.environ.get("SLUICE_MODELS", os.path.join(ROOT, "models")))
    p.add_argument("--work", default="/tmp/sluice-fasttext-compare")
    p.add_argument("--write-fixtures", action="store_true", help="regenerate the Swift tests' fixture models")
    args = p.parse_args()
    os.makedirs(args.work, exist_ok=True)
    if args.write_fixtures:
        write_fixtures(args)
        return 0
    return compare(args)


if __name__ == "__main__":
    sys.exit(main())
