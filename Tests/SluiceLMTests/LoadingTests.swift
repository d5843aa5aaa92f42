import Foundation
import SluiceTestSupport
import Testing

@testable import SluiceLM

@Suite("ARPA loading")
struct LoadingTests {
    static let good = """
        \\data\\
        ngram 1=5
        ngram 2=3

        \\1-grams:
        -1.0\t<unk>\t0
        -99\t<s>\t-0.3
        -0.7\t</s>
        -0.5\tthe\t-0.2
        -0.9\tdog\t-0.1

        \\2-grams:
        -0.2\t<s> the
        -0.3\tthe dog
        -0.4\tdog </s>

        \\end\\

        """

    func load(_ text: String, name: String = "test.arpa") throws -> NGramModel {
        try NGramModel(arpa: Array(text.utf8), name: name)
    }

    /// The error for `text`, which must fail to load.
    func failure(_ text: String) -> ARPAFormatError? {
        do {
            _ = try load(text)
            return nil
        } catch let e as ARPAFormatError {
            return e
        } catch {
            return nil
        }
    }

    @Test("a well-formed model loads with its order, counts and vocabulary")
    func good() throws {
        let m = try load(Self.good)
        #expect(m.order == 2)
        #expect(m.counts == [5, 3])
        #expect(m.vocabularySize == 5)
        #expect(m.warnings.isEmpty)
        #expect(m.contains("dog") && !m.contains("cat"))
        // <s> the | the dog | dog </s>
        #expect(abs(m.sentenceLog10Probability("the dog") - (-0.2 - 0.3 - 0.4)) < 1e-6)
        // cat is <unk>: <s> backs off (-0.3) to P(<unk>) = -1.0; then </s> after <unk> (no back-off).
        #expect(abs(m.sentenceLog10Probability("cat") - (-1.3 - 0.7)) < 1e-6)
    }

    @Test("a model file on disk loads; comments, CRLF line ends and blank lines are accepted")
    func fromDisk() throws {
        let dir = TemporaryDirectory()
        let text = "# made by hand\r\n\r\n" + Self.good.replacingOccurrences(of: "\n", with: "\r\n")
        try writeFile(dir.file("m.arpa"), text)
        let m = try NGramModel(contentsOf: dir.file("m.arpa"))
        #expect(m.counts == [5, 3])
        #expect(abs(m.sentenceLog10Probability("the dog") + 0.9) < 1e-6)
    }

    @Test("a truncated file is an error naming the file, the line and how many n-grams were read")
    func truncated() throws {
        let text = Self.good.components(separatedBy: "\n").prefix(13).joined(separator: "\n")
        let e = try #require(failure(text))
        #expect(e.file == "test.arpa")
        #expect(e.message.contains("ends after 1 of the 3 2-grams"))
        #expect(e.description.hasPrefix("test.arpa:"))
        let noEnd = try #require(failure(Self.good.replacingOccurrences(of: "\\end\\", with: "")))
        #expect(noEnd.message.contains("without \\end\\"))
    }

    @Test("counts that disagree with the sections are errors at the line where they part")
    func wrongCounts() throws {
        let tooFew = try #require(failure(Self.good.replacingOccurrences(of: "ngram 2=3", with: "ngram 2=4")))
        #expect(tooFew.message.contains("ends after 3 n-grams but \\data\\ announces 4"))
        #expect(tooFew.line == 17)
        let tooMany = try #require(failure(Self.good.replacingOccurrences(of: "ngram 1=5", with: "ngram 1=4")))
        #expect(tooMany.message.contains("holds more n-grams than the 4"))
        #expect(tooMany.line == 10)
        let lastTooMany = try #require(failure(Self.good.replacingOccurrences(of: "ngram 2=3", with: "ngram 2=2")))
        #expect(lastTooMany.message.contains("expected \\end\\"))
        let gap = try #require(failure(Self.good.replacingOccurrences(of: "ngram 2=3", with: "ngram 3=3")))
        #expect(gap.message.contains("orders 1, 2, 3"))
        #expect(gap.line == 3)
    }

    @Test("malformed content is an error that says what is wrong", arguments: [
        ("-0.5\tthe\t-0.2", "0.5\tthe\t-0.2", "positive log10 probability"),
        ("-0.5\tthe\t-0.2", "abc\tthe\t-0.2", "expected a log10 probability"),
        ("-0.5\tthe\t-0.2", "-0.5\tthe\tnan", "finite log10 back-off"),
        ("-0.3\tthe dog", "-0.3\tthe cat", "\"cat\" is not among the 1-grams"),
        ("-0.3\tthe dog", "-0.3\tthe dog\t-0.5", "highest order (2) has no back-off"),
        ("-0.3\tthe dog", "-0.3\tthe", "found 2 fields"),
        ("-0.3\tthe dog", "-0.2\t<s> the", "appears twice"),
        ("-0.9\tdog\t-0.1", "-0.9\tthe\t-0.1", "appears twice among the 1-grams"),
        ("-99\t<s>\t-0.3", "-99\t<S>\t-0.3", "lack <s>"),
        ("-0.7\t</s>", "-0.7\t<\\s>", "lack </s>"),
        ("\\data\\", "\\dada\\", "expected \\data\\"),
        ("ngram 1=5", "ngram 1=999999999", "more than the 268 million"),
        ("ngram 1=5", "ngram 1=five", "expected a count line"),
    ])
    func malformed(_ original: String, _ replacement: String, _ message: String) throws {
        let text = Self.good.replacingOccurrences(of: original, with: replacement)
        #expect(text != Self.good)
        let e = try #require(failure(text))
        #expect(e.message.contains(message), "\(e)")
    }

    @Test("an n-gram whose context is missing is an error (KenLM requires every context)")
    func missingContext() throws {
        let text = Self.good.replacingOccurrences(of: "ngram 2=3", with: "ngram 2=3\nngram 3=1")
            .replacingOccurrences(of: "\\end\\", with: "\\3-grams:\n-0.1\tdog the dog\n\n\\end\\")
        let e = try #require(failure(text))
        #expect(e.message.contains("context"))
        #expect(e.line == 19)
    }

    @Test("compressed, binary and non-ARPA files are refused with advice")
    func wrongKinds() throws {
        let gz = try #require(failureBytes([0x1F, 0x8B, 8, 0, 0, 0]))
        #expect(gz.message.contains("gzip-compressed") && gz.message.contains("sluice lm score"))
        let zst = try #require(failureBytes([0x28, 0xB5, 0x2F, 0xFD, 0, 0]))
        #expect(zst.message.contains("zstd-compressed"))
        let bin = try #require(failure("mmap lm http://kheafield.com/code format version 5\n"))
        #expect(bin.message.contains("KenLM binary"))
        let empty = try #require(failure(""))
        #expect(empty.message.contains("no \\data\\"))
        do {
            _ = try NGramModel(contentsOf: "/nonexistent/model.arpa")
            Issue.record("a missing file loaded")
        } catch let e as ARPAFormatError {
            #expect(e.description.contains("/nonexistent/model.arpa") && e.description.contains("cannot open"))
        }
    }

    func failureBytes(_ bytes: [UInt8]) -> ARPAFormatError? {
        do {
            _ = try NGramModel(arpa: bytes, name: "x")
            return nil
        } catch {
            return error as? ARPAFormatError
        }
    }

    @Test("<UNK> is accepted for <unk>; a model without it gets -100 and a warning")
    func unknownSpelling() throws {
        let upper = try load(Self.good.replacingOccurrences(of: "<unk>", with: "<UNK>"))
        #expect(upper.warnings.isEmpty)
        #expect(abs(upper.sentenceLog10Probability("cat") - (-2.0)) < 1e-6)
        let without = try load(
            Self.good.replacingOccurrences(of: "ngram 1=5", with: "ngram 1=4").replacingOccurrences(of: "-1.0\t<unk>\t0\n", with: ""))
        #expect(without.warnings.count == 1)
        #expect(abs(without.sentenceLog10Probability("cat") - (-100.3 - 0.7)) < 1e-4)
    }

    @Test("models of order 1 and 5 (the fixture's 4) load and score")
    func orders() throws {
        let uni = try load("\\data\\\nngram 1=3\n\n\\1-grams:\n-1\t<s>\n-0.5\t</s>\n-0.25\tx\n\\end\\\n")
        #expect(uni.order == 1)
        #expect(abs(uni.sentenceLog10Probability("x x y") - (-0.25 * 2 - 100 - 0.5)) < 1e-4)
        #expect(LMFixtures.prose4.order == 4)
        #expect(LMFixtures.prose4.counts.count == 4)
    }
}
