#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// fastText's hash of a token (FNV-1a over the bytes, each byte sign-extended as fastText's
/// released models require).
@inline(__always)
public func fastTextHash(_ p: UnsafePointer<UInt8>, _ n: Int) -> UInt32 {
    var h: UInt32 = 2_166_136_261
    for i in 0..<n {
        h = (h ^ UInt32(bitPattern: Int32(Int8(bitPattern: p[i])))) &* 16_777_619
    }
    return h
}

/// fastText's hash of a token.
public func fastTextHash(_ bytes: [UInt8]) -> UInt32 {
    bytes.withUnsafeBufferPointer { b in
        guard let p = b.baseAddress else { return 2_166_136_261 }
        return fastTextHash(p, b.count)
    }
}

@inline(__always)
func fnvStep(_ h: UInt32, _ b: UInt8) -> UInt32 {
    (h ^ UInt32(bitPattern: Int32(Int8(bitPattern: b)))) &* 16_777_619
}

/// The vocabulary of a fastText model: words first, then labels, each with its count.
///
/// Lookups go through an open-addressing table keyed by ``fastTextHash(_:_:)``; a pruned
/// (quantized) dictionary also maps hashed n-gram buckets to its compact rows.
///
/// It is a class so that the hot path passes one reference around, and `@unchecked Sendable`
/// because its raw pointers point into its own ``Buffer``s, which never change after the
/// dictionary is built.
public final class FastTextDictionary: @unchecked Sendable {
    /// Whether an entry is a word or a label (file values 0 and 1).
    public enum EntryType: UInt8, Sendable {
        case word = 0
        case label = 1
    }

    /// One entry as stored in the file.
    public struct Entry: Sendable, Equatable {
        public var bytes: [UInt8]
        public var count: Int64
        public var type: EntryType
        public init(bytes: [UInt8], count: Int64, type: EntryType) {
            self.bytes = bytes
            self.count = count
            self.type = type
        }
        public var text: String { String(decoding: bytes, as: UTF8.self) }
    }

    static let eos: [UInt8] = Array("</s>".utf8)
    static let eosHash: UInt32 = fastTextHash(eos)
    /// `__label__`.
    public static let defaultLabelPrefix: [UInt8] = Array("__label__".utf8)

    /// Number of words (ids `0..<nwords`).
    public let nwords: Int
    /// Number of labels (ids `nwords..<nwords+nlabels`; label index = id − nwords).
    public let nlabels: Int
    /// Tokens read when the model was trained.
    public let ntokens: Int64
    /// −1: not pruned; 0: pruned with every n-gram dropped; more: n-gram buckets kept.
    public let pruneIndexSize: Int64
    /// The prefix that marks a label token (`__label__`; not stored in model files).
    public let labelPrefix: [UInt8]

    public var size: Int { nwords + nlabels }
    public var isPruned: Bool { pruneIndexSize >= 0 }

    let bytes: Buffer<UInt8>
    let starts: Buffer<UInt32>
    let hashes: Buffer<UInt32>
    let types: Buffer<UInt8>
    let counts: [Int64]
    let table: Buffer<Int32>
    let tableMask: Int
    /// Pruned n-gram buckets: a bit per bucket (most lookups are of pruned-away buckets and
    /// stop here), then bucket → compact index in an open-addressing table of
    /// `UInt64(index) << 32 | bucket`, empty slots all ones.
    let pruneBits: Buffer<UInt64>
    let pruneSlots: Buffer<UInt64>
    let pruneMask: Int
    let pruneBitCount: Int
    // Raw views of the buffers above, for the hot path.
    let pTable: UnsafeMutablePointer<Int32>
    let pHashes: UnsafeMutablePointer<UInt32>
    let pStarts: UnsafeMutablePointer<UInt32>
    let pBytes: UnsafeMutablePointer<UInt8>
    let pTypes: UnsafeMutablePointer<UInt8>
    let pPruneBits: UnsafeMutablePointer<UInt64>
    let pPruneSlots: UnsafeMutablePointer<UInt64>
    /// The pairs in the order read or built, for writing back.
    let prunePairs: [(Int32, Int32)]
    /// The id of `</s>`, or −1.
    public let eosID: Int32

    /// Builds a dictionary from entries (words first, then labels).
    ///
    /// - Parameter prunePairs: `nil` for an unpruned dictionary, otherwise the kept n-gram
    ///   buckets mapped to their compact index.
    public convenience init(
        entries: [Entry], ntokens: Int64, prunePairs: [(bucket: Int32, index: Int32)]? = nil,
        labelPrefix: [UInt8] = FastTextDictionary.defaultLabelPrefix
    ) throws {
        var nw = 0
        var nl = 0
        for e in entries {
            switch e.type {
            case .word:
                if nl > 0 {
                    throw FastTextError("dictionary entry '\(e.text)' is a word after a label; words must come first")
                }
                nw += 1
            case .label: nl += 1
            }
        }
        var flat: [UInt8] = []
        flat.reserveCapacity(entries.reduce(0) { $0 + $1.bytes.count })
        var starts: [UInt32] = [0]
        starts.reserveCapacity(entries.count + 1)
        for e in entries {
            flat.append(contentsOf: e.bytes)
            starts.append(UInt32(flat.count))
        }
        try self.init(
            nwords: nw, nlabels: nl, ntokens: ntokens, bytes: flat, starts: starts,
            counts: entries.map(\.count), types: entries.map(\.type.rawValue),
            prunePairs: prunePairs.map { $0.map { ($0.bucket, $0.index) } }, labelPrefix: labelPrefix)
    }

    init(
        nwords: Int, nlabels: Int, ntokens: Int64, bytes flat: [UInt8], starts: [UInt32], counts: [Int64],
        types: [UInt8], prunePairs: [(Int32, Int32)]?, labelPrefix: [UInt8]
    ) throws {
        self.nwords = nwords
        self.nlabels = nlabels
        self.ntokens = ntokens
        self.labelPrefix = labelPrefix
        let size = nwords + nlabels
        self.bytes = Buffer(flat)
        self.starts = Buffer(starts)
        self.counts = counts
        self.types = Buffer(types)
        var hs = [UInt32](repeating: 0, count: size)
        flat.withUnsafeBufferPointer { f in
            for i in 0..<size {
                let s = Int(starts[i])
                hs[i] = fastTextHash(f.baseAddress! + s, Int(starts[i + 1]) - s)
            }
        }
        self.hashes = Buffer(hs)
        // Table at most half full.
        var cap = 16
        while cap < size * 2 { cap <<= 1 }
        tableMask = cap - 1
        var t = [Int32](repeating: -1, count: cap)
        flat.withUnsafeBufferPointer { f in
            for i in 0..<size {
                let h = hs[i]
                let s = Int(starts[i])
                let n = Int(starts[i + 1]) - s
                var slot = Self.slot(h, cap - 1)
                while true {
                    let j = Int(t[slot])
                    if j < 0 { t[slot] = Int32(i); break }
                    if hs[j] == h, Int(starts[j + 1]) - Int(starts[j]) == n,
                        memcmp(f.baseAddress! + Int(starts[j]), f.baseAddress! + s, n) == 0
                    {
                        t[slot] = Int32(i)  // a repeated entry: the later one wins, as in fastText
                        break
                    }
                    slot = (slot + 1) & (cap - 1)
                }
            }
        }
        table = Buffer(t)
        if let pairs = prunePairs {
            pruneIndexSize = Int64(pairs.count)
            var pc = 16
            while pc < pairs.count * 2 { pc <<= 1 }
            var slots = [UInt64](repeating: UInt64.max, count: pc)
            var maxKey: Int32 = -1
            for (k, v) in pairs {
                guard k >= 0 else { throw FastTextError("pruned dictionary has a negative n-gram bucket \(k); the file is damaged") }
                maxKey = max(maxKey, k)
                var slot = Self.slot(UInt32(bitPattern: k), pc - 1)
                while slots[slot] != UInt64.max && UInt32(truncatingIfNeeded: slots[slot]) != UInt32(bitPattern: k) {
                    slot = (slot + 1) & (pc - 1)
                }
                slots[slot] = UInt64(UInt32(bitPattern: v)) << 32 | UInt64(UInt32(bitPattern: k))
            }
            var bits = [UInt64](repeating: 0, count: (Int(maxKey) + 1) / 64 + 1)
            for (k, _) in pairs { bits[Int(k) >> 6] |= 1 << UInt64(Int(k) & 63) }
            pruneSlots = Buffer(slots)
            pruneBits = Buffer(bits)
            pruneMask = pc - 1
            pruneBitCount = bits.count * 64
            self.prunePairs = pairs
        } else {
            pruneIndexSize = -1
            pruneSlots = Buffer(count: 1, repeating: UInt64.max)
            pruneBits = Buffer(count: 1, repeating: 0)
            pruneMask = 0
            pruneBitCount = 0
            self.prunePairs = []
        }
        pTable = table.base
        pHashes = hashes.base
        pStarts = self.starts.base
        pBytes = bytes.base
        pTypes = self.types.base
        pPruneBits = pruneBits.base
        pPruneSlots = pruneSlots.base
        let (tb, tm, hb, sb, bb) = (table.base, tableMask, hashes.base, self.starts.base, bytes.base)
        eosID = Self.eos.withUnsafeBufferPointer { e in
            Self.find(e.baseAddress!, e.count, Self.eosHash, table: tb, mask: tm, hashes: hb, starts: sb, bytes: bb)
        }
    }

    @inline(__always)
    static func slot(_ h: UInt32, _ mask: Int) -> Int {
        Int(truncatingIfNeeded: (UInt64(h) &* 0x9E37_79B9_7F4A_7C15) >> 32) & mask
    }

    @inline(__always)
    static func find(
        _ p: UnsafePointer<UInt8>, _ n: Int, _ h: UInt32, table: UnsafeMutablePointer<Int32>, mask: Int,
        hashes: UnsafeMutablePointer<UInt32>, starts: UnsafeMutablePointer<UInt32>, bytes: UnsafeMutablePointer<UInt8>
    ) -> Int32 {
        var slot = slot(h, mask)
        while true {
            let j = table[slot]
            if j < 0 { return -1 }
            let ji = Int(j)
            if hashes[ji] == h {
                let s = Int(starts[ji])
                if Int(starts[ji + 1]) - s == n, memcmp(bytes + s, p, n) == 0 { return j }
            }
            slot = (slot + 1) & mask
        }
    }

    /// The id of a token, or −1.
    public func id(of token: [UInt8]) -> Int32 {
        token.withUnsafeBufferPointer { b in
            let p = b.baseAddress ?? UnsafePointer(bytes.base)
            return Self.find(p, b.count, fastTextHash(p, b.count), table: table.base, mask: tableMask,
                             hashes: hashes.base, starts: starts.base, bytes: bytes.base)
        }
    }

    /// The id of a token, or −1.
    public func id(of token: String) -> Int32 { id(of: Array(token.utf8)) }

    /// The bytes of entry `id`.
    public func entryBytes(_ id: Int) -> [UInt8] {
        let s = Int(starts[id])
        return Array(UnsafeBufferPointer(start: bytes.base + s, count: Int(starts[id + 1]) - s))
    }

    /// The entry with id `id`.
    public func entry(_ id: Int) -> Entry {
        Entry(bytes: entryBytes(id), count: counts[id], type: EntryType(rawValue: types[id]) ?? .word)
    }

    /// Every entry in id order.
    public var entries: [Entry] { (0..<size).map { entry($0) } }

    /// The word with id `id` (0..<nwords).
    public func word(_ id: Int) -> String { String(decoding: entryBytes(id), as: UTF8.self) }

    /// The label with label index `index` (0..<nlabels), such as `__label__en`.
    public func label(_ index: Int) -> String { String(decoding: entryBytes(nwords + index), as: UTF8.self) }

    /// The counts of the labels, in label order.
    public var labelCounts: [Int64] { Array(counts[nwords..<(nwords + nlabels)]) }

    /// The counts of the words, in id order.
    public var wordCounts: [Int64] { Array(counts[0..<nwords]) }

    /// The kept n-gram buckets of a pruned dictionary, mapped to their compact index.
    public var pruneIndex: [(bucket: Int32, index: Int32)] { prunePairs.map { (bucket: $0.0, index: $0.1) } }

    /// Maps an n-gram bucket through the prune index: the row offset after `nwords`, or −1 when
    /// the bucket was pruned away.
    @inline(__always)
    func mapBucket(_ bucket: Int32) -> Int32 {
        if pruneIndexSize < 0 { return bucket }
        let b = Int(bucket)
        if b >= pruneBitCount || (pPruneBits[b &>> 6] &>> UInt64(b & 63)) & 1 == 0 { return -1 }
        var slot = Self.slot(UInt32(bitPattern: bucket), pruneMask)
        while true {
            let e = pPruneSlots[slot]
            if UInt32(truncatingIfNeeded: e) == UInt32(bitPattern: bucket) { return Int32(truncatingIfNeeded: e &>> 32) }
            if e == UInt64.max { return -1 }
            slot = (slot &+ 1) & pruneMask
        }
    }

    // MARK: File format

    convenience init(reading r: inout BinaryFileReader) throws {
        let size32 = try r.int32("dictionary size")
        let nwords32 = try r.int32("dictionary nwords")
        let nlabels32 = try r.int32("dictionary nlabels")
        let ntokens = try r.int64("dictionary ntokens")
        let pruneSize = try r.int64("dictionary pruneidx_size")
        guard size32 >= 0, nwords32 >= 0, nlabels32 >= 0, Int(size32) == Int(nwords32) + Int(nlabels32) else {
            throw FastTextError(
                "model file \(r.path) has an inconsistent dictionary header (size \(size32), words \(nwords32), labels \(nlabels32)); the file is damaged")
        }
        let size = Int(size32)
        var flat: [UInt8] = []
        var starts: [UInt32] = [0]
        starts.reserveCapacity(size + 1)
        var counts: [Int64] = []
        counts.reserveCapacity(size)
        var types: [UInt8] = []
        types.reserveCapacity(size)
        for i in 0..<size {
            try r.cString(appendingTo: &flat, what: "dictionary entry \(i)")
            starts.append(UInt32(flat.count))
            counts.append(try r.int64("dictionary entry \(i) count"))
            let t = try r.uint8("dictionary entry \(i) type")
            guard t <= 1 else {
                throw FastTextError("model file \(r.path): dictionary entry \(i) has type \(t), expected 0 (word) or 1 (label); the file is damaged")
            }
            let expected: UInt8 = i < Int(nwords32) ? 0 : 1
            guard t == expected else {
                throw FastTextError("model file \(r.path): dictionary entry \(i) is a \(t == 0 ? "word" : "label") where a \(expected == 0 ? "word" : "label") was expected; the file is damaged")
            }
            types.append(t)
        }
        var pairs: [(Int32, Int32)]? = nil
        if pruneSize >= 0 {
            guard pruneSize <= Int64(Int32.max) else {
                throw FastTextError("model file \(r.path) claims \(pruneSize) pruned n-grams; the file is damaged")
            }
            let raw = try r.array(Int32.self, count: Int(pruneSize) * 2, what: "dictionary prune index")
            var p: [(Int32, Int32)] = []
            p.reserveCapacity(Int(pruneSize))
            for i in 0..<Int(pruneSize) { p.append((Int32(littleEndian: raw[2 * i]), Int32(littleEndian: raw[2 * i + 1]))) }
            pairs = p
        } else if pruneSize != -1 {
            throw FastTextError("model file \(r.path) has pruneidx_size \(pruneSize); expected −1 or more. The file is damaged")
        }
        try self.init(
            nwords: Int(nwords32), nlabels: Int(nlabels32), ntokens: ntokens, bytes: flat, starts: starts,
            counts: counts, types: types, prunePairs: pairs, labelPrefix: Self.defaultLabelPrefix)
    }

    func write(to w: inout BinaryFileWriter) throws {
        try w.int32(Int32(size))
        try w.int32(Int32(nwords))
        try w.int32(Int32(nlabels))
        try w.int64(ntokens)
        try w.int64(pruneIndexSize)
        for i in 0..<size {
            let s = Int(starts[i])
            try w.raw(UnsafeRawBufferPointer(start: bytes.base + s, count: Int(starts[i + 1]) - s))
            try w.uint8(0)
            try w.int64(counts[i])
            try w.uint8(types[i])
        }
        for (k, v) in prunePairs {
            try w.int32(k)
            try w.int32(v)
        }
    }

    /// A copy with another label prefix (used by training with `-label`).
    func withLabelPrefix(_ prefix: [UInt8]) throws -> FastTextDictionary {
        try FastTextDictionary(
            nwords: nwords, nlabels: nlabels, ntokens: ntokens, bytes: bytes.array, starts: starts.array,
            counts: counts, types: types.array, prunePairs: isPruned ? prunePairs : nil, labelPrefix: prefix)
    }
}
