// Hashing for the n-gram tables: words are hashed once to 64 bits, n-grams are keyed by a
// 64-bit hash of their word ids, built from the predicted word leftwards (as KenLM's probing
// model does), so the key of `w_{i-1} w_i` extends to the key of `w_{i-2} w_{i-1} w_i` with
// one more step and a lookup walks to longer n-grams one word at a time.
//
// Like KenLM, the tables keep only the 64-bit hashes, not the words: two different words (or
// n-grams) with the same 64-bit hash would be confused. With a good 64-bit hash the chance
// for a vocabulary of a million words is about 3e-8.

@usableFromInline
enum LMHash {
    @usableFromInline static let k0: UInt64 = 0xa076_1d64_78bd_642f
    @usableFromInline static let k1: UInt64 = 0xe703_7ed1_a0b4_28db
    @usableFromInline static let k2: UInt64 = 0x8ebc_6af0_9c88_c6e3
    @usableFromInline static let k3: UInt64 = 0x5899_65cc_7537_4cc3

    /// The 128-bit product of `a` and `b`, folded to 64 bits.
    @inlinable @inline(__always)
    static func mix(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let r = a.multipliedFullWidth(by: b)
        return r.high ^ r.low
    }

    @inlinable @inline(__always)
    static func read8(_ p: UnsafePointer<UInt8>) -> UInt64 {
        UInt64(littleEndian: UnsafeRawPointer(p).loadUnaligned(as: UInt64.self))
    }

    @inlinable @inline(__always)
    static func read4(_ p: UnsafePointer<UInt8>) -> UInt64 {
        UInt64(UInt32(littleEndian: UnsafeRawPointer(p).loadUnaligned(as: UInt32.self)))
    }

    /// A 64-bit hash of `count` bytes at `p` (wyhash-style: overlapping loads, no per-byte loop).
    /// Never 0, which marks an empty slot.
    @inlinable @inline(__always)
    static func bytes(_ p: UnsafePointer<UInt8>, _ count: Int) -> UInt64 {
        var seed = k0 ^ (UInt64(truncatingIfNeeded: count) &* k1)
        var a: UInt64 = 0
        var b: UInt64 = 0
        if count <= 16 {
            if count >= 4 {
                let step = (count >> 3) << 2
                a = (read4(p) << 32) | read4(p + step)
                b = (read4(p + count - 4) << 32) | read4(p + count - 4 - step)
            } else if count > 0 {
                a = (UInt64(p[0]) << 16) | (UInt64(p[count >> 1]) << 8) | UInt64(p[count - 1])
            }
        } else {
            var q = p
            var left = count
            while left > 16 {
                seed = mix(read8(q) ^ k1, read8(q + 8) ^ seed)
                q += 16
                left -= 16
            }
            a = read8(q + left - 16)
            b = read8(q + left - 8)
        }
        let h = mix(k1 ^ UInt64(truncatingIfNeeded: count), mix(a ^ k1, b ^ seed))
        return h == 0 ? 1 : h
    }

    /// The key of the unigram `word`, the start of every n-gram key ending in `word`.
    @inlinable @inline(__always)
    static func start(_ word: UInt32) -> UInt64 {
        mix(UInt64(word) ^ k2, k3)
    }

    /// The key of an n-gram extended one word to the left. Never 0.
    @inlinable @inline(__always)
    static func extend(_ key: UInt64, _ word: UInt32) -> UInt64 {
        let h = mix(key ^ k0, (UInt64(word) &+ 1) ^ k3)
        return h == 0 ? 1 : h
    }

    /// A slot in `0..<capacity` for a well-mixed key (multiply-high range reduction).
    @inlinable @inline(__always)
    static func slot(_ key: UInt64, _ capacity: Int) -> Int {
        Int(truncatingIfNeeded: key.multipliedFullWidth(by: UInt64(truncatingIfNeeded: capacity)).high)
    }
}
