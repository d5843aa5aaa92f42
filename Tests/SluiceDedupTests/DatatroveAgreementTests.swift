import SluiceCore
import Testing

@testable import SluiceDedup

/// Sluice's MinHash front end against values recorded from datatrove 0.10.1 itself
/// (`scripts/compare_minhash_datatrove.py fixtures`).
@Suite("MinHash text and signatures agree with datatrove")
struct DatatroveAgreementTests {
    @Test("numpy's RandomState(1) permutations are reproduced exactly")
    func permutationsMatchNumpy() {
        let (a, b) = MinHasher.permutations(count: 112, seed: 1)
        #expect(Array(a.prefix(3)) == [775_169_054_918_279_404, 1_758_426_461_858_698_313, 2_109_959_069_025_162])
        #expect(a[111] == 223_865_076_026_037_746)
        #expect(Array(b.prefix(3)) == [1_062_448_801_025_099_917, 1_324_811_268_927_594_100, 1_217_488_311_597_731_462])
        #expect(b[111] == 1_097_409_548_522_419_201)
    }

    @Test("shingles hash with xxHash64 seed 0 like python-xxhash")
    func xxhashMatchesPython() {
        #expect(XXH64.hash("hello world foo bar baz") == 5_587_187_255_992_174_781)
    }

    @Test("SHA-1 digests equal the standard's test vectors and Python's hashlib across block boundaries")
    func sha1Vectors() {
        func hex(_ b: [UInt8]) -> String { b.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined() }
        // FIPS 180 examples, then lengths around the 55/56/64-byte padding edges (from hashlib).
        let cases: [(String, String)] = [
            ("", "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
            ("abc", "a9993e364706816aba3e25717850c26c9cd0d89d"),
            ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "84983e441c3bd26ebaae4aa1f95129e5e54670f1"),
            (String(repeating: "a", count: 55), "c1c8bbdc22796e28c0e15163d20899b65621d65a"),
            (String(repeating: "b", count: 56), "049adea016c8a8e3b7a9054aeeaa8643453bebd9"),
            (String(repeating: "c", count: 63), "3f85dc2655c3426a4937d49028c01a066c535ce0"),
            (String(repeating: "d", count: 64), "7d4f9b6d084894fb8640dc55aab16ad0e021e4c8"),
            (String(repeating: "e", count: 65), "00c26b97f0dceca9387928bffdc36d303e31d536"),
            (String(repeating: "f", count: 119), "dcc6e6abc2d4d0806cfae6607c963377d7ae5604"),
            (String(repeating: "g", count: 120), "10954e2708ef30238b02b75653a72a0adeb3efcb"),
            (String(repeating: "hé 漢字 😀 words", count: 9), "98e330a2834c06d5126c2f926bb450fd86142c9e"),
            (String(repeating: "a", count: 1_000_000), "34aa973cd4c4daa4f61eeb2bdbad27316534016f"),
        ]
        for (text, expected) in cases {
            #expect(hex(SHA1.digest(text)) == expected, "length \(text.utf8.count)")
        }
    }

    @Test("sha1 shingles take the digest's first 8 bytes little-endian, like datatrove's sha1_hash64")
    func sha1Hash64MatchesPython() {
        #expect(SHA1.hash64("") == 957_977_401_221_134_810)
        #expect(SHA1.hash64("abc") == 7_674_422_142_938_552_745)
        #expect(SHA1.hash64("hello world foo bar baz") == 13_832_478_419_712_389_449)
    }

    @Test("signatures with hash: sha1 equal datatrove's with HashConfig(hash_fc='sha1', precision=64)")
    func sha1SignaturesMatch() {
        var h = MinHasher(parameters: MinHashParameters(hash: .sha1))
        var checked = 0
        for (i, c) in datatroveCases.enumerated() where !c.sha1Signature.isEmpty {
            let signed = h.sign(c.text)
            #expect(signed, "case \(i)")
            #expect(h.signature == c.sha1Signature, "case \(i): \(c.text.prefix(60))")
            #expect(h.signature != c.signature, "case \(i): the two hashes give different signatures")
            checked += 1
        }
        #expect(checked >= 20)
    }

    @Test("simplified text equals datatrove's simplify_text", arguments: datatroveCases.indices)
    func simplifiedTextMatches(_ i: Int) {
        let c = datatroveCases[i]
        var h = MinHasher(parameters: MinHashParameters())
        #expect(h.simplified(c.text) == c.simplified, "case \(i): \(c.text.prefix(60))")
    }

    @Test("words equal spaCy's English tokens of the simplified text", arguments: datatroveCases.indices)
    func wordsMatch(_ i: Int) {
        let c = datatroveCases[i]
        var h = MinHasher(parameters: MinHashParameters())
        let words = h.words(of: c.text)
        let expected = c.words == [""] ? [] : c.words
        #expect(words == expected, "case \(i): \(c.text.prefix(60))")
    }

    @Test("signatures equal datatrove's 14 x 8 signatures")
    func signaturesMatch() {
        var h = MinHasher(parameters: MinHashParameters())
        var checked = 0
        for (i, c) in datatroveCases.enumerated() where !c.signature.isEmpty {
            let signed = h.sign(c.text)
            #expect(signed, "case \(i)")
            #expect(h.signature == c.signature, "case \(i): \(c.text.prefix(60))")
            checked += 1
        }
        #expect(checked >= 20)
    }
}
