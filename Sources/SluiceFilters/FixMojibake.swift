import SluiceCore

/// Repairs the commonest mojibake: UTF-8 text that was decoded as windows-1252 or Latin-1 (and
/// encoded again as UTF-8), so that `é` reads `Ã©`, `’` reads `â€™` and `привет` reads
/// `Ð¿Ñ€Ð¸Ð²ÐµÑ‚`.
///
/// YAML type `fix_mojibake`. Working on the UTF-8 bytes, it looks for a character that stands
/// for a UTF-8 lead byte (`Â`…`ô`, U+00C2–U+00F4) followed by characters that stand for
/// continuation bytes (U+0080–U+00BF, or the windows-1252 characters of bytes 0x80–0x9F such as
/// `€ ‚ ƒ „ … † ‡ ˆ ‰ Š ‹ Œ Ž ‘ ’ “ ” • – — ˜ ™ š › œ ž Ÿ`), maps them back to bytes, and
/// replaces them by the character those bytes encode when they are valid UTF-8. To keep real
/// text such as “CAFÉ” (`É` then `”`) intact, a two-byte sequence is repaired only when it
/// gives a character of the Latin-1 supplement (U+00A0–U+00FF), Latin Extended-A
/// (U+0100–U+017F), Greek (U+0370–U+03FF), Cyrillic (U+0400–U+04FF), Hebrew or Arabic
/// (U+0590–U+06FF); three- and four-byte sequences (`â€™`, `ä¸­`) are distinctive enough on
/// their own. Text mangled twice is repaired by repeating the pass (`max_passes`, default 2).
/// Pure ASCII text is passed over after one byte scan.
///
/// Counters: `documents_changed`, `mojibake_sequences_fixed`. Never drops a document.
///
/// ```yaml
/// - type: fix_mojibake
/// ```
public struct FixMojibake: Stage {
    public struct Configuration: Decodable, Sendable {
        public var maxPasses: Int

        enum CodingKeys: String, CodingKey { case maxPasses = "max_passes" }

        public init(maxPasses: Int = 2) { self.maxPasses = maxPasses }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            maxPasses = try c.decodeIfPresent(Int.self, forKey: .maxPasses) ?? 2
        }
    }

    public static let type = "fix_mojibake"
    public static let summary = "Repairs UTF-8 text that was decoded as windows-1252 or Latin-1 (Ã© → é, â€™ → ’)."
    public static let options: [StageOption] = [
        StageOption("max_passes", "int", default: "2", help: "Repair passes over a text (2 repairs text mangled twice)."),
    ]

    public let configuration: Configuration

    public init(configuration: Configuration) throws {
        guard configuration.maxPasses >= 1 && configuration.maxPasses <= 5 else {
            throw StageConfigurationError("max_passes must be between 1 and 5, got \(configuration.maxPasses)")
        }
        self.configuration = configuration
    }

    public func process(_ batch: inout DocumentBatch, stats: inout StageStats) throws {
        var changed = 0, fixed = 0
        var buffer: [UInt8] = []
        batch.retain { doc in
            let (text, count) = repaired(doc.text, buffer: &buffer)
            if let text {
                doc.text = text
                changed += 1
                fixed += count
            }
            return .keep
        }
        if changed > 0 {
            stats.counters["documents_changed", default: 0] += changed
            stats.counters["mojibake_sequences_fixed", default: 0] += fixed
        }
    }

    /// The repaired text, or nil when there was nothing to repair.
    public func repaired(_ text: String) -> String? {
        var buffer: [UInt8] = []
        return repaired(text, buffer: &buffer).0
    }

    func repaired(_ text: String, buffer: inout [UInt8]) -> (String?, Int) {
        var current = text
        var total = 0
        for _ in 0..<configuration.maxPasses {
            let count = current.withUTF8Bytes { bytes -> Int in
                isASCII(bytes) ? 0 : Self.repairPass(bytes, into: &buffer)
            }
            if count == 0 { break }
            total += count
            current = String(decoding: buffer, as: UTF8.self)
        }
        return (total > 0 ? current : nil, total)
    }

    /// The byte a character stands for when UTF-8 was read as windows-1252 or Latin-1, or -1.
    @inline(__always)
    static func byteValue(_ s: UInt32) -> Int {
        if s >= 0x80 && s <= 0xFF { return Int(s) }
        switch s {
        case 0x20AC: return 0x80
        case 0x201A: return 0x82
        case 0x0192: return 0x83
        case 0x201E: return 0x84
        case 0x2026: return 0x85
        case 0x2020: return 0x86
        case 0x2021: return 0x87
        case 0x02C6: return 0x88
        case 0x2030: return 0x89
        case 0x0160: return 0x8A
        case 0x2039: return 0x8B
        case 0x0152: return 0x8C
        case 0x017D: return 0x8E
        case 0x2018: return 0x91
        case 0x2019: return 0x92
        case 0x201C: return 0x93
        case 0x201D: return 0x94
        case 0x2022: return 0x95
        case 0x2013: return 0x96
        case 0x2014: return 0x97
        case 0x02DC: return 0x98
        case 0x2122: return 0x99
        case 0x0161: return 0x9A
        case 0x203A: return 0x9B
        case 0x0153: return 0x9C
        case 0x017E: return 0x9E
        case 0x0178: return 0x9F
        default: return -1
        }
    }

    /// One repair pass over valid UTF-8 `text`: writes the result to `out` and returns the number
    /// of sequences repaired (0 leaves `out` undefined).
    static func repairPass(_ text: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) -> Int {
        guard let p = text.baseAddress else { return 0 }
        let n = text.count
        var fixed = 0
        var copied = 0
        var i = 0
        var lead = [Int](repeating: 0, count: 4)
        while i < n {
            let b0 = p[i]
            // Only the UTF-8 of U+00C2...U+00F4 (C3 82...C3 B4) can stand for a lead byte.
            guard b0 == 0xC3, i + 1 < n, p[i + 1] >= 0x82, p[i + 1] <= 0xB4 else {
                i += 1
                continue
            }
            let leadByte = Int(p[i + 1]) + 0x40  // C3 xx is U+00C0 + (xx - 0x80)
            let needed = leadByte < 0xE0 ? 1 : leadByte < 0xF0 ? 2 : 3
            lead[0] = leadByte
            var j = i + 2
            var ok = true
            for k in 1...needed {
                guard j < n, p[j] >= 0x80 else {
                    ok = false
                    break
                }
                let (s, len) = decodeScalar(p, j)
                let v = byteValue(s)
                guard v >= 0x80 && v <= 0xBF else {
                    ok = false
                    break
                }
                lead[k] = v
                j += len
            }
            guard ok, let scalar = decodeUTF8(lead, needed + 1), acceptable(scalar, bytes: needed + 1) else {
                i += 2
                continue
            }
            if fixed == 0 {
                out.removeAll(keepingCapacity: true)
                out.reserveCapacity(n)
            }
            out.append(contentsOf: UnsafeBufferPointer(start: p + copied, count: i - copied))
            for k in 0...needed { out.append(UInt8(lead[k])) }
            fixed += 1
            i = j
            copied = j
        }
        if fixed > 0 { out.append(contentsOf: UnsafeBufferPointer(start: p + copied, count: n - copied)) }
        return fixed
    }

    /// The scalar a valid UTF-8 sequence encodes (no overlong forms, surrogates or values past
    /// U+10FFFF), or nil.
    static func decodeUTF8(_ b: [Int], _ count: Int) -> UInt32? {
        switch count {
        case 2:
            guard b[0] >= 0xC2 else { return nil }
            return UInt32(b[0] & 0x1F) << 6 | UInt32(b[1] & 0x3F)
        case 3:
            if b[0] == 0xE0 && b[1] < 0xA0 { return nil }
            if b[0] == 0xED && b[1] > 0x9F { return nil }
            return UInt32(b[0] & 0x0F) << 12 | UInt32(b[1] & 0x3F) << 6 | UInt32(b[2] & 0x3F)
        case 4:
            if b[0] == 0xF0 && b[1] < 0x90 { return nil }
            if b[0] == 0xF4 && b[1] > 0x8F { return nil }
            if b[0] > 0xF4 { return nil }
            return UInt32(b[0] & 0x07) << 18 | UInt32(b[1] & 0x3F) << 12 | UInt32(b[2] & 0x3F) << 6 | UInt32(b[3] & 0x3F)
        default:
            return nil
        }
    }

    /// Whether a repaired character is plausible: any from three or four bytes; from two bytes,
    /// only the Latin, Greek, Cyrillic, Hebrew and Arabic ranges (see the type's documentation).
    static func acceptable(_ s: UInt32, bytes: Int) -> Bool {
        guard bytes == 2 else { return true }
        return (0xA0...0x17F).contains(s) || (0x370...0x3FF).contains(s) || (0x400...0x4FF).contains(s) || (0x590...0x6FF).contains(s)
    }
}
