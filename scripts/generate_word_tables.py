#!/usr/bin/env python3
"""Generate Sources/SluiceFilters/WordTables.swift: the character classes and tokenizer exceptions
that Sluice's word splitter needs to agree with datatrove 0.10 on English text.

datatrove 0.10 splits English into words with spaCy's rule-based tokenizer (spacy.blank("en")) and
counts with Python's str methods. Those rules are defined over Unicode character classes that we
read here, from the running Python and spaCy, by asking each regular expression or str method about
every code point, so that the Swift side answers exactly the same questions:

  - Python:  str.isspace, str.isalpha, regex \\d and \\w (Unicode 14 in Python 3.11), unicodedata
             category P* (spaCy's is_punct);
  - datatrove: PUNCTUATION_SET (Gopher's "symbol word" test), TERMINAL_PUNCTUATION (FineWeb);
  - spaCy 3.8 English: one-character prefixes and suffixes, the character classes used in the
             lookbehinds/lookaheads of its suffix and infix rules (ALPHA, ALPHA_LOWER, ALPHA_UPPER,
             quotes, icons), currency and unit strings, the sentencizer's punctuation characters,
             and the tokenizer exception table (contractions, abbreviations, emoticons).

Run it with the datatrove venv made by ../shared/tools/setup_datatrove_venv.sh:
  /tmp/dt/venv/bin/python scripts/generate_word_tables.py > Sources/SluiceFilters/WordTables.swift
The output is deterministic for the same Python, spaCy and datatrove versions (recorded in it).
spaCy is MIT-licensed (c) Explosion AI; its exception table is data reproduced under that licence.
"""
import re
import sys
import unicodedata

import datatrove
import spacy
from datatrove.utils.text import PUNCTUATION_SET, TERMINAL_PUNCTUATION
from spacy.lang import char_classes as cc
from spacy.symbols import ORTH

# Flag bits: keep in sync with `WordFlag` in WordTables.swift (written below).
FLAGS = [
    ("space", "Python str.isspace()"),
    ("alpha", "Python str.isalpha()"),
    ("decimal", "Python re \\d (Unicode decimal digit)"),
    ("wordChar", "Python re \\w"),
    ("punctCategory", "Unicode general category P* (spaCy is_punct)"),
    ("gopherPunct", "datatrove PUNCTUATION_SET"),
    ("terminalPunct", "datatrove TERMINAL_PUNCTUATION"),
    ("sentencePunct", "spaCy sentencizer punct_chars"),
    ("prefixChar", "spaCy English one-character prefix"),
    ("suffixChar", "spaCy English one-character suffix (no lookbehind)"),
    ("icon", "spaCy ICONS (other symbols, emoji)"),
    ("spacyAlpha", "spaCy ALPHA"),
    ("spacyLower", "spaCy ALPHA_LOWER"),
    ("spacyUpper", "spaCy ALPHA_UPPER"),
    ("spacyQuote", "spaCy CONCAT_QUOTES"),
    ("dotSuffixAfter", "spaCy: '.' is split off after this character ([0-9 ALPHA_LOWER %²-+ PUNCT quotes])"),
    ("noSpaceScript", "scripts written without spaces: Han, Hiragana, Katakana, Thai, Lao, Khmer, Myanmar, Tibetan"),
    ("letterOrMark", "Unicode L* or M* (used by the no-space splitter to keep marks with their base)"),
    ("combiningMark", "Unicode M*"),
]


def no_space_script(c):
    o = ord(c)
    return (0x2E80 <= o <= 0x2FDF or 0x3005 <= o <= 0x3007 or 0x3021 <= o <= 0x3029 or 0x3038 <= o <= 0x303C
            or 0x3040 <= o <= 0x30FF or 0x31F0 <= o <= 0x31FF or 0x3400 <= o <= 0x4DBF or 0x4E00 <= o <= 0x9FFF
            or 0xF900 <= o <= 0xFAFF or 0xFF66 <= o <= 0xFF9F or 0x20000 <= o <= 0x3FFFF
            or 0x0E00 <= o <= 0x0EFF or 0x1780 <= o <= 0x17FF or 0x1000 <= o <= 0x109F or 0x0F00 <= o <= 0x0FFF)


def main():
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    tok = nlp.tokenizer
    punct_chars = set(nlp.get_pipe("sentencizer").punct_chars)
    prefix_search, suffix_search = tok.prefix_search, tok.suffix_search

    def cls(body):
        return re.compile("[" + body + "]")

    alpha = cls(cc.ALPHA)
    lower = cls(cc.ALPHA_LOWER)
    upper = cls(cc.ALPHA_UPPER)
    quotes = set(cc.CONCAT_QUOTES.replace("\\", ""))
    icons = cls(cc.ICONS)
    # the class in spaCy's suffix rule r"(?<=[0-9{al}{e}{p}(?:{q})])\." built the same way
    dot_after = re.compile(r"[0-9{al}{e}{p}(?:{q})]".format(al=cc.ALPHA_LOWER, e=r"%²\-\+", q=cc.CONCAT_QUOTES,
                                                            p=cc.PUNCT))
    re_d, re_w = re.compile(r"\d"), re.compile(r"\w")

    segments = []  # (first code point, flags)
    prev = None
    for o in range(0x110000):
        if 0xD800 <= o <= 0xDFFF:
            f = 0
        else:
            c = chr(o)
            cat = unicodedata.category(c)
            bits = [
                c.isspace(), c.isalpha(), bool(re_d.match(c)), bool(re_w.match(c)), cat.startswith("P"),
                c in PUNCTUATION_SET, c in TERMINAL_PUNCTUATION, c in punct_chars,
                c != "+" and (m := prefix_search(c + "a")) is not None and m.end() == 1,
                (m := suffix_search("\x01" + c)) is not None and (m.start(), m.end()) == (1, 2),
                bool(icons.match(c)), bool(alpha.match(c)), bool(lower.match(c)), bool(upper.match(c)),
                c in quotes, bool(dot_after.match(c)), no_space_script(c),
                cat[0] in "LM", cat[0] == "M",
            ]
            f = sum(1 << i for i, b in enumerate(bits) if b)
        if f != prev:
            segments.append((o, f))
            prev = f

    currency = [s.replace("\\", "") for s in cc.CURRENCY.split("|")]
    units = cc.UNITS.split("|")

    rules = tok.rules
    exceptions = []
    for key in sorted(rules):
        if any(ch.isspace() for ch in key):
            continue  # whitespace never reaches the splitter as a chunk
        pieces = [t[ORTH] for t in rules[key]]
        assert "".join(pieces) == key and all("\u0001" not in p for p in pieces)
        exceptions.append("\u0001".join(pieces))

    def swift_string(s):
        out = []
        for ch in s:
            o = ord(ch)
            if ch == "\\":
                out.append("\\\\")
            elif ch == '"':
                out.append('\\"')
            elif o < 0x20 or 0x7F <= o < 0xA0 or 0x2028 <= o <= 0x2029:
                out.append("\\u{%x}" % o)
            else:
                out.append(ch)
        return '"' + "".join(out) + '"'

    w = sys.stdout.write
    w("// GENERATED by scripts/generate_word_tables.py: do not edit by hand.\n")
    w(f"// Python {sys.version.split()[0]} (Unicode {unicodedata.unidata_version}), spaCy {spacy.__version__}, "
      f"datatrove {getattr(datatrove, '__version__', '0.10.x')}.\n")
    w("// The tokenizer exceptions are spaCy's English table (MIT licence, (c) Explosion AI).\n\n")
    w("/// Character classes, one bit each; see `scripts/generate_word_tables.py` for their sources.\n")
    w("struct WordFlag: OptionSet, Sendable {\n    let rawValue: UInt32\n")
    for i, (name, doc) in enumerate(FLAGS):
        w(f"    /// {doc}\n    static let {name} = WordFlag(rawValue: 1 << {i})\n")
    w("}\n\n")
    w("/// Code-point segments: `(first code point, flags)` pairs; each segment runs to the next one's start.\n")
    w(f"/// {len(segments)} segments, written as hexadecimal text to keep the compiler fast.\n")
    w("let wordFlagSegmentsHex: String = \"\"\"\n")
    line = []
    for o, f in segments:
        line.append(f"{o:x}:{f:x}")
        if len(line) == 12:
            w(" ".join(line) + "\n")
            line = []
    if line:
        w(" ".join(line) + "\n")
    w("\"\"\"\n\n")
    w("/// spaCy's currency symbols (a suffix after a digit).\n")
    w("let spacyCurrencies: [String] = [" + ", ".join(swift_string(s) for s in currency) + "]\n\n")
    w("/// spaCy's unit strings (a suffix after a digit), exactly as its pattern lists them.\n")
    w("let spacyUnits: [String] = [" + ", ".join(swift_string(s) for s in units) + "]\n\n")
    w(f"/// spaCy's English tokenizer exceptions ({len(exceptions)}): the pieces of each, separated by U+0001.\n")
    w("let spacyExceptions: [String] = [\n")
    for i in range(0, len(exceptions), 8):
        w("    " + ", ".join(swift_string(s) for s in exceptions[i:i + 8]) + ",\n")
    w("]\n")


if __name__ == "__main__":
    main()
