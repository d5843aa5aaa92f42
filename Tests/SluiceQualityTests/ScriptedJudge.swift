import Foundation
import SluiceCore
import SluiceFastText
import SluiceIO
import SluiceQuality
import SluiceTestSupport

/// The scripted judge of scripts/quality_judge_server.py, in Swift: one point each for at
/// least 40 words, at least 80% alphabetic words, at least 15% English function words, at least
/// three sentence ends, and no markup runs (three or more of `-=*_#|<>~^\`).
enum ScriptedJudge {
    static let functionWords: Set<String> = [
        "the", "of", "and", "to", "a", "in", "that", "is", "it", "for", "was", "on", "with", "as", "be", "his", "he", "they",
        "at", "by", "this", "from", "or", "but", "not", "are", "have", "which", "unto", "shall", "you", "i", "all", "an", "if",
    ]
    static let punctuation = Set(".,;:!?'\"()[]{}")
    static let markup = Set("-=*_#|<>~^\\")

    static func score(_ text: String) -> Int {
        let words = text.split(whereSeparator: { $0.isWhitespace })
        let n = words.count
        var s = 0
        if n >= 40 { s += 1 }
        let trimmed = words.map { w -> Substring in
            var x = w[...]
            while let f = x.first, punctuation.contains(f) { x = x.dropFirst() }
            while let l = x.last, punctuation.contains(l) { x = x.dropLast() }
            return x
        }
        if n > 0 && Double(trimmed.filter { !$0.isEmpty && $0.allSatisfy(\.isLetter) }.count) >= 0.8 * Double(n) { s += 1 }
        if n > 0 && Double(trimmed.filter { functionWords.contains($0.lowercased()) }.count) >= 0.15 * Double(n) { s += 1 }
        let chars = Array(text)
        var ends = 0
        for (i, c) in chars.enumerated() where c == "." || c == "!" || c == "?" {
            if i + 1 == chars.count || chars[i + 1] == " " || chars[i + 1] == "\n" { ends += 1 }
        }
        if ends >= 3 { s += 1 }
        let hasMarkup = words.contains { w in
            var run = 0
            for c in w {
                run = markup.contains(c) ? run + 1 : 0
                if run >= 3 { return true }
            }
            return false
        }
        if !hasMarkup { s += 1 }
        return s
    }

    /// The document between the first two lines that are exactly `"""`.
    static func document(ofPrompt prompt: String) -> String {
        let lines = prompt.split(separator: "\n", omittingEmptySubsequences: false)
        guard let a = lines.firstIndex(of: "\"\"\""), let b = lines[(a + 1)...].firstIndex(of: "\"\"\"") else { return prompt }
        return lines[(a + 1)..<b].joined(separator: "\n")
    }

    /// Replies in several shapes, chosen by a hash of the document; 1 in 40 has no score.
    static let reply: @Sendable (String) -> String = { prompt in
        let doc = document(ofPrompt: prompt)
        let s = score(doc)
        switch XXH64.hash(doc) % 40 {
        case 0: return "I am not able to rate this document."
        case 1..<28: return "The text has \(doc.split(separator: " ").count) words.\nEducational score: \(s)"
        case 28..<32: return "Reasoning: scripted.\n\n**Score:** \(s)/5"
        case 32..<36: return "Educational Score: **\(s)**\n\nNote: this judge is a script."
        default: return "\(s)"
        }
    }

    /// A real HTTP server on loopback answering as the scripted judge.
    static func start() throws -> OpenAITestServer {
        var b = OpenAITestServer.Behaviour()
        b.reply = reply
        b.model = "scripted-judge"
        let server = OpenAITestServer(b)
        try server.start()
        return server
    }
}

/// Trains a small two-label fastText classifier on the fly: `hq` for river-prose words, `lq`
/// for symbol-heavy noise, deterministic (one thread).
func trainTinyClassifier(in dir: TemporaryDirectory, name: String = "tiny", labels: (String, String) = ("hq", "lq")) throws -> String {
    var text = ""
    var rng = SplitMix64(seed: 7)
    let good = ["the", "river", "carries", "water", "toward", "a", "wide", "delta", "where", "farmers", "plant", "rice", "and", "engineers", "build", "locks"]
    let bad = ["$$$", "click", "here", "!!!", "buy", "now", "<<>>", "free", "###", "win", "lol", "xxx", "@@", "deal", "***", "zzz"]
    for i in 0..<400 {
        let words = i % 2 == 0 ? good : bad
        let label = i % 2 == 0 ? labels.0 : labels.1
        var line = "__label__\(label)"
        for _ in 0..<12 { line += " " + words[Int(rng.next() % UInt64(words.count))] }
        text += line + "\n"
    }
    let input = dir.file("\(name).train.txt")
    try writeFile(input, text)
    var o = FastTextTrainingOptions(input: input)
    o.dim = 8
    o.epoch = 10
    o.thread = 1
    o.wordNgrams = 1
    o.verbose = 0
    let model = try FastTextModel.train(o)
    let path = dir.file("\(name).bin")
    try model.write(to: path)
    return path
}

/// A tiny bigram ARPA model over a handful of words (valid ARPA, back-off weights included).
func writeTinyARPA(in dir: TemporaryDirectory) throws -> String {
    let arpa = """

        \\data\\
        ngram 1=7
        ngram 2=6

        \\1-grams:
        -1.0\t<unk>\t0
        -99\t<s>\t-0.30103
        -0.69897\t</s>\t0
        -0.60206\tthe\t-0.30103
        -0.77815\triver\t-0.30103
        -0.77815\tflows\t-0.30103
        -1.0\tsea\t-0.30103

        \\2-grams:
        -0.30103\t<s> the
        -0.30103\tthe river
        -0.30103\triver flows
        -0.47712\tflows </s>
        -0.47712\tthe sea
        -0.30103\tsea </s>

        \\end\\

        """
    let path = dir.file("tiny.arpa")
    try writeFile(path, arpa)
    return path
}
