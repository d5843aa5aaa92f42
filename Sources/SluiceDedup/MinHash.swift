import Glibc
import SluiceCore

/// How a shingle (its words joined by one space, as UTF-8) becomes the 64-bit number that the
/// permutations map: datatrove's `HashConfig.hash_fc` at `precision=64`.
public enum ShingleHash: String, Sendable, Decodable, CaseIterable {
    /// xxHash64 with seed 0 (`xxhash.xxh64_intdigest`): datatrove 0.10.1's default, and fast.
    case xxhash
    /// The first 8 bytes of SHA-1, little-endian (`sha1_hash64`): FineWeb's setting.
    case sha1

    /// The name recorded in work files and reports.
    public var recordName: String {
        switch self {
        case .xxhash: "xxhash64"
        case .sha1: "sha1-64"
        }
    }

    init?(recordName: String) {
        guard let h = Self.allCases.first(where: { $0.recordName == recordName }) else { return nil }
        self = h
    }
}

/// MinHash parameters: word n-grams, `bands` bands of `rows` rows, the seed of the
/// permutations and the shingle hash. Defaults equal datatrove's (`MinhashConfig()`: 5-grams,
/// 14 × 8, seed 1, xxHash64).
public struct MinHashParameters: Sendable, Equatable {
    public var ngram: Int
    public var bands: Int
    public var rows: Int
    public var seed: UInt32
    public var hash: ShingleHash

    public init(ngram: Int = 5, bands: Int = 14, rows: Int = 8, seed: UInt32 = 1, hash: ShingleHash = .xxhash) {
        self.ngram = ngram
        self.bands = bands
        self.rows = rows
        self.seed = seed
        self.hash = hash
    }

    public var hashes: Int { bands * rows }

    /// The similarity where the S-curve is steepest, about (1/b)^(1/r).
    public var threshold: Double { pow(1 / Double(bands), 1 / Double(rows)) }

    /// The probability that two documents with Jaccard similarity `s` share a band:
    /// 1 − (1 − s^r)^b.
    public func candidateProbability(similarity s: Double) -> Double {
        1 - pow(1 - pow(s, Double(rows)), Double(bands))
    }
}

/// Computes MinHash signatures the way datatrove does: each shingle is the xxHash64 (seed 0),
/// or with `hash: .sha1` the first 8 bytes of the SHA-1, of its words joined by one space; permutation `i` maps a shingle `s` to
/// `((s · a[i] + b[i]) mod 2^64) mod (2^61 − 1)`, with `a` and `b` drawn like
/// `numpy.random.RandomState(seed).randint(…, dtype=uint64)`; the signature is the minimum per
/// permutation, cut into bands.
///
/// Reusable scratch: one per thread.
public struct MinHasher {
    public let parameters: MinHashParameters
    /// The permutations' multipliers and offsets.
    public let a: [UInt64]
    public let b: [UInt64]
    private var text = DatatroveText()
    private var shingles: [UInt64] = []
    /// The last signature, `parameters.hashes` values.
    public private(set) var signature: [UInt64]

    static let mersennePrime: UInt64 = (1 << 61) - 1

    public init(parameters: MinHashParameters) {
        let (a, b) = Self.permutations(count: parameters.hashes, seed: parameters.seed)
        self.init(parameters: parameters, a: a, b: b)
    }

    /// With permutations computed once (``permutations(count:seed:)``).
    init(parameters: MinHashParameters, a: [UInt64], b: [UInt64]) {
        self.parameters = parameters
        self.a = a
        self.b = b
        signature = Array(repeating: 0, count: parameters.hashes)
    }

    /// numpy's `RandomState(seed)`, then `randint(1, 2^61−1, size=count)` and
    /// `randint(0, 2^61−1, size=count)`, both with `dtype=uint64`.
    public static func permutations(count: Int, seed: UInt32) -> (a: [UInt64], b: [UInt64]) {
        var mt = MersenneTwister(seed: seed)
        let p = mersennePrime
        let a = (0..<count).map { _ in mt.numpyBoundedUInt64(low: 1, highExclusive: p) }
        let b = (0..<count).map { _ in mt.numpyBoundedUInt64(low: 0, highExclusive: p) }
        return (a, b)
    }

    /// The words of `text` after datatrove's normalisation (for tests and tools).
    public mutating func words(of text: String) -> [String] {
        self.text.simplify(text)
        self.text.tokenize()
        return self.text.wordStrings
    }

    /// The simplified text (for tests and tools).
    public mutating func simplified(_ text: String) -> String {
        self.text.simplify(text)
        return String(decoding: self.text.simplified, as: UTF8.self)
    }

    /// Computes the signature of `text` into ``signature``. Returns false, leaving the signature
    /// undefined, when the text has fewer words than the n-gram size (datatrove writes no
    /// signature for such a document, so it never matches anything).
    public mutating func sign(_ text: UnsafeBufferPointer<UInt8>) -> Bool {
        self.text.simplify(text)
        self.text.tokenize()
        let n = parameters.ngram
        let count = self.text.wordCount
        guard count >= n else { return false }
        shingles.removeAll(keepingCapacity: true)
        let sha1 = parameters.hash == .sha1
        self.text.words.withUnsafeBytes { w in
            for i in 0...(count - n) {
                let start = self.text.wordStarts[i]
                let end = self.text.wordEnds[i + n - 1]
                let bytes = UnsafeRawBufferPointer(rebasing: w[start..<end])
                shingles.append(sha1 ? SHA1.hash64(bytes) : XXH64.hash(bytes))
            }
        }
        computeSignature()
        return true
    }

    public mutating func sign(_ text: String) -> Bool {
        text.withUTF8Bytes { sign($0) }
    }

    /// The hot loop. Permutation-major: a[j] and b[j] stay in registers, the shingles in L1.
    /// Written without closures, generic `min` or iterators and optimised even in debug builds,
    /// so tests and debug runs are not twenty times slower than release ones.
    @_optimize(speed)
    private mutating func computeSignature() {
        let h = parameters.hashes
        let p = Self.mersennePrime
        let sh = shingles
        let n = sh.count
        let a = self.a
        let b = self.b
        var sig: [UInt64] = []
        swap(&sig, &signature)
        var j = 0
        while j + 1 < h {
            let a0 = a[j], b0 = b[j], a1 = a[j + 1], b1 = b[j + 1]
            var m0 = UInt64.max
            var m1 = UInt64.max
            var i = 0
            while i < n {
                let s = sh[i]
                let x0 = s &* a0 &+ b0
                let x1 = s &* a1 &+ b1
                // x mod (2^61 − 1) without a division.
                var r0 = (x0 & p) &+ (x0 &>> 61)
                var r1 = (x1 & p) &+ (x1 &>> 61)
                if r0 >= p { r0 = r0 &- p }
                if r1 >= p { r1 = r1 &- p }
                if r0 < m0 { m0 = r0 }
                if r1 < m1 { m1 = r1 }
                i &+= 1
            }
            sig[j] = m0
            sig[j + 1] = m1
            j += 2
        }
        while j < h {
            var m = UInt64.max
            var i = 0
            while i < n {
                let r = Self.permute(sh[i], a[j], b[j])
                if r < m { m = r }
                i &+= 1
            }
            sig[j] = m
            j += 1
        }
        swap(&sig, &signature)
    }

    /// `((s · a + b) mod 2^64) mod (2^61 − 1)`, the modulo without a division.
    @_optimize(speed) @inline(__always) static func permute(_ s: UInt64, _ a: UInt64, _ b: UInt64) -> UInt64 {
        let x = s &* a &+ b
        let r = (x & mersennePrime) &+ (x >> 61)
        return r >= mersennePrime ? r &- mersennePrime : r
    }

    /// The 64-bit digest of band `band` of the last signature: two documents share the band
    /// exactly when their digests are equal (up to 64-bit collisions).
    public func bandDigest(_ band: Int) -> UInt64 {
        let r = parameters.rows
        return signature.withUnsafeBytes { raw in
            XXH64.hash(UnsafeRawBufferPointer(rebasing: raw[(band * r * 8)..<((band + 1) * r * 8)]), seed: UInt64(band))
        }
    }
}

/// MT19937 as numpy's legacy `RandomState` seeds and draws it.
struct MersenneTwister {
    private var state = [UInt32](repeating: 0, count: 624)
    private var index = 624

    init(seed: UInt32) {
        state[0] = seed
        for i in 1..<624 {
            state[i] = 1_812_433_253 &* (state[i - 1] ^ (state[i - 1] >> 30)) &+ UInt32(i)
        }
    }

    mutating func next32() -> UInt32 {
        if index >= 624 { twist() }
        var y = state[index]
        index += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C_5680
        y ^= (y << 15) & 0xEFC6_0000
        y ^= y >> 18
        return y
    }

    private mutating func twist() {
        for i in 0..<624 {
            let y = (state[i] & 0x8000_0000) | (state[(i + 1) % 624] & 0x7FFF_FFFF)
            var v = state[(i + 397) % 624] ^ (y >> 1)
            if y & 1 != 0 { v ^= 0x9908_B0DF }
            state[i] = v
        }
        index = 0
    }

    /// numpy's 64-bit draw: the first 32-bit draw is the high half.
    mutating func next64() -> UInt64 {
        let hi = UInt64(next32())
        return hi << 32 | UInt64(next32())
    }

    /// numpy's `randint(low, high, dtype=uint64)` for a range wider than 32 bits: masked
    /// rejection sampling on 64-bit draws.
    mutating func numpyBoundedUInt64(low: UInt64, highExclusive: UInt64) -> UInt64 {
        let range = highExclusive - 1 - low
        precondition(range > 0xFFFF_FFFF, "only ranges wider than 32 bits are implemented")
        var mask = range
        mask |= mask >> 1
        mask |= mask >> 2
        mask |= mask >> 4
        mask |= mask >> 8
        mask |= mask >> 16
        mask |= mask >> 32
        while true {
            let v = next64() & mask
            if v <= range { return low + v }
        }
    }
}
