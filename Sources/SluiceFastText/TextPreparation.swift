/// How a document's text is turned into the one line fastText predicts on.
public enum FastTextTextPreparation: String, Sendable, CaseIterable {
    /// datatrove's language ID: every `\n` becomes a space (`text.replace("\n", " ")`).
    case newlinesToSpaces = "newlines_to_spaces"
    /// DCLM's quality classifier: `" ".join(text.strip().splitlines())`: Python's whitespace
    /// stripped from both ends, and every line boundary Python knows (`\n`, `\r`, `\v`, `\f`,
    /// `\x1c`–`\x1e`, U+0085, U+2028, U+2029) becomes a space.
    case dclm
}

extension FastTextModel {
    /// Predicts one document's text after `preparation`, with `k` labels (−1 for all).
    /// Returns the number of predictions in `scratch.predictions`.
    @discardableResult
    public func predict(
        document text: UnsafeBufferPointer<UInt8>, preparation: FastTextTextPreparation, k: Int = 1, threshold: Float = 0,
        scratch: inout FastTextScratch
    ) -> Int {
        guard encode(document: text, preparation: preparation, scratch: &scratch) else {
            scratch.predictions.removeAll(keepingCapacity: true)
            return 0
        }
        return topLabels(k: k, threshold: threshold, scratch: &scratch)
    }

    /// Encodes one document's text after `preparation` (see ``encode(_:scratch:)``).
    public func encode(document text: UnsafeBufferPointer<UInt8>, preparation: FastTextTextPreparation, scratch: inout FastTextScratch) -> Bool {
        switch preparation {
        case .newlinesToSpaces:
            // fastText treats a newline inside the text as a separator here, which is exactly
            // what replacing it by a space does.
            return encode(text, scratch: &scratch)
        case .dclm:
            var buffer = scratch.text
            scratch.text = []
            prepareDCLM(text, into: &buffer)
            let ok = buffer.withUnsafeBufferPointer { encode($0, scratch: &scratch) }
            scratch.text = buffer
            return ok
        }
    }
}

/// Whether the code point starting at `p[i]` (of `n` bytes) is Python whitespace
/// (`str.isspace`); returns its length in bytes, or 0.
@inline(__always)
func pythonSpaceLength(_ p: UnsafeBufferPointer<UInt8>, _ i: Int) -> Int {
    let b = p[i]
    if b < 0x80 {
        // \t \n \v \f \r, \x1c-\x1f, space
        return (b >= 9 && b <= 13) || (b >= 0x1C && b <= 0x20) ? 1 : 0
    }
    let n = p.count
    if b == 0xC2, i + 1 < n {
        return p[i + 1] == 0x85 || p[i + 1] == 0xA0 ? 2 : 0
    }
    if b == 0xE1, i + 2 < n {
        return p[i + 1] == 0x9A && p[i + 2] == 0x80 ? 3 : 0  // U+1680
    }
    if b == 0xE2, i + 2 < n {
        let c1 = p[i + 1], c2 = p[i + 2]
        if c1 == 0x80 && (c2 <= 0x8A || c2 == 0xA8 || c2 == 0xA9 || c2 == 0xAF) { return 3 }  // U+2000-200A, 2028, 2029, 202F
        if c1 == 0x81 && c2 == 0x9F { return 3 }  // U+205F
        return 0
    }
    if b == 0xE3, i + 2 < n {
        return p[i + 1] == 0x80 && p[i + 2] == 0x80 ? 3 : 0  // U+3000
    }
    return 0
}

/// Length of a Python line boundary at `p[i]` (`str.splitlines`), or 0.
@inline(__always)
func pythonLineBreakLength(_ p: UnsafeBufferPointer<UInt8>, _ i: Int) -> Int {
    let b = p[i]
    if b < 0x80 {
        return b == 10 || b == 11 || b == 12 || b == 13 || b == 0x1C || b == 0x1D || b == 0x1E ? 1 : 0
    }
    let n = p.count
    if b == 0xC2, i + 1 < n, p[i + 1] == 0x85 { return 2 }
    if b == 0xE2, i + 2 < n, p[i + 1] == 0x80, p[i + 2] == 0xA8 || p[i + 2] == 0xA9 { return 3 }
    return 0
}

/// DCLM's text preparation into `out` (see ``FastTextTextPreparation/dclm``).
func prepareDCLM(_ text: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
    out.removeAll(keepingCapacity: true)
    var start = 0
    var end = text.count
    while start < end {
        let l = pythonSpaceLength(text, start)
        if l == 0 { break }
        start += l
    }
    // Strip from the end: step back over continuation bytes to each code point's start.
    while end > start {
        var s = end - 1
        while s > start && text[s] & 0xC0 == 0x80 { s -= 1 }
        let l = pythonSpaceLength(text, s)
        if l == 0 || s + l != end { break }
        end = s
    }
    var i = start
    while i < end {
        let b = text[i]
        if b < 0x20 || b >= 0xC2 {
            let l = pythonLineBreakLength(text, i)
            if l > 0 {
                for _ in 0..<l { out.append(32) }
                i += l
                continue
            }
        }
        out.append(b)
        i += 1
    }
}
