#!/usr/bin/env python3
"""Side-by-side extraction throughput: datatrove's WarcReader + Trafilatura extractor (as in its
FineWeb pipeline: favour_precision=True) against `sluice` warc input + html_extract, on the same
WARC files, one worker each.

Usage:
  VENV/bin/python scripts/bench_web_datatrove.py WARC_DIR SLUICE_BINARY SCRATCH_DIR
    WARC_DIR: *.warc.gz files (e.g. ../shared/tools/build_corpus.sh OUT → OUT/warc-dt)
    VENV: a venv with datatrove 0.10.1 (../shared/tools/setup_datatrove_venv.sh makes one)
Prints one JSON line per tool: documents in/out, wall seconds, the extraction step's own
seconds, and documents per second, then the ratio.
"""
import glob
import json
import os
import subprocess
import sys
import time


def run_datatrove(warc_dir, scratch):
    from datatrove.executor.local import LocalPipelineExecutor
    from datatrove.pipeline.extractors import Trafilatura
    from datatrove.pipeline.readers import WarcReader
    from datatrove.pipeline.writers.jsonl import JsonlWriter

    out = os.path.join(scratch, "dt")
    subprocess.run(["rm", "-rf", out], check=True)
    steps = [WarcReader(os.path.abspath(warc_dir), glob_pattern="*.warc.gz"),
             Trafilatura(favour_precision=True, timeout=1.0),
             JsonlWriter(f"{out}/output", compression=None)]
    ex = LocalPipelineExecutor(pipeline=steps, tasks=1, workers=1, logging_dir=f"{out}/logs")
    t0 = time.time()
    ex.run()
    wall = time.time() - t0
    stats = json.load(open(f"{out}/logs/stats.json"))
    extract_s, n_in, n_out = None, None, None
    for s in stats:
        if "Trafilatura" in s.get("name", ""):
            extract_s = s["time_stats"]["total"]
            n_in = s["stats"].get("total", s["stats"].get("forwarded", 0) + s["stats"].get("dropped", 0))
            n_out = s["stats"].get("forwarded")
    return {"tool": "datatrove 0.10.1 WarcReader+Trafilatura(favour_precision)", "documents_in": n_in,
            "documents_out": n_out, "wall_s": round(wall, 2), "extract_s": round(extract_s, 2) if extract_s else None,
            "extract_docs_per_s": round(n_in / extract_s, 1) if extract_s else None}


def run_sluice(warc_dir, binary, scratch):
    out = os.path.join(scratch, "sl")
    subprocess.run(["rm", "-rf", out], check=True)
    files = sorted(glob.glob(os.path.join(os.path.abspath(warc_dir), "*.warc.gz")))
    yaml = os.path.join(scratch, "bench-web.yaml")
    with open(yaml, "w") as f:
        f.write("name: bench-web\ninput:\n  type: warc\n  paths: %s\n  http_statuses: []\n"
                "stages:\n  - type: html_extract\noutput:\n  path: %s\nrun:\n  tasks: 1\n  workers: 1\n"
                % (json.dumps(files), out))
    t0 = time.time()
    subprocess.run([binary, "run", yaml, "--workers", "1"], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.time() - t0
    st = json.loads(subprocess.run([binary, "stats", out, "--json"], check=True, stdout=subprocess.PIPE).stdout)
    ex = [s for s in st["stages"] if s["type"] == "html_extract"][0]
    return {"tool": "sluice warc + html_extract", "documents_in": ex["received"], "documents_out": ex["kept"],
            "wall_s": round(wall, 2), "extract_s": round(ex["seconds"], 2),
            "extract_docs_per_s": round(ex["received"] / ex["seconds"], 1)}


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    warc_dir, binary, scratch = sys.argv[1:]
    os.makedirs(scratch, exist_ok=True)
    s = run_sluice(warc_dir, binary, scratch)
    print(json.dumps(s))
    d = run_datatrove(warc_dir, scratch)
    print(json.dumps(d))
    print(json.dumps({"extraction_speedup": round(s["extract_docs_per_s"] / d["extract_docs_per_s"], 1),
                      "wall_speedup": round(d["wall_s"] / s["wall_s"], 1)}))


if __name__ == "__main__":
    main()
