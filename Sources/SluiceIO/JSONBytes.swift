// Byte-level helpers shared by the JSON reader and writer: word-at-a-time scans, UTF-8
// sequence checks and the growable scratch buffers the reader decodes strings into.

enum ASCII {
    static let quote: UInt8 = 0x22  // "
    static let backslash: UInt8 = 0x5C  // \
    static let slash: UInt8 = 0x2F  // /
    static let comma: UInt8 = 0x2C
    static let colon: UInt8 = 0x3A
    static let openBrace: UInt8 = 0x7B
    static let closeBrace: UInt8 = 0x7D
    static let openBracket: UInt8 = 0x5B
    static let closeBracket: UInt8 = 0x5D
    static let minus: UInt8 = 0x2D
    static let plus: UInt8 = 0x2B
    static let dot: UInt8 = 0x2E
    static let zero: UInt8 = 0x30
    static let nine: UInt8 = 0x39
    static let space: UInt8 = 0x20
    static let tab: UInt8 = 0x09
    static let lineFeed: UInt8 = 0x0A
    static let carriageReturn: UInt8 = 0x0D
}

/// Word-at-a-time byte classification (the classic "has zero byte" / "has byte less than"
/// tricks). The lowest flagged byte of a mask is always a true hit: false positives can only
/// appear above a true hit because borrows only propagate upward.
enum SWAR {
    static let ones: UInt64 = 0x0101_0101_0101_0101
    static let highs: UInt64 = 0x8080_8080_8080_8080

    /// Loads 8 bytes at `p` as a little-endian word (byte 0 is the lowest byte).
    @inline(__always)
    static func load(_ p: UnsafePointer<UInt8>) -> UInt64 {
        UInt64(littleEndian: UnsafeRawPointer(p).loadUnaligned(as: UInt64.self))
    }

    /// High bit set in each byte that is `"`, `\` or a control character below 0x20
    /// (the bytes a JSON string cannot hold raw, and the bytes the escaper must escape).
    @inline(__always)
    static func stringSpecialMask(_ w: UInt64) -> UInt64 {
        let q = w ^ (ones &* 0x22)
        let b = w ^ (ones &* 0x5C)
        let control = (w &- ones &* 0x20) & ~w
        let isQuote = (q &- ones) & ~q
        let isBackslash = (b &- ones) & ~b
        return (control | isQuote | isBackslash) & highs
    }

    /// ``stringSpecialMask(_:)`` plus every byte with its high bit set (non-ASCII).
    @inline(__always)
    static func stringSpecialOrNonASCIIMask(_ w: UInt64) -> UInt64 {
        stringSpecialMask(w) | (w & highs)
    }
}

@inline(__always)
func isStringSpecial(_ b: UInt8) -> Bool {
    b == ASCII.quote || b == ASCII.backslash || b < 0x20
}

/// The index of the first byte in `from..<end` that is `"`, `\` or below 0x20, or `end`.
@inline(__always)
func findStringSpecial(_ base: UnsafePointer<UInt8>, from: Int, end: Int) -> Int {
    var p = from
    while p &+ 8 <= end {
        let m = SWAR.stringSpecialMask(SWAR.load(base + p))
        if m != 0 { return p &+ (m.trailingZeroBitCount &>> 3) }
        p &+= 8
    }
    while p < end {
        if isStringSpecial(base[p]) { return p }
        p &+= 1
    }
    return end
}

/// ``findStringSpecial(_:from:end:)`` that also ORs every byte it passes into `seen` (its high bit
/// then says whether any of them was non-ASCII).
@inline(__always)
func findStringSpecial(_ base: UnsafePointer<UInt8>, from: Int, end: Int, seen: inout UInt64) -> Int {
    var p = from
    while p &+ 8 <= end {
        let w = SWAR.load(base + p)
        let m = SWAR.stringSpecialMask(w)
        if m != 0 {
            let q = p &+ (m.trailingZeroBitCount &>> 3)
            while p < q {
                seen |= UInt64(base[p])
                p &+= 1
            }
            return q
        }
        seen |= w
        p &+= 8
    }
    while p < end {
        let b = base[p]
        if isStringSpecial(b) { return p }
        seen |= UInt64(b)
        p &+= 1
    }
    return end
}

/// The index of the first byte in `from..<end` that is `"`, `\`, below 0x20 or non-ASCII.
@inline(__always)
func findStringSpecialOrNonASCII(_ base: UnsafePointer<UInt8>, from: Int, end: Int) -> Int {
    var p = from
    while p &+ 8 <= end {
        let m = SWAR.stringSpecialOrNonASCIIMask(SWAR.load(base + p))
        if m != 0 { return p &+ (m.trailingZeroBitCount &>> 3) }
        p &+= 8
    }
    while p < end {
        let b = base[p]
        if isStringSpecial(b) || b >= 0x80 { return p }
        p &+= 1
    }
    return end
}

/// Checks the UTF-8 sequence that starts with the non-ASCII byte at `p` (with `p < end`).
///
/// Returns the number of bytes it spans and whether it is a valid scalar. For an invalid one the
/// length is that of its *maximal subpart* (Unicode §3.9, the WHATWG decoder, and Swift's
/// `String(decoding:as:)`), so replacing each invalid span with one U+FFFD and resuming after it
/// gives the standard result. Overlong forms, UTF-16 surrogates and values above U+10FFFF are
/// invalid.
@inline(__always)
func checkUTF8Sequence(_ base: UnsafePointer<UInt8>, at p: Int, end: Int) -> (length: Int, valid: Bool) {
    let b0 = base[p]
    let need: Int
    var lo: UInt8 = 0x80
    var hi: UInt8 = 0xBF
    switch b0 {
    case 0xC2...0xDF: need = 1
    case 0xE0: need = 2; lo = 0xA0
    case 0xE1...0xEC, 0xEE, 0xEF: need = 2
    case 0xED: need = 2; hi = 0x9F
    case 0xF0: need = 3; lo = 0x90
    case 0xF1...0xF3: need = 3
    case 0xF4: need = 3; hi = 0x8F
    default: return (1, false)
    }
    var i = 1
    while i <= need {
        let q = p &+ i
        if q >= end { return (i, false) }
        let c = base[q]
        if c < lo || c > hi { return (i, false) }
        lo = 0x80
        hi = 0xBF
        i &+= 1
    }
    return (need &+ 1, true)
}

/// A growable byte buffer with manual storage, for the reader's scratch space.
struct GrowableBytes {
    private(set) var pointer: UnsafeMutablePointer<UInt8>
    private(set) var capacity: Int
    var count: Int = 0

    init(capacity: Int) {
        self.capacity = Swift.max(capacity, 16)
        pointer = .allocate(capacity: self.capacity)
    }

    func free() { pointer.deallocate() }

    /// Makes room for `extra` more bytes after `count`.
    @inline(__always)
    mutating func reserve(_ extra: Int) {
        if count &+ extra > capacity { grow(count &+ extra) }
    }

    @inline(never)
    private mutating func grow(_ needed: Int) {
        var newCapacity = capacity &* 2
        while newCapacity < needed { newCapacity &*= 2 }
        let p = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        p.update(from: pointer, count: count)
        pointer.deallocate()
        pointer = p
        capacity = newCapacity
    }

    /// Drops oversized storage (after an unusually long line) so one huge document does not
    /// pin its memory for the rest of the batch.
    mutating func shrink(ifLargerThan limit: Int, to size: Int) {
        guard capacity > limit else { return }
        pointer.deallocate()
        capacity = size
        pointer = .allocate(capacity: size)
        count = 0
    }

    @inline(__always)
    mutating func append(_ byte: UInt8) {
        reserve(1)
        pointer[count] = byte
        count &+= 1
    }

    @inline(__always)
    mutating func append(_ source: UnsafePointer<UInt8>, count n: Int) {
        guard n > 0 else { return }
        reserve(n)
        (pointer + count).update(from: source, count: n)
        count &+= n
    }

    /// Appends a Unicode scalar value (already known to be a valid scalar) as UTF-8.
    @inline(__always)
    mutating func appendScalar(_ v: UInt32) {
        reserve(4)
        let p = pointer + count
        if v < 0x80 {
            p[0] = UInt8(truncatingIfNeeded: v)
            count &+= 1
        } else if v < 0x800 {
            p[0] = UInt8(truncatingIfNeeded: 0xC0 | (v &>> 6))
            p[1] = UInt8(truncatingIfNeeded: 0x80 | (v & 0x3F))
            count &+= 2
        } else if v < 0x1_0000 {
            p[0] = UInt8(truncatingIfNeeded: 0xE0 | (v &>> 12))
            p[1] = UInt8(truncatingIfNeeded: 0x80 | ((v &>> 6) & 0x3F))
            p[2] = UInt8(truncatingIfNeeded: 0x80 | (v & 0x3F))
            count &+= 3
        } else {
            p[0] = UInt8(truncatingIfNeeded: 0xF0 | (v &>> 18))
            p[1] = UInt8(truncatingIfNeeded: 0x80 | ((v &>> 12) & 0x3F))
            p[2] = UInt8(truncatingIfNeeded: 0x80 | ((v &>> 6) & 0x3F))
            p[3] = UInt8(truncatingIfNeeded: 0x80 | (v & 0x3F))
            count &+= 4
        }
    }

    @inline(__always)
    mutating func appendReplacementCharacter() {
        reserve(3)
        let p = pointer + count
        p[0] = 0xEF
        p[1] = 0xBF
        p[2] = 0xBD
        count &+= 3
    }

    var bytes: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(start: pointer, count: count) }
}

/// The reader's reusable scratch space: decoded string bytes, and a second buffer for repairing
/// invalid UTF-8.
///
/// Owned by exactly one reader at a time: ``DocumentLineParser`` checks that its reference is
/// unique before each line and allocates a new one otherwise, so copies of a parser never share
/// a scratch buffer while writing. That is what makes the `@unchecked Sendable` sound.
final class JSONScratch: @unchecked Sendable {
    var decoded = GrowableBytes(capacity: 4096)
    var repaired = GrowableBytes(capacity: 256)

    init() {}

    deinit {
        decoded.free()
        repaired.free()
    }

    /// Releases buffers that grew past 16 MiB on a huge line.
    func trim() {
        decoded.shrink(ifLargerThan: 16 << 20, to: 4096)
        repaired.shrink(ifLargerThan: 16 << 20, to: 256)
    }
}
