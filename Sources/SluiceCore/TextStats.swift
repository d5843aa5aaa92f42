/// Counts of characters, words and lines in a text, from `countText(_:)`.
///
/// - `characters`: Unicode scalars, that is UTF-8 bytes that are not continuation bytes
///   (`0b10xxxxxx`). This is not the number of Swift `Character`s (grapheme clusters): `é` written
///   as `e` plus a combining accent counts 2, and so does a flag emoji.
/// - `words`: maximal runs of non-whitespace, with whitespace as ``UTF8Whitespace`` defines it
///   (ASCII space, tab, LF, VT, FF, CR and the Unicode spaces such as U+00A0 and U+3000).
///   These are whitespace-delimited words: Chinese or Japanese text without spaces counts as
///   one word per run, and `"don't"` or `"e-mail"` count 1. Language-aware tokenisation
///   belongs to the quality filters.
/// - `lines`: `\n`-separated lines. Empty text has 0 lines; `"a"` and `"a\n"` have 1;
///   `"a\n\nb"` has 3. A lone `\r` is not a line break (normalise first when that matters);
///   `\r\n` counts once.
public struct TextCounts: Sendable, Hashable, CustomStringConvertible {
    public var characters: Int
    public var words: Int
    public var lines: Int

    public init(characters: Int, words: Int, lines: Int) {
        self.characters = characters
        self.words = words
        self.lines = lines
    }

    public var description: String { "\(characters) characters, \(words) words, \(lines) lines" }
}

// Byte classes for the one-pass counter. Bit 0: continuation byte; bit 1: whitespace;
// bit 2: line feed; bit 3: a lead byte that may start non-ASCII whitespace.
@usableFromInline let textByteClasses: [UInt8] = (0..<256).map { i -> UInt8 in
    let b = UInt8(i)
    var c: UInt8 = 0
    if b & 0xC0 == 0x80 { c |= 1 }
    if UTF8Whitespace.isASCIIWhitespace(b) { c |= 2 }
    if b == 0x0A { c |= 4 }
    if UTF8Whitespace.mayStartNonASCIIWhitespace(b) { c |= 8 }
    return c
}

private let asciiHighBits: UInt64 = 0x8080_8080_8080_8080

/// The high bit of each byte of `y` that is zero, exactly (no false positives from borrows).
@inline(__always) private func zeroBytes(_ y: UInt64) -> UInt64 {
    let low7: UInt64 = 0x7F7F_7F7F_7F7F_7F7F
    return ~(((y & low7) &+ low7) | y | low7)
}

/// Counts characters (Unicode scalars), whitespace-delimited words and lines in one pass over
/// UTF-8 bytes; see ``TextCounts`` for the exact rules. ASCII goes through a 256-entry class
/// table, eight bytes at a time while they are ASCII; the lead bytes of Unicode spaces take a
/// short detour. Use `countCharacters(_:)` or `countLines(_:)` (4–5 GB/s) when only one count
/// is needed.
///
/// Invalid UTF-8 is counted byte-wise without failing: stray continuation bytes count no
/// character and a truncated sequence counts as one.
public func countText(_ bytes: UnsafeBufferPointer<UInt8>) -> TextCounts {
    let n = bytes.count
    guard n > 0, let base = bytes.baseAddress else { return TextCounts(characters: 0, words: 0, lines: 0) }
    return textByteClasses.withUnsafeBufferPointer { table -> TextCounts in
        let t = table.baseAddress!
        var continuation = 0
        var newlines = 0
        var words = 0
        var previousWasSpace: UInt8 = 1
        var i = 0
        let raw = UnsafeRawPointer(base)
        while i < n {
            // Eight ASCII bytes at a time: whitespace and line feeds as high-bit masks, a word
            // starting at every non-space byte whose previous byte is a space.
            while i &+ 8 <= n {
                let x = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                if x & asciiHighBits != 0 { break }
                let space = zeroBytes(x ^ 0x2020_2020_2020_2020)
                    | ((x &+ 0x7777_7777_7777_7777) & ~(x &+ 0x7272_7272_7272_7272) & asciiHighBits)
                let starts = ~space & asciiHighBits & ((space << 8) | (UInt64(previousWasSpace) << 7))
                words &+= starts.nonzeroBitCount
                newlines &+= zeroBytes(x ^ 0x0A0A_0A0A_0A0A_0A0A).nonzeroBitCount
                previousWasSpace = UInt8(truncatingIfNeeded: space >> 63)
                i &+= 8
            }
            if i >= n { break }
            let c = t[Int(base[i])]
            if c & 8 != 0, let ws = UTF8Whitespace.nonASCIIWhitespace(in: bytes, at: i) {
                continuation &+= ws.length - 1
                previousWasSpace = 1
                i &+= ws.length
                continue
            }
            continuation &+= Int(c & 1)
            newlines &+= Int((c >> 2) & 1)
            let isSpace = (c >> 1) & 1
            words &+= Int(previousWasSpace & (isSpace ^ 1))
            previousWasSpace = isSpace
            i &+= 1
        }
        let lines = newlines + (base[n - 1] == 0x0A ? 0 : 1)
        return TextCounts(characters: n - continuation, words: words, lines: lines)
    }
}

/// Counts characters, words and lines of a string; see ``TextCounts``.
public func countText(_ text: String) -> TextCounts {
    text.withUTF8Bytes { countText($0) }
}

/// The number of Unicode scalars in UTF-8 bytes (bytes that are not continuation bytes).
/// Several times faster than `countText(_:)` when only characters are needed: it works on
/// eight bytes at a time.
public func countCharacters(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
    let n = bytes.count
    guard n > 0, let base = UnsafeRawPointer(bytes.baseAddress) else { return 0 }
    var continuation = 0
    var i = 0
    while i + 8 <= n {
        let x = base.loadUnaligned(fromByteOffset: i, as: UInt64.self)
        // Bit 7 set and bit 6 clear: 10xxxxxx.
        continuation &+= (x & ~(x << 1) & 0x8080_8080_8080_8080).nonzeroBitCount
        i &+= 8
    }
    while i < n {
        if bytes[i] & 0xC0 == 0x80 { continuation &+= 1 }
        i &+= 1
    }
    return n - continuation
}

/// The number of `\n`-separated lines, by the rule of ``TextCounts/lines``. Several times
/// faster than `countText(_:)` when only lines are needed.
public func countLines(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
    let n = bytes.count
    guard n > 0, let base = UnsafeRawPointer(bytes.baseAddress) else { return 0 }
    var newlines = 0
    var i = 0
    let low7: UInt64 = 0x7F7F_7F7F_7F7F_7F7F
    while i + 8 <= n {
        // Exact count of zero bytes in x ^ "\n\n\n\n\n\n\n\n".
        let y = base.loadUnaligned(fromByteOffset: i, as: UInt64.self) ^ 0x0A0A_0A0A_0A0A_0A0A
        let t = ~(((y & low7) &+ low7) | y | low7)
        newlines &+= t.nonzeroBitCount
        i &+= 8
    }
    while i < n {
        if bytes[i] == 0x0A { newlines &+= 1 }
        i &+= 1
    }
    return newlines + (bytes[n - 1] == 0x0A ? 0 : 1)
}
