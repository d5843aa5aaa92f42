import Foundation
import Testing

@testable import SluiceFastText

@Suite("fastText text helpers")
struct TextTests {
    func dclm(_ s: String) -> String {
        var out: [UInt8] = []
        var t = s
        t.withUTF8 { prepareDCLM($0, into: &out) }
        return String(decoding: out, as: UTF8.self)
    }

    @Test("DCLM preparation strips Python whitespace and turns Python line breaks into spaces")
    func dclmPreparation() {
        #expect(dclm("  hello\nworld  ") == "hello world")
        #expect(dclm("\u{3000}\u{A0}text\u{2028}more\u{85}end\u{1F}") == "text   more  end")
        #expect(dclm("a\r\nb") == "a  b")
        #expect(dclm("a\u{1C}b\u{1D}c\u{1E}d") == "a b c d")
        // Not line breaks: kept as they are inside the text.
        #expect(dclm("a\u{1F}b\u{A0}c") == "a\u{1F}b\u{A0}c")
        #expect(dclm("") == "")
        #expect(dclm(" \n\t ") == "")
        #expect(dclm("日本語のテキスト\n次の行") == "日本語のテキスト 次の行")
    }

    @Test("DCLM-prepared text predicts like the joined lines")
    func dclmPrediction() throws {
        let model = try FastTextModel(contentsOf: fixture("softmax.bin"))
        var scratch = FastTextScratch()
        var text = "  Das ist ein Test.\u{2028}Noch eine Zeile\n"
        let n = text.withUTF8 { model.predict(document: $0, preparation: .dclm, k: -1, scratch: &scratch) }
        let prepared = Array(scratch.predictions.prefix(n))
        let joined = model.predict("Das ist ein Test. Noch eine Zeile", k: -1)
        #expect(prepared.map { model.labels[Int($0.label)] } == joined.map(\.label))
        #expect(prepared.map(\.probability) == joined.map(\.probability))
    }

    @Test("numbers are formatted exactly as C's %g", arguments: [5, 6])
    func generalFormat(precision: Int) {
        var rng = SystemRandomNumberGenerator()
        var values: [Double] = [0, -0.0, 1, 1.00001, 0.5, 1e-5, 1.5e-5, 123456, 1234567, 99999.5, 999999.5, 0.000123456, 9.99995e-5,
                                0.0001, 0.00009999996, 1e10, -3.25, 1.03125, 2.5e-12, Double(Float(0.894548)), Double.infinity]
        for _ in 0..<20000 {
            let exp = Float.random(in: -12...8, using: &rng)
            let sign: Float = Bool.random(using: &rng) ? -1 : 1
            values.append(Double(sign * powf(10, exp) * Float.random(in: 1..<10, using: &rng)))
        }
        for v in values {
            var out: [UInt8] = []
            appendGeneral(v, precision: precision, to: &out)
            #expect(String(decoding: out, as: UTF8.self) == formatC(v, "%.\(precision)g"), "\(v)")
        }
    }

    @Test("separators are fastText's: space, newline, CR, tab, VT, FF and NUL")
    func separators() {
        let seps: Set<UInt8> = [32, 10, 13, 9, 11, 12, 0]
        for b in 0...255 {
            #expect(isFastTextSeparator(UInt8(b)) == seps.contains(UInt8(b)), "byte \(b)")
        }
    }

    @Test("the heap keeps libstdc++'s order for equal scores")
    func heapTies() {
        // With k = 1 and equal scores the later label wins in libstdc++'s heap.
        var heap = [ScoredLabel](repeating: ScoredLabel(score: 0, label: 0), count: 4)
        var n = 0
        heap.withUnsafeMutableBufferPointer { h in
            for label in 0..<3 {
                h[n] = ScoredLabel(score: -1, label: Int32(label))
                n += 1
                StdHeap.push(h.baseAddress!, count: n)
                if n > 1 {
                    StdHeap.pop(h.baseAddress!, count: n)
                    n -= 1
                }
            }
        }
        #expect(n == 1)
        #expect(heap[0].label == 2)
    }
}
