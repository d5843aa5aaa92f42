/// CCNet's text normalisation (`cc_net/text_normalizer.py`, `normalize(line)` with its
/// defaults), on UTF-8 bytes:
///
/// 1. strip whitespace at both ends (Python's `str.strip()`, Unicode whitespace);
/// 2. lowercase (Python's `str.lower()`: full case mappings, e.g. `İ` → `i̇`, and the
///    Final_Sigma rule: `Σ` → `ς` at the end of a word, `σ` elsewhere);
/// 3. strip accents: canonical decomposition (NFD), then drop nonspacing marks (category Mn);
/// 4. every decimal digit (Unicode category Nd, Python's `\d`) → `0`;
/// 5. CCNet's Unicode punctuation table: `，`→`,`, `。`→`.`, `、`→`,`, `„”“«»「」《》`→`"`,
///    `１`→`"` (never reached: it is a digit, so step 4 made it `0`), `´`→`'`, `∶：`→`:`, `？`→`?`,
///    `！`→`!`, `（`→`(`, `）`→`)`, `；`→`;`, `–`→`-`, `—`→` - `, `．`→`. `, `～`→`~`, `’`→`'`,
///    `…`→`...`, `━`→`-`, `〈`→`<`, `〉`→`>`, `【`→`[`, `】`→`]`, `％`→`%`, `►`→`-`;
/// 6. remove the control characters U+0000-U+001F and U+007F-U+009F (tabs included, so
///    `a\tb` becomes `ab`, as in CCNet).
///
/// Steps 2 to 6 act on one character at a time, so they are one table
/// (``CCNetNormalizationTable``, generated from Python's `unicodedata` by
/// `scripts/lm_generate_ccnet_table.py`), plus arithmetic for Hangul syllables and the
/// context rule for `Σ`. Not modelled: NFD's reordering of the few combining marks that are
/// not Mn but have a non-zero combining class (25 code points). ASCII takes a fast path.
///
/// CCNet's own pipeline applies this to whole documents before SentencePiece, which removes
/// the newlines and so scores every document as one line; Sluice applies it to each line
/// (CCNet's `DocLM(normalize=True)`), so line structure is kept.
public enum CCNetNormalizer {
    /// Normalises one line (no `\n` inside) and returns the bytes.
    public static func normalize(_ line: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: line.count * 3 + 16)
        let n = line.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                normalizeLine(src.baseAddress ?? UnsafePointer(dst.baseAddress!), 0, src.count, into: dst.baseAddress!)
            }
        }
        out.removeSubrange(n...)
        return out
    }

    /// Normalises `p[start..<end]` into `out`, which must have room for `3 * (end - start)`
    /// bytes; returns the number of bytes written.
    @usableFromInline
    static func normalizeLine(
        _ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int, into out: UnsafeMutablePointer<UInt8>
    ) -> Int {
        // 1. Strip Python whitespace at both ends.
        var first = start
        var last = start  // end of the last non-whitespace character
        var i = start
        var seenText = false
        var allASCII = true
        while i < end {
            let b = p[i]
            if b < 0x80 {
                if !(b == 32 || (b &- 9) < 5 || (b &- 28) < 4) {
                    if !seenText {
                        first = i
                        seenText = true
                    }
                    last = i + 1
                }
                i += 1
            } else {
                allASCII = false
                let (v, n) = LMText.decode(p, i, end)
                if v == LMText.invalidScalar || !LMText.isPythonSpace(v) {
                    if !seenText {
                        first = i
                        seenText = true
                    }
                    last = i + n
                }
                i += n
            }
        }
        if !seenText { return 0 }
        var o = 0
        if allASCII {
            for j in first..<last {
                let b = p[j]
                if b < 32 || b == 127 { continue }
                out[o] = (b &- 65) < 26 ? b | 0x20 : ((b &- 48) < 10 ? 48 : b)
                o += 1
            }
            return o
        }
        let table = CCNetTable.shared
        i = first
        while i < last {
            let b = p[i]
            if b < 0x80 {
                if !(b < 32 || b == 127) {
                    out[o] = (b &- 65) < 26 ? b | 0x20 : ((b &- 48) < 10 ? 48 : b)
                    o += 1
                }
                i += 1
                continue
            }
            let (v, n) = LMText.decode(p, i, last)
            if v == LMText.invalidScalar {
                out[o] = b
                o += 1
            } else if v >= 0xAC00 && v < 0xAC00 + 11172 {
                let s = v - 0xAC00
                o += LMText.encode(0x1100 + s / 588, out + o)
                o += LMText.encode(0x1161 + (s % 588) / 28, out + o)
                if s % 28 != 0 { o += LMText.encode(0x11A7 + s % 28, out + o) }
            } else if v == 0x3A3 {
                o += LMText.encode(finalSigma(p, first, i, i + n, last) ? 0x3C2 : 0x3C3, out + o)
            } else {
                let e = table.lookup(v)
                if e == 0 {
                    for k in 0..<n { out[o + k] = p[i + k] }
                    o += n
                } else {
                    let len = Int(e & 0xFF)
                    let off = Int((e >> 8) & 0x7F_FFFF)
                    for k in 0..<len { out[o + k] = table.bytes[off + k] }
                    o += len
                }
            }
            i += n
        }
        return o
    }

    /// Python's Final_Sigma test for the `Σ` at `p[at..<after]` within `p[lower..<upper]`:
    /// a cased letter before it (skipping case-ignorable characters) and none after it.
    static func finalSigma(_ p: UnsafePointer<UInt8>, _ lower: Int, _ at: Int, _ after: Int, _ upper: Int) -> Bool {
        var j = at
        var before = false
        while j > lower {
            var k = j - 1
            while k > lower && p[k] & 0xC0 == 0x80 { k -= 1 }
            let (v, _) = LMText.decode(p, k, j)
            j = k
            guard v != LMText.invalidScalar, let s = Unicode.Scalar(v) else { break }
            if s.properties.isCaseIgnorable { continue }
            before = s.properties.isCased
            break
        }
        if !before { return false }
        j = after
        while j < upper {
            let (v, n) = LMText.decode(p, j, upper)
            j += n
            guard v != LMText.invalidScalar, let s = Unicode.Scalar(v) else { return true }
            if s.properties.isCaseIgnorable { continue }
            return !s.properties.isCased
        }
        return true
    }
}

/// The per-character table of ``CCNetNormalizer`` in two levels: 256-code-point pages that
/// share one all-zero page when nothing in them changes. An entry is 0 for "unchanged", else
/// `0x8000_0000 | offset << 8 | length` into `bytes` (the replacement's UTF-8).
final class CCNetTable: Sendable {
    static let shared = CCNetTable()

    let pages: [UInt16]
    let entries: [UInt32]
    let bytes: [UInt8]

    @inline(__always)
    func lookup(_ v: UInt32) -> UInt32 {
        let page = Int(pages[Int(v >> 8)])
        return entries[page << 8 | Int(v & 0xFF)]
    }

    private init() {
        var pages = [UInt16](repeating: 0, count: 0x110000 >> 8)
        var entries = [UInt32](repeating: 0, count: 256)  // page 0: nothing changes
        var bytes: [UInt8] = []
        func set(_ v: UInt32, _ value: UInt32) {
            let p = Int(v >> 8)
            if pages[p] == 0 {
                pages[p] = UInt16(entries.count >> 8)
                entries.append(contentsOf: repeatElement(0, count: 256))
            }
            entries[Int(pages[p]) << 8 | Int(v & 0xFF)] = value
        }
        var buffer = [UInt8](repeating: 0, count: 4)
        for item in CCNetNormalizationTable.entries.split(separator: ";") {
            let parts = item.split(separator: ":", omittingEmptySubsequences: false)
            let range = parts[0].split(separator: "-")
            let lo = UInt32(range[0], radix: 16)!
            let hi = range.count > 1 ? UInt32(range[1], radix: 16)! : lo
            let offset = bytes.count
            if !parts[1].isEmpty {
                for s in parts[1].split(separator: ".") {
                    let n = buffer.withUnsafeMutableBufferPointer { LMText.encode(UInt32(s, radix: 16)!, $0.baseAddress!) }
                    bytes.append(contentsOf: buffer[0..<n])
                }
            }
            let value = 0x8000_0000 | UInt32(offset) << 8 | UInt32(bytes.count - offset)
            for v in lo...hi { set(v, value) }
        }
        self.pages = pages
        self.entries = entries
        self.bytes = bytes
    }
}
