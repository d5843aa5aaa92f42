// Byte-level text rules shared by scoring, normalisation and training.
//
// Words. Three tools disagree slightly on what separates words, and Sluice follows each where
// it stands in for it:
// - Scoring splits a line on ASCII whitespace (space, \t, \n, \v, \f, \r), as KenLM's Python
//   `Model.score(line)` does (it encodes the line to UTF-8 and calls `bytes.split()`).
//   Non-ASCII spaces such as U+00A0 are part of a word there, and here.
// - The CCNet length of a line is `len(line.split()) + 1` on the Python `str`: it splits on
//   Unicode whitespace (`str.isspace`: ASCII whitespace, U+001C-U+001F, U+0085, U+00A0,
//   U+1680, U+2000-U+200A, U+2028, U+2029, U+202F, U+205F, U+3000).
// - Training splits on the bytes lmplz splits on: NUL, \t, \n, \r and space.
// CCNet itself runs SentencePiece before KenLM; Sluice does not: a "word" is one of the above.

@usableFromInline
enum LMText {
    /// KenLM's Python `bytes.split()`: space, \t, \n, \v, \f, \r.
    @inlinable @inline(__always)
    static func isScoringSpace(_ b: UInt8) -> Bool { b == 32 || (b &- 9) < 5 }

    /// lmplz's corpus delimiters: NUL, \t, \n, \r, space.
    @inlinable @inline(__always)
    static func isTrainingSpace(_ b: UInt8) -> Bool { b == 32 || b == 9 || b == 10 || b == 13 || b == 0 }

    /// A byte that may make Python's word count differ from the scoring split: U+001C-U+001F,
    /// or the lead byte of a non-ASCII whitespace character (C2, E1, E2, E3).
    @inlinable @inline(__always)
    static func mayBeOtherSpace(_ b: UInt8) -> Bool {
        (b &- 28) < 4 || b == 0xC2 || (b &- 0xE1) < 3
    }

    /// Python's `str.isspace()` for one code point.
    @inlinable
    static func isPythonSpace(_ v: UInt32) -> Bool {
        if v < 0x80 { return v == 32 || (v &- 9) < 5 || (v &- 28) < 4 }
        switch v {
        case 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000: return true
        default: return false
        }
    }

    /// Decodes the UTF-8 scalar at `p[i]` (`i < end`): the code point and its length in bytes.
    /// A malformed sequence gives `invalidScalar` and length 1.
    @inlinable @inline(__always)
    static func decode(_ p: UnsafePointer<UInt8>, _ i: Int, _ end: Int) -> (scalar: UInt32, length: Int) {
        let b0 = UInt32(p[i])
        if b0 < 0x80 { return (b0, 1) }
        if b0 >= 0xC2 && b0 < 0xE0 {
            if i + 1 < end, p[i + 1] & 0xC0 == 0x80 {
                return (((b0 & 0x1F) << 6) | UInt32(p[i + 1] & 0x3F), 2)
            }
        } else if b0 >= 0xE0 && b0 < 0xF0 {
            if i + 2 < end, p[i + 1] & 0xC0 == 0x80, p[i + 2] & 0xC0 == 0x80 {
                let v = ((b0 & 0x0F) << 12) | (UInt32(p[i + 1] & 0x3F) << 6) | UInt32(p[i + 2] & 0x3F)
                if v >= 0x800 && (v < 0xD800 || v > 0xDFFF) { return (v, 3) }
            }
        } else if b0 >= 0xF0 && b0 < 0xF5 {
            if i + 3 < end, p[i + 1] & 0xC0 == 0x80, p[i + 2] & 0xC0 == 0x80, p[i + 3] & 0xC0 == 0x80 {
                let v = ((b0 & 0x07) << 18) | (UInt32(p[i + 1] & 0x3F) << 12) | (UInt32(p[i + 2] & 0x3F) << 6)
                    | UInt32(p[i + 3] & 0x3F)
                if v >= 0x10000 && v <= 0x10FFFF { return (v, 4) }
            }
        }
        return (invalidScalar, 1)
    }

    @usableFromInline static let invalidScalar: UInt32 = 0xFFFF_FFFF

    /// Writes `v` as UTF-8 at `out`; returns the number of bytes.
    @inlinable @inline(__always)
    static func encode(_ v: UInt32, _ out: UnsafeMutablePointer<UInt8>) -> Int {
        if v < 0x80 {
            out[0] = UInt8(v)
            return 1
        } else if v < 0x800 {
            out[0] = UInt8(0xC0 | (v >> 6))
            out[1] = UInt8(0x80 | (v & 0x3F))
            return 2
        } else if v < 0x10000 {
            out[0] = UInt8(0xE0 | (v >> 12))
            out[1] = UInt8(0x80 | ((v >> 6) & 0x3F))
            out[2] = UInt8(0x80 | (v & 0x3F))
            return 3
        } else {
            out[0] = UInt8(0xF0 | (v >> 18))
            out[1] = UInt8(0x80 | ((v >> 12) & 0x3F))
            out[2] = UInt8(0x80 | ((v >> 6) & 0x3F))
            out[3] = UInt8(0x80 | (v & 0x3F))
            return 4
        }
    }

    /// Python's `len(line.split())`: the number of runs of non-whitespace code points.
    static func pythonWordCount(_ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int) -> Int {
        var words = 0
        var inWord = false
        var i = start
        while i < end {
            let (v, n) = decode(p, i, end)
            let space = v != invalidScalar && isPythonSpace(v)
            if !space && !inWord { words += 1 }
            inWord = !space
            i += n
        }
        return words
    }
}
