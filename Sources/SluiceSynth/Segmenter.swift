import SluiceCore

/// A piece of a document's text sent in one request.
public struct TextSegment: Sendable, Equatable {
    /// UTF-8 byte offsets in the document's text.
    public var byteRange: Range<Int>
    /// Unicode code point offsets (Python string indices) in the document's text.
    public var scalarRange: Range<Int>
    public var text: String
}

/// Splits text into segments of at most `maxTokens` estimated tokens, on paragraph boundaries.
///
/// Tokens are estimated as UTF-8 bytes / `bytesPerToken` (4 suits English with common
/// tokenizers; about 3 suits CJK, where a character is 3 bytes and often one token).
///
/// Paragraphs are runs of lines between blank lines. Consecutive paragraphs are packed
/// greedily into one segment while it stays within the budget (the blank lines between them
/// included). A paragraph over the budget on its own is cut at line ends, then after sentence
/// ends, then at spaces, and only as a last resort between two characters. Every cut falls on a
/// UTF-8 character boundary, and the segments in order, with what lies between them, make up
/// the whole text.
public struct Segmenter: Sendable {
    public var maxTokens: Int
    public var bytesPerToken: Double

    public init(maxTokens: Int, bytesPerToken: Double = 4) {
        precondition(maxTokens >= 1 && bytesPerToken > 0)
        self.maxTokens = maxTokens
        self.bytesPerToken = bytesPerToken
    }

    /// The most bytes a segment may have.
    public var maxBytes: Int { max(4, Int(Double(maxTokens) * bytesPerToken)) }

    /// Estimated tokens of `bytes` UTF-8 bytes.
    public static func estimateTokens(bytes: Int, bytesPerToken: Double) -> Int {
        Int((Double(bytes) / bytesPerToken).rounded(.up))
    }

    public func segments(of text: String) -> [TextSegment] {
        let bytes = Array(text.utf8)
        let ranges = byteRanges(bytes)
        var out: [TextSegment] = []
        out.reserveCapacity(ranges.count)
        var scalarsBefore = 0
        var position = 0
        for r in ranges {
            scalarsBefore += countScalars(bytes, position..<r.lowerBound)
            let length = countScalars(bytes, r)
            out.append(
                TextSegment(
                    byteRange: r, scalarRange: scalarsBefore..<(scalarsBefore + length),
                    text: String(decoding: bytes[r], as: UTF8.self)))
            scalarsBefore += length
            position = r.upperBound
        }
        return out
    }

    private func countScalars(_ b: [UInt8], _ r: Range<Int>) -> Int {
        var n = 0
        for i in r where b[i] & 0xC0 != 0x80 { n += 1 }
        return n
    }

    /// The segments' byte ranges, in order, without surrounding whitespace.
    func byteRanges(_ b: [UInt8]) -> [Range<Int>] {
        let limit = maxBytes
        var units: [Range<Int>] = []
        for p in paragraphs(b) {
            if p.count <= limit {
                units.append(p)
            } else {
                units.append(contentsOf: split(b, p, level: 0, limit: limit))
            }
        }
        // Pack consecutive units greedily.
        var out: [Range<Int>] = []
        var current: Range<Int>?
        for u in units {
            if let c = current, u.upperBound - c.lowerBound <= limit {
                current = c.lowerBound..<u.upperBound
            } else {
                if let c = current { out.append(c) }
                current = u
            }
        }
        if let c = current { out.append(c) }
        return out
    }

    @inline(__always) private func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0D || c == 0x0A }

    /// Paragraph ranges (trimmed), split at blank lines.
    func paragraphs(_ b: [UInt8]) -> [Range<Int>] {
        var out: [Range<Int>] = []
        var start: Int?  // first non-blank line of the current paragraph
        var end = 0  // end of the last non-blank line
        var lineStart = 0
        while lineStart < b.count {
            var lineEnd = lineStart
            while lineEnd < b.count && b[lineEnd] != 0x0A { lineEnd += 1 }
            var blank = true
            for j in lineStart..<lineEnd where !isSpace(b[j]) {
                blank = false
                break
            }
            if blank {
                if let s = start {
                    out.append(trim(b, s..<end))
                    start = nil
                }
            } else {
                if start == nil { start = lineStart }
                end = lineEnd
            }
            lineStart = lineEnd + 1
        }
        if let s = start { out.append(trim(b, s..<end)) }
        return out.filter { !$0.isEmpty }
    }

    private func trim(_ b: [UInt8], _ r: Range<Int>) -> Range<Int> {
        var lo = r.lowerBound, hi = r.upperBound
        while lo < hi && isSpace(b[lo]) { lo += 1 }
        while hi > lo && isSpace(b[hi - 1]) { hi -= 1 }
        return lo..<hi
    }

    /// Cuts an over-long range into pieces of at most `limit` bytes: at line ends (level 0),
    /// sentence ends (1), spaces (2), then between characters (3).
    private func split(_ b: [UInt8], _ r: Range<Int>, level: Int, limit: Int) -> [Range<Int>] {
        if r.count <= limit { return [r] }
        if level >= 3 {
            var out: [Range<Int>] = []
            var lo = r.lowerBound
            while lo < r.upperBound {
                var hi = min(r.upperBound, lo + limit)
                if hi < r.upperBound {
                    while hi > lo + 1 && b[hi] & 0xC0 == 0x80 { hi -= 1 }
                }
                out.append(lo..<hi)
                lo = hi
            }
            return out
        }
        // Atoms end just after each cut point.
        var atoms: [Range<Int>] = []
        var lo = r.lowerBound
        var i = r.lowerBound
        while i < r.upperBound {
            var cut = false
            let c = b[i]
            switch level {
            case 0: cut = c == 0x0A
            case 1:
                if c == UInt8(ascii: ".") || c == UInt8(ascii: "!") || c == UInt8(ascii: "?") {
                    cut = i + 1 < r.upperBound && isSpace(b[i + 1])
                } else if c == 0xE3 && i + 2 < r.upperBound && b[i + 1] == 0x80 && b[i + 2] == 0x82 {
                    i += 2  // 。
                    cut = true
                } else if c == 0xEF && i + 2 < r.upperBound && b[i + 1] == 0xBC && (b[i + 2] == 0x81 || b[i + 2] == 0x9F) {
                    i += 2  // ！ ？
                    cut = true
                }
            default: cut = c == 0x20 || c == 0x09
            }
            i += 1
            if cut {
                atoms.append(lo..<i)
                lo = i
            }
        }
        if lo < r.upperBound { atoms.append(lo..<r.upperBound) }
        var pieces: [Range<Int>] = []
        for a in atoms {
            let t = trim(b, a)
            if t.isEmpty { continue }
            if t.count <= limit { pieces.append(t) } else { pieces.append(contentsOf: split(b, t, level: level + 1, limit: limit)) }
        }
        // Pack atoms back together up to the limit.
        var out: [Range<Int>] = []
        var current: Range<Int>?
        for p in pieces {
            if let c = current, p.upperBound - c.lowerBound <= limit {
                current = c.lowerBound..<p.upperBound
            } else {
                if let c = current { out.append(c) }
                current = p
            }
        }
        if let c = current { out.append(c) }
        return out
    }
}
