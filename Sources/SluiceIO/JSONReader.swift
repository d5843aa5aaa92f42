import SluiceCore

/// A JSON syntax error: what was wrong and the 0-based byte offset where it was found.
public struct JSONSyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What was wrong, without the position.
    public let message: String
    /// The 0-based byte offset in the input.
    public let offset: Int

    public init(_ message: String, offset: Int) {
        self.message = message
        self.offset = offset
    }

    /// The message with its 1-based byte column, such as `expected ':' at column 12`.
    public var description: String { "\(message) at column \(offset + 1)" }
}

/// The deepest nesting of arrays and objects the reader accepts; the top-level container is
/// depth 1.
public let maxJSONNestingDepth = 512

/// Parses a complete JSON text (any value, surrounded by optional whitespace) into a
/// ``JSONValue``.
///
/// Strict RFC 8259: raw control characters in strings, trailing bytes, leading zeros, `NaN` and
/// the like are errors, and nesting is limited to ``maxJSONNestingDepth``. Invalid UTF-8 inside
/// strings and lone surrogate escapes become U+FFFD. Numbers keep their literal text.
///
/// Allocates its own scratch space, so it is meant for configuration-sized inputs; hot paths use
/// ``DocumentLineParser``.
public func parseJSONValue(_ bytes: UnsafeRawBufferPointer) throws(JSONSyntaxError) -> JSONValue {
    guard let base = bytes.baseAddress, bytes.count > 0 else {
        throw JSONSyntaxError("unexpected end of input", offset: 0)
    }
    let scratch = JSONScratch()
    var reader = JSONReader(base: base.assumingMemoryBound(to: UInt8.self), count: bytes.count, scratch: scratch)
    defer { reader.returnBuffers(to: scratch) }
    reader.skipWhitespace()
    let value = try reader.parseValue(depth: 0)
    reader.skipWhitespace()
    if reader.pos < reader.end {
        throw JSONSyntaxError("unexpected bytes after the JSON value", offset: reader.pos)
    }
    return value
}

/// Parses a complete JSON text from an array of bytes; see the `UnsafeRawBufferPointer` overload.
public func parseJSONValue(_ bytes: [UInt8]) throws(JSONSyntaxError) -> JSONValue {
    let result: Result<JSONValue, JSONSyntaxError> = bytes.withUnsafeBytes { raw in
        do throws(JSONSyntaxError) { return .success(try parseJSONValue(raw)) } catch { return .failure(error) }
    }
    return try result.get()
}

/// The bytes of a string read by ``JSONReader``, escapes decoded.
struct DecodedString {
    var bytes: UnsafeBufferPointer<UInt8>
    /// Whether `bytes` are known to be ASCII (`false` means unknown); ASCII needs no repair.
    var isASCII: Bool
}

/// The byte-level JSON reader under ``DocumentLineParser`` and ``parseJSONValue(_:)``.
///
/// `peek()` returns 0 at the end of input: a NUL byte is never valid outside a string, so every
/// "unexpected byte" branch also handles the end, and ``describe(_:)`` tells them apart.
struct JSONReader {
    let base: UnsafePointer<UInt8>
    let end: Int
    var pos: Int = 0
    /// Decoded bytes of the last string that had escapes.
    var decoded: GrowableBytes
    /// Repaired bytes of the last string that held invalid UTF-8.
    var repaired: GrowableBytes
    /// U+FFFD substitutions made while decoding strings: invalid UTF-8 subsequences and lone
    /// surrogate escapes.
    var replacements = 0

    /// A reader over `count` bytes at `base` that borrows `scratch`'s buffers; give them back
    /// with ``returnBuffers(to:)`` (they may have been reallocated), also after a throw.
    init(base: UnsafePointer<UInt8>, count: Int, scratch: JSONScratch) {
        self.init(base: base, count: count, decoded: scratch.decoded, repaired: scratch.repaired)
    }

    init(base: UnsafePointer<UInt8>, count: Int, decoded: GrowableBytes, repaired: GrowableBytes) {
        self.base = base
        self.end = count
        self.decoded = decoded
        self.repaired = repaired
    }

    func returnBuffers(to scratch: JSONScratch) {
        scratch.decoded = decoded
        scratch.repaired = repaired
    }

    @inline(__always)
    func peek() -> UInt8 { pos < end ? base[pos] : 0 }

    @inline(__always)
    mutating func skipWhitespace() {
        while pos < end {
            let b = base[pos]
            guard b == ASCII.space || b == ASCII.lineFeed || b == ASCII.carriageReturn || b == ASCII.tab else {
                return
            }
            pos &+= 1
        }
    }

    /// "end of input" or a printable rendering of the byte at `offset`.
    func describe(_ offset: Int) -> String {
        if offset >= end { return "end of input" }
        let b = base[offset]
        if b >= 0x21 && b < 0x7F { return "'\(Character(Unicode.Scalar(b)))'" }
        let hex = String(b, radix: 16, uppercase: true)
        return "byte 0x\(b < 0x10 ? "0" : "")\(hex)"
    }

    func unexpected(_ expectation: String) -> JSONSyntaxError {
        JSONSyntaxError("\(expectation), found \(describe(pos))", offset: pos)
    }

    // MARK: Strings

    /// Reads the string whose opening quote is at `pos` and returns its decoded bytes: a slice of
    /// the input when it has no escapes, otherwise the ``decoded`` buffer (valid until the next
    /// string is read). ``makeString(_:)`` validates them and repairs invalid UTF-8.
    @inline(__always)
    mutating func readStringBytes() throws(JSONSyntaxError) -> DecodedString {
        let start = pos &+ 1
        var seen: UInt64 = 0
        let p = findStringSpecial(base, from: start, end: end, seen: &seen)
        if p < end && base[p] == ASCII.quote {
            pos = p &+ 1
            return DecodedString(
                bytes: UnsafeBufferPointer(start: base + start, count: p &- start), isASCII: seen & SWAR.highs == 0)
        }
        return try readEscapedString(start: start, special: p, seen: seen)
    }

    /// The slow path of ``readStringBytes()``: decodes escapes into the ``decoded`` buffer.
    @inline(never)
    mutating func readEscapedString(start: Int, special: Int, seen: UInt64) throws(JSONSyntaxError) -> DecodedString {
        var p = special
        var seen = seen
        decoded.count = 0
        decoded.append(base + start, count: p &- start)
        while true {
            guard p < end else { throw JSONSyntaxError("unterminated string", offset: start &- 1) }
            let b = base[p]
            if b == ASCII.quote {
                pos = p &+ 1
                return DecodedString(bytes: decoded.bytes, isASCII: seen & SWAR.highs == 0)
            }
            if b != ASCII.backslash {
                throw JSONSyntaxError(
                    "raw control character 0x\(String(b, radix: 16)) in string; it must be escaped", offset: p)
            }
            // A `\u` escape may decode to non-ASCII; count it as such.
            if p &+ 1 < end && base[p &+ 1] == UInt8(ascii: "u") { seen |= 0x80 }
            p = try decodeEscape(at: p)
            let q = findStringSpecial(base, from: p, end: end, seen: &seen)
            decoded.append(base + p, count: q &- p)
            p = q
        }
    }

    /// Decodes the escape whose backslash is at `p` into the scratch buffer; returns the index
    /// after it.
    @inline(__always)
    mutating func decodeEscape(at p: Int) throws(JSONSyntaxError) -> Int {
        let e: UInt8 = p &+ 1 < end ? base[p &+ 1] : 0
        let byte: UInt8
        switch e {
        case ASCII.quote, ASCII.backslash, ASCII.slash: byte = e
        case UInt8(ascii: "n"): byte = 0x0A
        case UInt8(ascii: "t"): byte = 0x09
        case UInt8(ascii: "r"): byte = 0x0D
        case UInt8(ascii: "b"): byte = 0x08
        case UInt8(ascii: "f"): byte = 0x0C
        case UInt8(ascii: "u"): return try decodeUnicodeEscape(at: p)
        default:
            throw JSONSyntaxError("invalid escape sequence \\\(describe(p &+ 1))", offset: p)
        }
        decoded.append(byte)
        return p &+ 2
    }

    /// The value of four hex digits at `p`, or `nil`.
    @inline(__always)
    func hex4(at p: Int) -> UInt32? {
        guard p &+ 4 <= end else { return nil }
        var v: UInt32 = 0
        for i in 0..<4 {
            let c = base[p &+ i]
            let d: UInt8
            switch c {
            case 0x30...0x39: d = c &- 0x30
            case 0x41...0x46: d = c &- 0x41 &+ 10
            case 0x61...0x66: d = c &- 0x61 &+ 10
            default: return nil
            }
            v = v &<< 4 | UInt32(d)
        }
        return v
    }

    /// Decodes `\uXXXX` at `p` (and a following low-surrogate escape when `XXXX` is a high
    /// surrogate). A lone or mismatched surrogate becomes U+FFFD; a following escape that does
    /// not complete the pair is left to be decoded on its own.
    mutating func decodeUnicodeEscape(at p: Int) throws(JSONSyntaxError) -> Int {
        guard let unit = hex4(at: p &+ 2) else {
            throw JSONSyntaxError("invalid \\u escape: expected four hex digits", offset: p)
        }
        switch unit {
        case 0xD800..<0xDC00:
            if p &+ 12 <= end, base[p &+ 6] == ASCII.backslash, base[p &+ 7] == UInt8(ascii: "u"),
                let low = hex4(at: p &+ 8), (0xDC00..<0xE000).contains(low)
            {
                decoded.appendScalar(0x1_0000 &+ ((unit &- 0xD800) &<< 10) &+ (low &- 0xDC00))
                return p &+ 12
            }
            decoded.appendReplacementCharacter()
            replacements &+= 1
        case 0xDC00..<0xE000:
            decoded.appendReplacementCharacter()
            replacements &+= 1
        default:
            decoded.appendScalar(unit)
        }
        return p &+ 6
    }

    /// A `String` from decoded string bytes, replacing invalid UTF-8 (one U+FFFD per maximal
    /// invalid subsequence) and counting the replacements.
    @inline(__always)
    mutating func makeString(_ string: DecodedString) -> String {
        if string.isASCII { return String(decoding: string.bytes, as: UTF8.self) }
        if let s = String(validating: string.bytes, as: UTF8.self) { return s }
        return makeRepairedString(string.bytes)
    }

    @inline(never)
    mutating func makeRepairedString(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        guard let src = bytes.baseAddress else { return "" }
        let n = bytes.count
        repaired.count = 0
        var p = 0
        while p < n {
            let q = findStringSpecialOrNonASCII(src, from: p, end: n)
            repaired.append(src + p, count: q &- p)
            p = q
            guard p < n else { break }
            let b = src[p]
            if b < 0x80 {  // a quote, backslash or control byte decoded from an escape
                repaired.append(b)
                p &+= 1
                continue
            }
            let (length, valid) = checkUTF8Sequence(src, at: p, end: n)
            if valid {
                repaired.append(src + p, count: length)
            } else {
                repaired.appendReplacementCharacter()
                replacements &+= 1
            }
            p &+= length
        }
        return String(decoding: repaired.bytes, as: UTF8.self)
    }

    /// Skips and validates the string whose opening quote is at `pos`, without decoding it.
    /// Returns whether it holds invalid UTF-8.
    mutating func skipString() throws(JSONSyntaxError) -> Bool {
        let start = pos
        var p = pos &+ 1
        var sawInvalid = false
        while true {
            p = findStringSpecialOrNonASCII(base, from: p, end: end)
            guard p < end else { throw JSONSyntaxError("unterminated string", offset: start) }
            let b = base[p]
            if b == ASCII.quote {
                pos = p &+ 1
                return sawInvalid
            } else if b == ASCII.backslash {
                let e: UInt8 = p &+ 1 < end ? base[p &+ 1] : 0
                switch e {
                case ASCII.quote, ASCII.backslash, ASCII.slash, UInt8(ascii: "n"), UInt8(ascii: "t"),
                    UInt8(ascii: "r"), UInt8(ascii: "b"), UInt8(ascii: "f"):
                    p &+= 2
                case UInt8(ascii: "u"):
                    guard hex4(at: p &+ 2) != nil else {
                        throw JSONSyntaxError("invalid \\u escape: expected four hex digits", offset: p)
                    }
                    p &+= 6
                default:
                    throw JSONSyntaxError("invalid escape sequence \\\(describe(p &+ 1))", offset: p)
                }
            } else if b < 0x20 {
                throw JSONSyntaxError(
                    "raw control character 0x\(String(b, radix: 16)) in string; it must be escaped", offset: p)
            } else {
                repeat {
                    let (length, valid) = checkUTF8Sequence(base, at: p, end: end)
                    if !valid { sawInvalid = true }
                    p &+= length
                } while p < end && base[p] >= 0x80
            }
        }
    }

    // MARK: Numbers and literals

    /// Validates the number at `pos` against the JSON grammar and returns its byte range.
    mutating func scanNumber() throws(JSONSyntaxError) -> Range<Int> {
        let start = pos
        if peek() == ASCII.minus { pos &+= 1 }
        let first = peek()
        if first == ASCII.zero {
            pos &+= 1
        } else if first > ASCII.zero && first <= ASCII.nine {
            pos &+= 1
            skipDigits()
        } else {
            throw unexpected("invalid number: expected a digit")
        }
        if peek() == ASCII.dot {
            pos &+= 1
            guard isDigit(peek()) else { throw unexpected("invalid number: expected a digit after '.'") }
            skipDigits()
        }
        let e = peek()
        if e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
            pos &+= 1
            let sign = peek()
            if sign == ASCII.plus || sign == ASCII.minus { pos &+= 1 }
            guard isDigit(peek()) else { throw unexpected("invalid number: expected a digit in the exponent") }
            skipDigits()
        }
        return start..<pos
    }

    @inline(__always)
    func isDigit(_ b: UInt8) -> Bool { b >= ASCII.zero && b <= ASCII.nine }

    @inline(__always)
    mutating func skipDigits() {
        while pos < end && isDigit(base[pos]) { pos &+= 1 }
    }

    /// The text of an ASCII byte range of the input.
    @inline(__always)
    func asciiString(_ range: Range<Int>) -> String {
        String(decoding: UnsafeBufferPointer(start: base + range.lowerBound, count: range.count), as: UTF8.self)
    }

    /// Consumes the literal `true`, `false` or `null` at `pos`.
    mutating func expectLiteral(_ word: StaticString) throws(JSONSyntaxError) {
        let n = word.utf8CodeUnitCount
        let w = word.utf8Start
        if pos &+ n <= end {
            var i = 0
            while i < n && base[pos &+ i] == w[i] { i &+= 1 }
            if i == n {
                pos &+= n
                return
            }
        }
        throw JSONSyntaxError("invalid literal: expected '\(word)'", offset: pos)
    }

    // MARK: Values

    /// Parses the value at `pos` (whitespace already skipped); `depth` is the nesting depth of the
    /// enclosing container (0 at the top level).
    mutating func parseValue(depth: Int) throws(JSONSyntaxError) -> JSONValue {
        switch peek() {
        case ASCII.quote:
            let bytes = try readStringBytes()
            return .string(makeString(bytes))
        case ASCII.openBrace:
            return .object(try parseObject(depth: depth &+ 1))
        case ASCII.openBracket:
            return try parseArray(depth: depth &+ 1)
        case UInt8(ascii: "t"):
            try expectLiteral("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try expectLiteral("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try expectLiteral("null")
            return .null
        case ASCII.minus, ASCII.zero...ASCII.nine:
            let range = try scanNumber()
            return .number(JSONNumber(uncheckedLiteral: asciiString(range)))
        default:
            throw unexpected("expected a JSON value")
        }
    }

    @inline(__always)
    func checkDepth(_ depth: Int) throws(JSONSyntaxError) {
        if depth > maxJSONNestingDepth {
            throw JSONSyntaxError("nesting deeper than \(maxJSONNestingDepth) levels", offset: pos)
        }
    }

    /// Parses the object whose `{` is at `pos`; `depth` is its own nesting depth.
    mutating func parseObject(depth: Int) throws(JSONSyntaxError) -> JSONObject {
        try checkDepth(depth)
        pos &+= 1
        skipWhitespace()
        var object = JSONObject()
        if peek() == ASCII.closeBrace {
            pos &+= 1
            return object
        }
        while true {
            guard peek() == ASCII.quote else { throw unexpected("expected a string key") }
            let keyBytes = try readStringBytes()
            let key = makeString(keyBytes)
            skipWhitespace()
            guard peek() == ASCII.colon else { throw unexpected("expected ':' after an object key") }
            pos &+= 1
            skipWhitespace()
            let value = try parseValue(depth: depth)
            object.append(key: key, value: value)
            skipWhitespace()
            let b = peek()
            if b == ASCII.comma {
                pos &+= 1
                skipWhitespace()
            } else if b == ASCII.closeBrace {
                pos &+= 1
                return object
            } else {
                throw unexpected("expected ',' or '}' in an object")
            }
        }
    }

    /// Parses the array whose `[` is at `pos`; `depth` is its own nesting depth.
    mutating func parseArray(depth: Int) throws(JSONSyntaxError) -> JSONValue {
        try checkDepth(depth)
        pos &+= 1
        skipWhitespace()
        var elements: [JSONValue] = []
        if peek() == ASCII.closeBracket {
            pos &+= 1
            return .array(elements)
        }
        while true {
            elements.append(try parseValue(depth: depth))
            skipWhitespace()
            let b = peek()
            if b == ASCII.comma {
                pos &+= 1
                skipWhitespace()
            } else if b == ASCII.closeBracket {
                pos &+= 1
                return .array(elements)
            } else {
                throw unexpected("expected ',' or ']' in an array")
            }
        }
    }

    /// Validates the value at `pos` without building it and moves past it. Returns whether any
    /// string in it holds invalid UTF-8 (the caller then re-encodes it rather than copying it).
    mutating func skipValue(depth: Int) throws(JSONSyntaxError) -> Bool {
        switch peek() {
        case ASCII.quote:
            return try skipString()
        case ASCII.openBrace:
            try checkDepth(depth &+ 1)
            pos &+= 1
            skipWhitespace()
            if peek() == ASCII.closeBrace {
                pos &+= 1
                return false
            }
            var sawInvalid = false
            while true {
                guard peek() == ASCII.quote else { throw unexpected("expected a string key") }
                if try skipString() { sawInvalid = true }
                skipWhitespace()
                guard peek() == ASCII.colon else { throw unexpected("expected ':' after an object key") }
                pos &+= 1
                skipWhitespace()
                if try skipValue(depth: depth &+ 1) { sawInvalid = true }
                skipWhitespace()
                let b = peek()
                if b == ASCII.comma {
                    pos &+= 1
                    skipWhitespace()
                } else if b == ASCII.closeBrace {
                    pos &+= 1
                    return sawInvalid
                } else {
                    throw unexpected("expected ',' or '}' in an object")
                }
            }
        case ASCII.openBracket:
            try checkDepth(depth &+ 1)
            pos &+= 1
            skipWhitespace()
            if peek() == ASCII.closeBracket {
                pos &+= 1
                return false
            }
            var sawInvalid = false
            while true {
                if try skipValue(depth: depth &+ 1) { sawInvalid = true }
                skipWhitespace()
                let b = peek()
                if b == ASCII.comma {
                    pos &+= 1
                    skipWhitespace()
                } else if b == ASCII.closeBracket {
                    pos &+= 1
                    return sawInvalid
                } else {
                    throw unexpected("expected ',' or ']' in an array")
                }
            }
        case UInt8(ascii: "t"):
            try expectLiteral("true")
        case UInt8(ascii: "f"):
            try expectLiteral("false")
        case UInt8(ascii: "n"):
            try expectLiteral("null")
        case ASCII.minus, ASCII.zero...ASCII.nine:
            _ = try scanNumber()
        default:
            throw unexpected("expected a JSON value")
        }
        return false
    }
}
