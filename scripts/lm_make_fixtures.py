#!/usr/bin/env python3
"""Rebuilds the SluiceLM test fixtures in Tests/Fixtures/lm/ (see PROVENANCE.md there).

Needs: python3, zstd on PATH, and KenLM's lmplz (pass its path: --lmplz PATH; build it from
the PyPI kenlm sdist as scripts/compare_kenlm.py explains). Deterministic: the same
SampleData/ and lmplz give the same bytes.

  python3 scripts/lm_make_fixtures.py --lmplz /path/to/lmplz
"""
import argparse
import io
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lm_reference as ref  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "Fixtures", "lm")


def read_jsonl_zst(path):
    data = subprocess.run(["zstd", "-dc", path], check=True, capture_output=True).stdout
    return [json.loads(l) for l in data.decode("utf-8").split("\n") if l]


def zstd_write(path, data):
    subprocess.run(["zstd", "-19", "-q", "-f", "-o", path], input=data, check=True)


def prose_corpus_lines():
    """Every 37th non-empty line of SampleData/prose's texts, the first 300 of them."""
    lines = []
    for d in read_jsonl_zst(os.path.join(ROOT, "SampleData", "prose.jsonl.zst")):
        lines.extend(d["text"].rstrip("\n").split("\n"))
    picked = [l for i, l in enumerate(lines) if i % 37 == 0 and l.split()]
    return picked[:300]


def kn_corpus_lines():
    """A small corpus for the Kneser-Ney fixtures: Genesis 1-6 from SampleData/prose, with the
    empty lines kept (they become "<s> </s>" sentences)."""
    docs = read_jsonl_zst(os.path.join(ROOT, "SampleData", "prose.jsonl.zst"))
    genesis = [d for d in docs if d["id"].startswith("bible-kjv-text/kjv/01-Genesis/")][:6]
    lines = []
    for d in genesis:
        lines.extend(d["text"].rstrip("\n").split("\n"))
    return lines


def clip(text, limit=1800):
    return text if len(text) <= limit else text[:limit]


SYNTHETIC = [
    ("synthetic/empty-lines", "In the beginning\n\n\nand the earth\n"),
    ("synthetic/only-newline", "\n"),
    ("synthetic/one-word", "God"),
    ("synthetic/unknown-words", "zyzzyva quux frobnicate the of"),
    ("synthetic/tabs-and-cr", "And\tGod said,\r\nLet there  be light:\x0b and\x0cthere was light.\r"),
    ("synthetic/nbsp-and-unicode-spaces", "And\u00a0God said\u2003unto\u3000Moses \u2028 and\u205fthe\x1ceth"),
    ("synthetic/digits-and-punct", "Chapter 12，verse 3：“Hello” — «quoted» … 1９8４ ％ ► ⅫⅢ ²"),
    ("synthetic/accents-and-case", "ÉLÉPHANT Ça Déjà-vu İstanbul ǅemal Ǆ ß ẞ ﬁ Ω Å ñ"),
    ("synthetic/greek-final-sigma", "ΟΔΟΣ ΣΟΦΙΑ Σ ΑΣ. ΑΣ' ΑΣ̈ σΣ ΌΣΟΣ Σ2 aΣb"),
    ("synthetic/hangul-cjk-emoji", "한국어 텍스트 中文，測試。 日本語のテキスト 😀 ﾊﾝｶｸ"),
    ("synthetic/controls", "bell\x07 esc\x1b[33mcolour\x1b[0m back\x08space del\x7f c1\x85\x9f end"),
    ("synthetic/leading-trailing-space", "   \u00a0 the LORD God \u3000  \t\n  \n\t"),
    ("synthetic/special-tokens", "<s> the </s> <unk> <UNK> God"),
]


def select_documents():
    docs = []
    prose = read_jsonl_zst(os.path.join(ROOT, "SampleData", "prose.jsonl.zst"))
    for i in (0, 1, 40, 500, 1200, 1300):
        docs.append((prose[i]["id"], clip(prose[i]["text"])))
    man = read_jsonl_zst(os.path.join(ROOT, "SampleData", "manpages.jsonl.zst"))
    seen = set()
    for d in man:
        lang = d["metadata"].get("language")
        if lang not in seen:
            seen.add(lang)
            docs.append((d["id"], clip(d["text"])))
    fortunes = read_jsonl_zst(os.path.join(ROOT, "SampleData", "fortunes.jsonl.zst"))
    picked = 0
    for d in fortunes:
        t = d["text"]
        noisy = any(c in t for c in "\x1b\x08\x07")
        if noisy or picked < 6 and d["metadata"].get("language") in ("en", "de", "ru", "cs"):
            if noisy and sum(1 for x in docs if x[0].startswith("fortunes") and any(c in x[1] for c in "\x1b\x08\x07")) >= 4:
                continue
            docs.append((d["id"], clip(t)))
            picked += 1
        if picked >= 12:
            break
    docs.extend(SYNTHETIC)
    return docs


PRUNED_SENTENCES = [
    "a b c",
    "a b c d",
    "b c d",
    "x b c",
    "c d a b c d",
    "a x c",
    "d d d d",
    "a b",
    "b a b c",
    "zzz a b c zzz",
    "",
]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lmplz", required=True, help="path of KenLM's lmplz")
    args = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)

    # The scoring model: a 4-gram by lmplz.
    corpus = ("\n".join(prose_corpus_lines()) + "\n").encode("utf-8")
    arpa = subprocess.run([args.lmplz, "-o", "4", "-S", "10%"], input=corpus, check=True,
                          capture_output=True).stdout
    zstd_write(os.path.join(OUT, "prose4.arpa.zst"), arpa)
    model_path = os.path.join(OUT, "prose4.arpa")
    with open(model_path, "wb") as f:
        f.write(arpa)
    model = ref.ArpaModel(model_path)

    # Documents and the reference scores.
    docs = select_documents()
    with open(os.path.join(OUT, "docs.jsonl"), "w", encoding="utf-8") as f:
        for i, t in docs:
            f.write(json.dumps({"id": i, "text": t}, ensure_ascii=False) + "\n")
    with open(os.path.join(OUT, "docs.expected.jsonl"), "w", encoding="utf-8") as f:
        for i, t in docs:
            row = {"id": i}
            for name, norm in (("none", False), ("ccnet", True)):
                r = ref.doc_score(model, t, norm)
                lines = [ref.ccnet_normalize(l) if norm else l for l in t.split("\n")]
                r["line_log10"] = [round(model.sentence(ref.kenlm_split(l)), 6) for l in lines]
                r["log10"] = round(r["log10"], 6)
                row[name] = r
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    os.remove(model_path)

    # Normalisation cases: the first 8 distinct lines of every document, every line of the
    # synthetic ones.
    with open(os.path.join(OUT, "normalize.jsonl"), "w", encoding="utf-8") as f:
        seen = set()
        for i, t in docs:
            for l in t.split("\n")[: None if i.startswith("synthetic/") else 8]:
                if l not in seen:
                    seen.add(l)
                    f.write(json.dumps({"in": l, "out": ref.ccnet_normalize(l)}, ensure_ascii=False) + "\n")

    # The hand-written pruned model and its reference scores.
    pruned = ref.ArpaModel(os.path.join(OUT, "pruned.arpa"))
    with open(os.path.join(OUT, "pruned.expected.tsv"), "w", encoding="utf-8") as f:
        for s in PRUNED_SENTENCES:
            f.write("%.6f\t%s\n" % (pruned.sentence(ref.kenlm_split(s)), s))

    # Kneser-Ney: a small corpus and the reference estimates.
    kn = "\n".join(kn_corpus_lines()) + "\n"
    with open(os.path.join(OUT, "kn-corpus.txt"), "w", encoding="utf-8") as f:
        f.write(kn)
    lines = kn.encode("utf-8").split(b"\n")[:-1]
    for order in (1, 3, 5):
        vocab, m = ref.train_kneser_ney(lines, order)
        out = io.StringIO()
        ref.write_arpa(vocab, m, out)
        zstd_write(os.path.join(OUT, "kn-corpus.o%d.arpa.zst" % order), out.getvalue().encode("utf-8"))
    print("fixtures written to", OUT)


if __name__ == "__main__":
    main()
