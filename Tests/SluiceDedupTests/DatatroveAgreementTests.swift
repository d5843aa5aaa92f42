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
