#!/usr/bin/env python3
"""Independent reference computations for SluiceLM, in plain Python (dicts, doubles, no KenLM).

Written here from the published definitions, to check the Swift code against something that
shares none of its structure:

- `ArpaModel`: reads ARPA text into dicts and scores a sentence with the textbook back-off
  rule: log10 P(w | h) = p(h w) if the n-gram h w exists, otherwise bo(h) + log10 P(w | h
  without its first word), where bo(h) is 0 when h is not in the model.
- `ccnet_normalize`: CCNet's text_normalizer.normalize rules (strip, lower, NFD without Mn,
  digits to 0, the punctuation table, control characters removed), on whole Python strings.
- `doc_score`: CCNet's DocLM: lines split on "\\n", pp = 10^(-sum log10 / sum(len(split)+1)).
- `train_kneser_ney`: interpolated modified Kneser-Ney as lmplz estimates it (adjusted
  counts, three discounts per order from counts of counts, interpolation with the
  lower order, uniform base over the vocabulary without <s>, back-offs), in double precision.

Commands:
  lm_reference.py score MODEL.arpa < lines           print "log10<TAB>line" per line
  lm_reference.py docs MODEL.arpa DOCS.jsonl          print {"id","none":{...},"ccnet":{...}} per doc
  lm_reference.py train ORDER < corpus > model.arpa   write the reference estimate
  lm_reference.py normalize < lines                   print ccnet_normalize(line) per line
"""
import json
import math
import re
import sys
import unicodedata

# ----------------------------------------------------------------------------- ARPA scoring


class ArpaModel:
    def __init__(self, path):
        self.prob = {}
        self.backoff = {}
        self.order = 0
        section = None
        with open(path, encoding="utf-8") as f:
            for raw in f:
                line = raw.strip()
                if not line:
                    continue
                if line == "\\data\\":
                    section = "data"
                    continue
                if line == "\\end\\":
                    break
                m = re.fullmatch(r"\\(\d+)-grams:", line)
                if m:
                    section = int(m.group(1))
                    self.order = max(self.order, section)
                    continue
                if section == "data" or section is None:
                    continue
                parts = line.split()
                n = section
                words = tuple(parts[1 : 1 + n])
                self.prob[words] = float(parts[0])
                if len(parts) > n + 1:
                    self.backoff[words] = float(parts[n + 1])
        if ("<unk>",) not in self.prob:
            self.prob[("<unk>",)] = -100.0
        self.vocab = {w[0] for w in self.prob if len(w) == 1}

    def word_logp(self, history, word):
        """log10 P(word | history), history a tuple (already cut to order-1 words)."""
        if (tuple(history) + (word,)) in self.prob:
            return self.prob[tuple(history) + (word,)]
        if not history:
            return self.prob[(word,)]
        return self.backoff.get(tuple(history), 0.0) + self.word_logp(history[1:], word)

    def sentence(self, words, bos=True, eos=True):
        tokens = [w if w in self.vocab else "<unk>" for w in words]
        history = ["<s>"] if bos else []
        total = 0.0
        for w in tokens + (["</s>"] if eos else []):
            h = history[-(self.order - 1) :] if self.order > 1 else []
            total += self.word_logp(tuple(h), w)
            history.append(w)
        return total


def kenlm_split(line):
    """KenLM's Python Model.score: line.encode().split(), ASCII whitespace only."""
    return [w.decode("utf-8", "surrogateescape") for w in line.encode("utf-8", "surrogateescape").split()]


# ----------------------------------------------------------------------------- CCNet

UNICODE_PUNCT = {
    "\uff0c": ",", "\u3002": ".", "\u3001": ",", "\u201e": '"', "\u201d": '"', "\u201c": '"',
    "\u00ab": '"', "\u00bb": '"', "\uff11": '"', "\u300d": '"', "\u300c": '"', "\u300a": '"',
    "\u300b": '"', "\u00b4": "'", "\u2236": ":", "\uff1a": ":", "\uff1f": "?", "\uff01": "!",
    "\uff08": "(", "\uff09": ")", "\uff1b": ";", "\u2013": "-", "\u2014": " - ", "\uff0e": ". ",
    "\uff5e": "~", "\u2019": "'", "\u2026": "...", "\u2501": "-", "\u3008": "<", "\u3009": ">",
    "\u3010": "[", "\u3011": "]", "\uff05": "%", "\u25ba": "-",
}
CONTROL = re.compile("[" + "".join(chr(c) for c in list(range(32)) + list(range(127, 160))) + "]")


def ccnet_normalize(line):
    line = line.strip()
    if not line:
        return line
    line = line.lower()
    line = "".join(c for c in unicodedata.normalize("NFD", line) if unicodedata.category(c) != "Mn")
    line = re.sub(r"\d", "0", line)
    line = "".join(UNICODE_PUNCT.get(c, c) for c in line)
    return CONTROL.sub("", line)


def doc_score(model, text, normalize):
    log10, length, lines = 0.0, 0, 0
    for line in text.split("\n"):
        if normalize:
            line = ccnet_normalize(line)
        log10 += model.sentence(kenlm_split(line))
        length += len(line.split()) + 1
        lines += 1
    return {"log10": log10, "length": length, "lines": lines, "perplexity": 10.0 ** (-log10 / length)}


# ----------------------------------------------------------------------------- Kneser-Ney

LMPLZ_DELIMITERS = re.compile(rb"[\x00\t\n\r ]+")


def train_kneser_ney(lines, order):
    """lines: byte strings (no newline). Returns (vocab list, {n: {ngram: (log10p, log10bo)}})."""
    vocab = ["<unk>", "<s>", "</s>"]
    seen = set(vocab)
    sentences = []
    for raw in lines:
        words = [w.decode("utf-8", "surrogateescape") for w in LMPLZ_DELIMITERS.split(raw) if w]
        words = [w for w in words if w not in ("<s>", "</s>", "<unk>")]
        for w in words:
            if w not in seen:
                seen.add(w)
                vocab.append(w)
        sentences.append(["<s>"] + words + ["</s>"])

    # Raw counts of every n-gram of every order in "<s> w1 ... </s>" (one <s>).
    raw = [dict() for _ in range(order + 1)]
    for s in sentences:
        for n in range(1, order + 1):
            for i in range(len(s) - n + 1):
                g = tuple(s[i : i + n])
                if g == ("<s>",):
                    continue
                raw[n][g] = raw[n].get(g, 0) + 1

    # Adjusted counts: the highest order and n-grams starting with <s> keep raw counts;
    # other lower-order n-grams count their distinct left extensions.
    adj = [dict() for _ in range(order + 1)]
    adj[order] = dict(raw[order])
    for n in range(order - 1, 0, -1):
        for g, c in raw[n].items():
            if g[0] == "<s>":
                adj[n][g] = c
        for g in adj[n + 1]:
            suffix = g[1:]
            adj[n][suffix] = adj[n].get(suffix, 0) + 1
    adj[1][("<unk>",)] = 0
    adj[1][("<s>",)] = 0
    for w in vocab:
        adj[1].setdefault((w,), 0)

    # Discounts from counts of counts (Chen & Goodman eq. 26).
    discounts = {}
    for n in range(1, order + 1):
        t = [0] * 5
        for c in adj[n].values():
            if 1 <= c <= 4:
                t[c] += 1
        if min(t[1:4]) == 0:
            raise ValueError("order %d: no n-grams with adjusted count 1, 2 or 3; discounts undefined" % n)
        y = t[1] / (t[1] + 2 * t[2])
        discounts[n] = [0.0] + [k - (k + 1) * y * t[k + 1] / t[k] for k in (1, 2, 3)]
        if any(not 0 <= discounts[n][k] <= k for k in (1, 2, 3)):
            raise ValueError("order %d: discounts out of range: %r" % (n, discounts[n]))

    def d(n, c):
        return discounts[n][min(c, 3)]

    # Context statistics.
    stats = [dict() for _ in range(order + 1)]
    for n in range(1, order + 1):
        for g, c in adj[n].items():
            ctx = g[:-1]
            s = stats[n].setdefault(ctx, [0, 0, 0, 0])
            s[0] += c
            if c > 0:
                s[min(c, 3)] += 1
    gamma = [dict() for _ in range(order + 1)]
    for n in range(1, order + 1):
        for ctx, s in stats[n].items():
            gamma[n][ctx] = (d(n, 1) * s[1] + d(n, 2) * s[2] + d(n, 3) * s[3]) / s[0]

    uniform = 1.0 / (len(vocab) - 1)  # <unk> included, <s> not
    prob = [dict() for _ in range(order + 1)]
    for n in range(1, order + 1):
        for g, c in adj[n].items():
            ctx = g[:-1]
            if n == 1:
                if g == ("<s>",):
                    prob[1][g] = 1.0
                    continue
                u = 0.0 if g == ("<unk>",) else (c - d(1, c)) / stats[1][()][0]
                prob[1][g] = u + gamma[1][()] * uniform
            else:
                u = (c - d(n, c)) / stats[n][ctx][0]
                prob[n][g] = u + gamma[n][ctx] * prob[n - 1][g[1:]]

    model = {}
    for n in range(1, order + 1):
        model[n] = {}
        for g, p in prob[n].items():
            bo = None
            if n < order:
                bo = math.log10(gamma[n + 1][g]) if g in gamma[n + 1] else 0.0
            model[n][g] = (min(0.0, math.log10(p)), bo)
    return vocab, model


def write_arpa(vocab, model, out):
    order = len(model)
    out.write("\\data\\\n")
    for n in range(1, order + 1):
        out.write("ngram %d=%d\n" % (n, len(model[n])))
    for n in range(1, order + 1):
        out.write("\n\\%d-grams:\n" % n)
        for g in sorted(model[n]):
            p, bo = model[n][g]
            out.write("%.7g\t%s" % (p, " ".join(g)))
            out.write("\t%.7g\n" % bo if bo is not None else "\n")
    out.write("\n\\end\\\n")


# ----------------------------------------------------------------------------- CLI


def main():
    cmd = sys.argv[1]
    if cmd == "score":
        model = ArpaModel(sys.argv[2])
        for line in sys.stdin.read().split("\n")[:-1]:
            print("%.6f\t%s" % (model.sentence(kenlm_split(line)), line))
    elif cmd == "docs":
        model = ArpaModel(sys.argv[2])
        with open(sys.argv[3], encoding="utf-8") as f:
            for raw in f:
                d = json.loads(raw)
                print(json.dumps({"id": d["id"], "none": doc_score(model, d["text"], False),
                                  "ccnet": doc_score(model, d["text"], True)}))
    elif cmd == "train":
        lines = sys.stdin.buffer.read().split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        vocab, model = train_kneser_ney(lines, int(sys.argv[2]))
        write_arpa(vocab, model, sys.stdout)
    elif cmd == "normalize":
        for line in sys.stdin.read().split("\n")[:-1]:
            print(ccnet_normalize(line))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
