/// XXH64, the 64-bit xxHash, over bytes. Used for shard checksums, deterministic sampling and
/// content hashes. Matches the reference implementation (and `xxhsum -H64`).
public struct XXH64: Sendable {
    private static let p1: UInt64 = 0x9E37_79B1_85EB_CA87
    private static let p2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    private static let p3: UInt64 = 0x1656_67B1_9E37_79F9
    private static let p4: UInt64 = 0x85EB_CA77_C2B2_AE63
    private static let p5: UInt64 = 0x27D4_EB2F_1656_67C5

    private var v1, v2, v3, v4: UInt64
    private let seed: UInt64
    private var totalLength: UInt64 = 0
    private var buffer: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    private var bufferCount = 0

    public init(seed: UInt64 = 0) {
        self.seed = seed
        v1 = seed &+ Self.p1 &+ Self.p2
        v2 = seed &+ Self.p2
        v3 = seed
        v4 = seed &- Self.p1
    }

    /// The hash of `bytes` in one call.
    public static func hash(_ bytes: UnsafeRawBufferPointer, seed: UInt64 = 0) -> UInt64 {
        var h = XXH64(seed: seed)
        h.update(bytes)
        return h.finalize()
    }

    public static func hash(_ bytes: [UInt8], seed: UInt64 = 0) -> UInt64 {
        bytes.withUnsafeBytes { hash($0, seed: seed) }
    }

    public static func hash(_ string: String, seed: UInt64 = 0) -> UInt64 {
        var s = string
        return s.withUTF8 { hash(UnsafeRawBufferPointer($0), seed: seed) }
    }

    @inline(__always) private static func round(_ acc: UInt64, _ input: UInt64) -> UInt64 {
        var a = acc &+ input &* p2
        a = (a << 31) | (a >> 33)
        return a &* p1
    }

    @inline(__always) private static func mergeRound(_ acc: UInt64, _ val: UInt64) -> UInt64 {
        var a = acc ^ round(0, val)
        a = a &* p1 &+ p4
        return a
    }

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        var p = 0
        let n = bytes.count
        totalLength &+= UInt64(n)
        // Fill the pending 32-byte block first.
        if bufferCount > 0 {
            withUnsafeMutableBytes(of: &buffer) { buf in
                let take = Swift.min(32 - bufferCount, n)
                buf.baseAddress!.advanced(by: bufferCount).copyMemory(from: base, byteCount: take)
                bufferCount += take
                p = take
            }
            if bufferCount < 32 { return }
            let (a, b, c, d) = buffer
            v1 = Self.round(v1, UInt64(littleEndian: a))
            v2 = Self.round(v2, UInt64(littleEndian: b))
            v3 = Self.round(v3, UInt64(littleEndian: c))
            v4 = Self.round(v4, UInt64(littleEndian: d))
            bufferCount = 0
        }
        while p + 32 <= n {
            v1 = Self.round(v1, UInt64(littleEndian: base.loadUnaligned(fromByteOffset: p, as: UInt64.self)))
            v2 = Self.round(v2, UInt64(littleEndian: base.loadUnaligned(fromByteOffset: p + 8, as: UInt64.self)))
            v3 = Self.round(v3, UInt64(littleEndian: base.loadUnaligned(fromByteOffset: p + 16, as: UInt64.self)))
            v4 = Self.round(v4, UInt64(littleEndian: base.loadUnaligned(fromByteOffset: p + 24, as: UInt64.self)))
            p += 32
        }
        if p < n {
            let rest = n - p
            withUnsafeMutableBytes(of: &buffer) { buf in
                buf.baseAddress!.copyMemory(from: base.advanced(by: p), byteCount: rest)
            }
            bufferCount = rest
        }
    }

    public mutating func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }

    public func finalize() -> UInt64 {
        var h: UInt64
        if totalLength >= 32 {
            h = ((v1 << 1) | (v1 >> 63)) &+ ((v2 << 7) | (v2 >> 57)) &+ ((v3 << 12) | (v3 >> 52)) &+ ((v4 << 18) | (v4 >> 46))
            h = Self.mergeRound(h, v1)
            h = Self.mergeRound(h, v2)
            h = Self.mergeRound(h, v3)
            h = Self.mergeRound(h, v4)
        } else {
            h = seed &+ Self.p5
        }
        h &+= totalLength
        var tail = buffer
        let count = bufferCount
        withUnsafeBytes(of: &tail) { buf in
            var p = 0
            while p + 8 <= count {
                let k = Self.round(0, UInt64(littleEndian: buf.loadUnaligned(fromByteOffset: p, as: UInt64.self)))
                h ^= k
                h = ((h << 27) | (h >> 37)) &* Self.p1 &+ Self.p4
                p += 8
            }
            if p + 4 <= count {
                h ^= UInt64(UInt32(littleEndian: buf.loadUnaligned(fromByteOffset: p, as: UInt32.self))) &* Self.p1
                h = ((h << 23) | (h >> 41)) &* Self.p2 &+ Self.p3
                p += 4
            }
            while p < count {
                h ^= UInt64(buf[p]) &* Self.p5
                h = ((h << 11) | (h >> 53)) &* Self.p1
                p += 1
            }
        }
        h ^= h >> 33
        h = h &* Self.p2
        h ^= h >> 29
        h = h &* Self.p3
        h ^= h >> 32
        return h
    }
}

/// A hex string of a 64-bit value, 16 digits.
public func hex64(_ value: UInt64) -> String {
    let s = String(value, radix: 16)
    return String(repeating: "0", count: 16 - s.count) + s
}

/// A small, fast, seeded random number generator (SplitMix64): generated corpora in
/// benchmarks and tests, the same sequence for the same seed everywhere.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
