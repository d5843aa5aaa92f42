/// Whitespace on UTF-8 bytes, as Sluice defines it everywhere (word counts, normalisation).
///
/// Whitespace is exactly the Unicode `White_Space` property:
///
/// - ASCII: space, tab (U+0009), line feed (U+000A), vertical tab (U+000B), form feed (U+000C),
///   carriage return (U+000D);
/// - U+0085 NEXT LINE, U+00A0 NO-BREAK SPACE, U+1680 OGHAM SPACE MARK, U+2000–U+200A (the
///   typographic spaces), U+2028 LINE SEPARATOR, U+2029 PARAGRAPH SEPARATOR, U+202F NARROW
///   NO-BREAK SPACE, U+205F MEDIUM MATHEMATICAL SPACE, U+3000 IDEOGRAPHIC SPACE.
///
/// Zero-width characters (U+200B, U+FEFF, …) are not whitespace, as in Unicode.
///
/// Non-ASCII whitespace always starts with one of the lead bytes `C2`, `E1`, `E2` or `E3`, so
/// byte loops test ``mayStartNonASCIIWhitespace(_:)`` (one comparison per byte in a class
/// table) and call ``nonASCIIWhitespace(in:at:)`` only then.
public enum UTF8Whitespace {
    /// Whether `byte` is ASCII whitespace: space, tab, LF, VT, FF or CR.
    @inlinable @inline(__always)
    public static func isASCIIWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || (byte >= 0x09 && byte <= 0x0D)
    }

    /// Whether `byte` is a lead byte that may start a non-ASCII whitespace scalar.
    @inlinable @inline(__always)
    public static func mayStartNonASCIIWhitespace(_ byte: UInt8) -> Bool {
        byte == 0xC2 || byte == 0xE1 || byte == 0xE2 || byte == 0xE3
    }

    /// The non-ASCII whitespace scalar that starts at `i`, with its length in bytes (2 or 3),
    /// or `nil` when the bytes at `i` are anything else (including ASCII whitespace and
    /// truncated sequences).
    @inlinable
    public static func nonASCIIWhitespace(
        in bytes: UnsafeBufferPointer<UInt8>, at i: Int
    ) -> (scalar: UInt32, length: Int)? {
        let n = bytes.count
        guard i < n else { return nil }
        let b0 = bytes[i]
        if b0 == 0xC2 {
            guard i + 1 < n else { return nil }
            let b1 = bytes[i + 1]
            if b1 == 0x85 || b1 == 0xA0 { return (UInt32(b1), 2) }
            return nil
        }
        guard i + 2 < n else { return nil }
        let b1 = bytes[i + 1]
        let b2 = bytes[i + 2]
        switch b0 {
        case 0xE1:
            if b1 == 0x9A && b2 == 0x80 { return (0x1680, 3) }
        case 0xE2:
            if b1 == 0x80 {
                // U+2000–U+200A, U+2028, U+2029, U+202F
                if (b2 >= 0x80 && b2 <= 0x8A) || b2 == 0xA8 || b2 == 0xA9 || b2 == 0xAF {
                    return (0x2000 + UInt32(b2 - 0x80), 3)
                }
            } else if b1 == 0x81 && b2 == 0x9F {
                return (0x205F, 3)
            }
        case 0xE3:
            if b1 == 0x80 && b2 == 0x80 { return (0x3000, 3) }
        default:
            break
        }
        return nil
    }

    /// The length in bytes of the whitespace scalar (ASCII or not) that starts at `i`, or 0.
    @inlinable
    public static func whitespaceLength(in bytes: UnsafeBufferPointer<UInt8>, at i: Int) -> Int {
        guard i < bytes.count else { return 0 }
        let b = bytes[i]
        if isASCIIWhitespace(b) { return 1 }
        if mayStartNonASCIIWhitespace(b), let ws = nonASCIIWhitespace(in: bytes, at: i) { return ws.length }
        return 0
    }
}

extension String {
    /// Calls `body` with the string's UTF-8 bytes, without copying when the string is native
    /// (the usual case); otherwise on a native copy.
    @inlinable
    public func withUTF8Bytes<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        if let r = try utf8.withContiguousStorageIfAvailable(body) { return r }
        var copy = self
        return try copy.withUTF8(body)
    }
}
