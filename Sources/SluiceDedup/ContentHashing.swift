import SluiceCore

/// How text is normalised before an exact hash.
public enum ContentNormalization: String, Sendable, Decodable, CaseIterable {
    /// The bytes as they are.
    case none
    /// Runs of Unicode whitespace become one space; the ends are trimmed.
    case whitespace
    /// datatrove's (and CCNet's) normalisation: lowercase, digits to 0, punctuation removed,
    /// whitespace collapsed, accents removed (see ``DatatroveText``).
    case simplified
}

/// Hashes text to 128 bits after a normalisation. Reusable scratch: one per thread.
struct ContentHasher {
    let normalization: ContentNormalization
    private var text = DatatroveText()
    private var scratch: [UInt8] = []

    init(normalization: ContentNormalization) {
        self.normalization = normalization
    }

    static let seedHigh: UInt64 = 0x9E37_79B9_7F4A_7C15
    static let seedLow: UInt64 = 0xC2B2_AE3D_27D4_EB4F

    /// The 128-bit hash of the normalised text and its length in characters.
    mutating func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> (hi: UInt64, lo: UInt64, characters: Int) {
        switch normalization {
        case .none:
            return Self.hash128(UnsafeRawBufferPointer(bytes), characters: countScalars(bytes))
        case .whitespace:
            scratch.removeAll(keepingCapacity: true)
            var pendingSpace = false
            var i = 0
            let n = bytes.count
            while i < n {
                let ws = UTF8Whitespace.whitespaceLength(in: bytes, at: i)
                if ws > 0 {
                    pendingSpace = true
                    i += ws
                    continue
                }
                if pendingSpace && !scratch.isEmpty { scratch.append(0x20) }
                pendingSpace = false
                scratch.append(bytes[i])
                i += 1
            }
            return scratch.withUnsafeBufferPointer { Self.hash128(UnsafeRawBufferPointer($0), characters: countScalars($0)) }
        case .simplified:
            text.simplify(bytes)
            return text.simplified.withUnsafeBufferPointer {
                Self.hash128(UnsafeRawBufferPointer($0), characters: countScalars($0))
            }
        }
    }

    static func hash128(_ raw: UnsafeRawBufferPointer, characters: Int) -> (hi: UInt64, lo: UInt64, characters: Int) {
        (XXH64.hash(raw, seed: seedHigh), XXH64.hash(raw, seed: seedLow), characters)
    }
}

/// Unicode scalars in UTF-8 bytes (bytes that do not continue a sequence).
@inline(__always) func countScalars(_ b: UnsafeBufferPointer<UInt8>) -> Int {
    var n = 0
    for x in b where x & 0xC0 != 0x80 { n += 1 }
    return n
}

/// How a document splits into lines or paragraphs, and how it is put back together without
/// some of them.
///
/// A line ends at `\n`. A paragraph is a run of lines that are not blank (a blank line holds
/// only spaces, tabs or `\r`); paragraphs are separated by one or more blank lines. Removing a
/// unit removes it with the separator after it; the text keeps its original ending.
public struct TextUnits: Sendable {
    public enum Kind: String, Sendable { case line, paragraph }
    public let kind: Kind

    public init(kind: Kind) { self.kind = kind }

    /// A unit: its text is `[start, end)`, its separator `[end, next)`.
    struct Unit: Equatable {
        var start: Int
        var end: Int
        var next: Int
    }

    /// The units, and where the first starts (blank lines before the first paragraph).
    func split(_ b: UnsafeBufferPointer<UInt8>) -> (head: Int, units: [Unit]) {
        let n = b.count
        var lines: [(start: Int, end: Int, next: Int)] = []
        var s = 0
        while s < n {
            var e = s
            while e < n && b[e] != 0x0A { e += 1 }
            lines.append((s, e, e < n ? e + 1 : n))
            s = e < n ? e + 1 : n
        }
        if kind == .line {
            return (0, lines.map { Unit(start: $0.start, end: $0.end, next: $0.next) })
        }
        func blank(_ l: (start: Int, end: Int, next: Int)) -> Bool {
            for i in l.start..<l.end where !(b[i] == 0x20 || b[i] == 0x09 || b[i] == 0x0D) { return false }
            return true
        }
        var units: [Unit] = []
        var head = 0
        var i = 0
        while i < lines.count && blank(lines[i]) { i += 1 }
        head = i < lines.count ? lines[i].start : n
        while i < lines.count {
            let start = lines[i].start
            var j = i
            while j + 1 < lines.count && !blank(lines[j + 1]) { j += 1 }
            let end = lines[j].end
            var k = j + 1
            while k < lines.count && blank(lines[k]) { k += 1 }
            let next = k < lines.count ? lines[k].start : n
            units.append(Unit(start: start, end: end, next: next))
            i = k
        }
        return (head, units)
    }

    /// The units' texts as byte ranges (for hashing).
    func ranges(_ text: String) -> [Range<Int>] {
        text.withUTF8Bytes { split($0).units.map { $0.start..<$0.end } }
    }

    /// The text without the units at `remove` (indices into ``split(_:)``), and how many were
    /// removed. Empty when nothing but blank space is left.
    func removing(_ remove: Set<Int>, from text: String) -> (String, Int) {
        text.withUTF8Bytes { b -> (String, Int) in
            let (head, units) = split(b)
            var out: [UInt8] = []
            out.reserveCapacity(b.count)
            out.append(contentsOf: b[0..<head])
            var removed = 0
            var lastKept: Int?
            for (i, u) in units.enumerated() {
                if remove.contains(i) {
                    removed += 1
                    continue
                }
                out.append(contentsOf: b[u.start..<u.next])
                lastKept = i
            }
            guard let lastKept else { return ("", removed) }
            if lastKept != units.count - 1 {
                // The last unit went: end with the original ending instead of a separator.
                let u = units[lastKept]
                out.removeLast(u.next - u.end)
                out.append(contentsOf: b[units[units.count - 1].end..<b.count])
            }
            var onlyBlank = true
            for x in out where !(x == 0x20 || x == 0x09 || x == 0x0D || x == 0x0A) {
                onlyBlank = false
                break
            }
            return (onlyBlank ? "" : String(decoding: out, as: UTF8.self), removed)
        }
    }
}
