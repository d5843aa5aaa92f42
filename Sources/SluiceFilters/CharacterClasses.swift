/// The character classes of ``WordFlag`` for every Unicode scalar, built once from the generated
/// segments in WordTables.swift: a direct table for the Basic Multilingual Plane and a binary
/// search over segments above it.
final class CharacterClasses: @unchecked Sendable {
    /// The one shared instance (about 256 KB, built on first use).
    static let shared = CharacterClasses()

    /// Flags of U+0000...U+FFFF.
    let bmp: UnsafeMutablePointer<UInt32>
    /// Segments above the BMP: starts (ascending) and their flags.
    private let astralStarts: [UInt32]
    private let astralFlags: [UInt32]

    private init() {
        var starts: [UInt32] = []
        var flags: [UInt32] = []
        starts.reserveCapacity(3200)
        flags.reserveCapacity(3200)
        var value: UInt32 = 0
        var first: UInt32 = 0
        var readingFlags = false
        for b in wordFlagSegmentsHex.utf8 {
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = value << 4 | UInt32(b - 48)
            case UInt8(ascii: "a")...UInt8(ascii: "f"): value = value << 4 | UInt32(b - 87)
            case UInt8(ascii: ":"):
                first = value
                value = 0
                readingFlags = true
            default:
                if readingFlags {
                    starts.append(first)
                    flags.append(value)
                    value = 0
                    readingFlags = false
                }
            }
        }
        if readingFlags {
            starts.append(first)
            flags.append(value)
        }
        bmp = .allocate(capacity: 0x10000)
        var s = 0
        for cp in 0..<0x10000 {
            while s + 1 < starts.count && starts[s + 1] <= UInt32(cp) { s += 1 }
            bmp[cp] = flags[s]
        }
        // Keep the segment that covers U+10000 and everything after.
        let firstAstral = starts.lastIndex(where: { $0 <= 0x10000 }) ?? 0
        astralStarts = Array(starts[firstAstral...])
        astralFlags = Array(flags[firstAstral...])
    }

    /// The flags of a scalar value.
    @inline(__always)
    func flags(_ scalar: UInt32) -> UInt32 {
        scalar < 0x10000 ? bmp[Int(scalar)] : astral(scalar)
    }

    @inline(never)
    private func astral(_ scalar: UInt32) -> UInt32 {
        var lo = 0
        var hi = astralStarts.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) >> 1
            if astralStarts[mid] <= scalar { lo = mid } else { hi = mid - 1 }
        }
        return astralFlags[lo]
    }

    @inline(__always)
    func has(_ scalar: UInt32, _ flag: WordFlag) -> Bool { flags(scalar) & flag.rawValue != 0 }
}

/// Decodes the scalar that starts at `i` in valid UTF-8 and returns it with its length.
@inline(__always)
func decodeScalar(_ p: UnsafePointer<UInt8>, _ i: Int) -> (UInt32, Int) {
    let b0 = UInt32(p[i])
    if b0 < 0x80 { return (b0, 1) }
    if b0 < 0xE0 { return ((b0 & 0x1F) << 6 | UInt32(p[i + 1] & 0x3F), 2) }
    if b0 < 0xF0 {
        return ((b0 & 0x0F) << 12 | UInt32(p[i + 1] & 0x3F) << 6 | UInt32(p[i + 2] & 0x3F), 3)
    }
    return ((b0 & 0x07) << 18 | UInt32(p[i + 1] & 0x3F) << 12 | UInt32(p[i + 2] & 0x3F) << 6 | UInt32(p[i + 3] & 0x3F), 4)
}

/// The length of the UTF-8 sequence a lead byte starts (1 for ASCII and stray bytes).
@inline(__always)
func utf8Length(lead b: UInt8) -> Int {
    b < 0xC0 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4
}

/// Python's `str.isspace()` for a scalar: ASCII 9–13, 28–32 and the Unicode spaces.
@inline(__always)
func isPythonSpace(_ s: UInt32) -> Bool {
    if s < 0x80 { return (s >= 9 && s <= 13) || (s >= 28 && s <= 32) }
    return CharacterClasses.shared.has(s, .space)
}
