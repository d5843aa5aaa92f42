/// SHA-1 (FIPS 180-4) on bytes, for MinHash shingles hashed as datatrove's
/// `HashConfig(hash_fc="sha1", precision=64)` does (FineWeb's setting): the first 8 bytes of the
/// digest read as a little-endian integer (`struct.unpack("<Q", sha1(x).digest()[:8])`).
///
/// Not for security: SHA-1 is broken as a cryptographic hash. Here it is only a well-mixed,
/// reproducible 64-bit value that equals the peer's. No allocation per call; a shingle of up
/// to 55 bytes is one compression.
public enum SHA1 {
    /// The 20-byte digest of `data`.
    public static func digest(_ data: UnsafeRawBufferPointer) -> [UInt8] {
        let h = state(data)
        var out: [UInt8] = []
        out.reserveCapacity(20)
        for word in [h.0, h.1, h.2, h.3, h.4] {
            out += [UInt8(truncatingIfNeeded: word >> 24), UInt8(truncatingIfNeeded: word >> 16), UInt8(truncatingIfNeeded: word >> 8), UInt8(truncatingIfNeeded: word)]
        }
        return out
    }

    public static func digest(_ text: String) -> [UInt8] {
        var t = text
        return t.withUTF8 { digest(UnsafeRawBufferPointer($0)) }
    }

    /// The first 8 bytes of the digest as a little-endian `UInt64`, as datatrove's `sha1_hash64`.
    @inline(__always)
    public static func hash64(_ data: UnsafeRawBufferPointer) -> UInt64 {
        let h = state(data)
        // Digest bytes 0-3 are h0 big-endian, 4-7 are h1 big-endian; read little-endian.
        return UInt64(h.0.byteSwapped) | UInt64(h.1.byteSwapped) << 32
    }

    public static func hash64(_ text: String) -> UInt64 {
        var t = text
        return t.withUTF8 { hash64(UnsafeRawBufferPointer($0)) }
    }

    typealias State = (UInt32, UInt32, UInt32, UInt32, UInt32)

    @_optimize(speed)
    static func state(_ data: UnsafeRawBufferPointer) -> State {
        var h: State = (0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476, 0xC3D2_E1F0)
        let count = data.count
        // 16 words of message schedule, then 128 bytes for the padded tail.
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 16 + 32) { scratch in
            let w = scratch.baseAddress!
            let tail = UnsafeMutableRawPointer(w + 16)
            var offset = 0
            if let base = data.baseAddress {
                while count - offset >= 64 {
                    compress(&h, base + offset, w)
                    offset += 64
                }
            }
            let rest = count - offset
            tail.initializeMemory(as: UInt8.self, repeating: 0, count: 128)
            if rest > 0, let base = data.baseAddress {
                tail.copyMemory(from: base + offset, byteCount: rest)
            }
            tail.storeBytes(of: 0x80, toByteOffset: rest, as: UInt8.self)
            let blocks = rest + 1 + 8 <= 64 ? 1 : 2
            let bits = UInt64(count) &* 8
            tail.storeBytes(of: bits.bigEndian, toByteOffset: blocks * 64 - 8, as: UInt64.self)
            compress(&h, UnsafeRawPointer(tail), w)
            if blocks == 2 { compress(&h, UnsafeRawPointer(tail + 64), w) }
        }
        return h
    }

    @inline(__always) private static func rotl(_ x: UInt32, _ n: UInt32) -> UInt32 { (x << n) | (x >> (32 - n)) }

    /// One 64-byte block into the state; `w` is 16 words of scratch.
    @_optimize(speed) @inline(__always)
    private static func compress(_ h: inout State, _ block: UnsafeRawPointer, _ w: UnsafeMutablePointer<UInt32>) {
        for i in 0..<16 {
            w[i] = UInt32(bigEndian: block.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self))
        }
        var a = h.0, b = h.1, c = h.2, d = h.3, e = h.4
        var i = 0
        while i < 80 {
            let wi: UInt32
            if i < 16 {
                wi = w[i]
            } else {
                wi = rotl(w[(i - 3) & 15] ^ w[(i - 8) & 15] ^ w[(i - 14) & 15] ^ w[i & 15], 1)
                w[i & 15] = wi
            }
            let f: UInt32
            let k: UInt32
            if i < 20 {
                f = (b & c) | (~b & d)
                k = 0x5A82_7999
            } else if i < 40 {
                f = b ^ c ^ d
                k = 0x6ED9_EBA1
            } else if i < 60 {
                f = (b & c) | (b & d) | (c & d)
                k = 0x8F1B_BCDC
            } else {
                f = b ^ c ^ d
                k = 0xCA62_C1D6
            }
            let t = rotl(a, 5) &+ f &+ e &+ k &+ wi
            e = d
            d = c
            c = rotl(b, 30)
            b = a
            a = t
            i += 1
        }
        h.0 &+= a
        h.1 &+= b
        h.2 &+= c
        h.3 &+= d
        h.4 &+= e
    }
}
