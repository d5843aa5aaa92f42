import Foundation

/// Reads the score out of an LLM judge's reply.
///
/// Judges are asked to end with a line such as `Educational score: 3`, and most do, but real
/// replies vary: `**Score:** 4/5`, `Educational Score: **4**`, `Final score - 2`, `The score
/// is 3 out of 5.`, `I would give it a score of 4`, a bare `3`, reasoning before and notes
/// after, a `<think>…</think>` block from a reasoning model. The parser, in order:
///
/// 1. drops `<think>…</think>` (and `<thinking>…</thinking>`) blocks, and everything before a
///    `</think>` whose opening tag the server already removed;
/// 2. looks for the rubric's own phrase (``statement``, such as `educational score`),
///    case-insensitively and at a word start, and takes the number that follows it after
///    separators (`:`, `=`, `-`, `*`, `_`, `#`, quotes, brackets, spaces) and filler words
///    (`is`, `of`, `a`, `be`, `would`, `final`, `total`, `overall`); the **last** such statement
///    wins, since judges reason first and conclude last;
/// 3. failing that, the generic phrases ``fallbackPhrases`` (`score`, `rating`, `grade`,
///    `total`), last one winning;
/// 4. failing that, a reply (or its last non-empty line) that is nothing but a number,
///    optionally `N/M` or `N out of M`, with markdown around it.
///
/// Numbers may be written as digits (`3`, `3.5`) or words (`three`). A fraction `N/M` or
/// `N out of M` is read as N. The score must lie in [``minimum``, ``maximum``] and, when
/// ``integer`` is set, be a whole number; otherwise the reply counts as unparseable with its
/// reason, so that nothing is silently clamped or rounded.
public struct ScoreParser: Sendable, Equatable {
    /// The phrase the rubric asks the judge to state the score with, lowercased.
    public var statement: String
    /// Other phrases tried when the rubric's own is missing.
    public var fallbackPhrases: [String]
    public var minimum: Double
    public var maximum: Double
    public var integer: Bool

    public init(statement: String, minimum: Double, maximum: Double, integer: Bool, fallbackPhrases: [String] = ["score", "rating", "grade", "total"]) {
        self.statement = statement.lowercased()
        self.minimum = minimum
        self.maximum = maximum
        self.integer = integer
        self.fallbackPhrases = fallbackPhrases.map { $0.lowercased() }
    }

    /// What a reply yielded.
    public enum Outcome: Sendable, Equatable {
        case score(Double)
        /// No score could be found, or the one found is not allowed; `reason` is one of
        /// `no_score`, `out_of_range`, `not_integer`, `empty_reply`.
        case unparseable(reason: String, found: Double?)

        public var score: Double? {
            if case .score(let s) = self { return s }
            return nil
        }
    }

    /// Parses one reply.
    public func parse(_ reply: String) -> Outcome {
        var bytes = Array(Self.withoutThinking(reply).utf8)
        for i in bytes.indices where bytes[i] >= 65 && bytes[i] <= 90 { bytes[i] += 32 }
        if bytes.allSatisfy({ $0 == 32 || ($0 >= 9 && $0 <= 13) }) { return .unparseable(reason: "empty_reply", found: nil) }
        var found: Double? = nil
        if !statement.isEmpty { found = Self.lastStatement(Array(statement.utf8), in: bytes) }
        if found == nil {
            var best: (position: Int, value: Double)? = nil
            for phrase in fallbackPhrases where !phrase.isEmpty {
                if let hit = Self.lastStatementWithPosition(Array(phrase.utf8), in: bytes), best == nil || hit.position > best!.position {
                    best = hit
                }
            }
            found = best?.value
        }
        if found == nil { found = Self.bareNumber(bytes) }
        guard let v = found else { return .unparseable(reason: "no_score", found: nil) }
        if v < minimum || v > maximum { return .unparseable(reason: "out_of_range", found: v) }
        if integer && v != v.rounded() { return .unparseable(reason: "not_integer", found: v) }
        return .score(v)
    }

    // MARK: - Pieces

    /// The reply without reasoning blocks.
    static func withoutThinking(_ s: String) -> String {
        var text = s
        for (open, close) in [("<think>", "</think>"), ("<thinking>", "</thinking>")] {
            while let o = text.range(of: open) {
                if let c = text.range(of: close, range: o.upperBound..<text.endIndex) {
                    text.removeSubrange(o.lowerBound..<c.upperBound)
                } else {
                    // Unfinished reasoning: nothing after it is an answer.
                    text.removeSubrange(o.lowerBound..<text.endIndex)
                }
            }
            if let c = text.range(of: close, options: .backwards) {
                text.removeSubrange(text.startIndex..<c.upperBound)
            }
        }
        return text
    }

    @inline(__always)
    static func isLetter(_ b: UInt8) -> Bool { (b >= 97 && b <= 122) || (b >= 65 && b <= 90) || b >= 0x80 }
    @inline(__always)
    static func isDigit(_ b: UInt8) -> Bool { b >= 48 && b <= 57 }

    static func lastStatement(_ phrase: [UInt8], in text: [UInt8]) -> Double? {
        lastStatementWithPosition(phrase, in: text)?.value
    }

    /// The number after the last occurrence of `phrase` (at a word start) that has one.
    static func lastStatementWithPosition(_ phrase: [UInt8], in text: [UInt8]) -> (position: Int, value: Double)? {
        guard phrase.count <= text.count else { return nil }
        var best: (Int, Double)? = nil
        var i = 0
        let last = text.count - phrase.count
        while i <= last {
            if text[i] == phrase[0] && (i == 0 || !isLetter(text[i - 1])) {
                var j = 1
                while j < phrase.count && text[i + j] == phrase[j] { j += 1 }
                if j == phrase.count {
                    let end = i + phrase.count
                    // "scores" or "scored" is another word; "score:" is the statement.
                    if end >= text.count || !isLetter(text[end]) || separatorLength(text, end) > 0 || phrase.last.map({ !isLetter($0) }) == true {
                        if let v = numberAfter(text, from: end) { best = (i, v) }
                    }
                }
            }
            i += 1
        }
        return best
    }

    static let fillerWords: [[UInt8]] = ["is", "of", "a", "an", "be", "would", "will", "final", "total", "overall", "it", "i", "give", "assign", "this", "text", "gets", "earns", "value", "points", "point"].map { Array($0.utf8) }
    static let numberWords: [([UInt8], Double)] = [
        ("zero", 0), ("one", 1), ("two", 2), ("three", 3), ("four", 4), ("five", 5), ("six", 6), ("seven", 7), ("eight", 8), ("nine", 9), ("ten", 10),
    ].map { (Array($0.0.utf8), $0.1) }

    /// Separators between a statement and its number: ASCII punctuation used for emphasis and
    /// assignment, spaces, and the dashes and quotes of typeset text.
    @inline(__always)
    static func separatorLength(_ t: [UInt8], _ i: Int) -> Int {
        let b = t[i]
        switch b {
        case 32, 9, 10, 13, 58, 61, 45, 42, 95, 35, 96, 34, 39, 40, 91, 60, 62, 124, 126: return 1  // space \t \n \r : = - * _ # ` " ' ( [ < > | ~
        case 0xE2:
            // U+2013 – U+2014 — U+2018-201D quotes, U+2192 →
            if i + 2 < t.count, t[i + 1] == 0x80, (t[i + 2] == 0x93 || t[i + 2] == 0x94 || (t[i + 2] >= 0x98 && t[i + 2] <= 0x9D)) { return 3 }
            if i + 2 < t.count, t[i + 1] == 0x86, t[i + 2] == 0x92 { return 3 }
            return 0
        case 0xEF:
            // U+FF1A fullwidth colon
            if i + 2 < t.count, t[i + 1] == 0xBC, t[i + 2] == 0x9A { return 3 }
            return 0
        default: return 0
        }
    }

    /// The number that starts `text[from...]` after separators and at most four filler words.
    static func numberAfter(_ text: [UInt8], from start: Int) -> Double? {
        var i = start
        var fillers = 0
        var skipped = 0
        while i < text.count && skipped < 80 {
            // "-1" is a negative number; "- 1" is a dash and then a number.
            if text[i] == 45 && i + 1 < text.count && isDigit(text[i + 1]) {
                return readNumber(text, at: i + 1).map { -$0.value }
            }
            let l = separatorLength(text, i)
            if l > 0 {
                i += l
                skipped += l
                continue
            }
            if isDigit(text[i]) { return readNumber(text, at: i)?.value }
            if isLetter(text[i]) {
                var e = i
                while e < text.count && isLetter(text[e]) { e += 1 }
                let word = Array(text[i..<e])
                if let n = numberWords.first(where: { $0.0 == word }) { return n.1 }
                if fillers < 4 && fillerWords.contains(word) {
                    fillers += 1
                    skipped += e - i
                    i = e
                    continue
                }
            }
            return nil
        }
        return nil
    }

    /// A decimal number at `i` (digits, optionally `.digits`), not part of a longer token such
    /// as `3rd` or `1.2.3`; with the index after it.
    static func readNumber(_ t: [UInt8], at start: Int) -> (value: Double, end: Int)? {
        var i = start
        while i < t.count && isDigit(t[i]) { i += 1 }
        if i + 1 < t.count && (t[i] == 46 || t[i] == 44) && isDigit(t[i + 1]) {
            // 3.5 (or 3,5): a decimal, unless it is a version-like 1.2.3.
            var k = i + 1
            while k < t.count && isDigit(t[k]) { k += 1 }
            if k < t.count && t[k] == t[i] && k + 1 < t.count && isDigit(t[k + 1]) { return nil }
            i = k
        }
        if i < t.count && isLetter(t[i]) { return nil }  // "3rd", "2nd", "5x"
        var s = String(decoding: t[start..<i], as: UTF8.self)
        s = s.replacingOccurrences(of: ",", with: ".")
        guard let v = Double(s), v.isFinite else { return nil }
        return (v, i)
    }

    /// A reply, or its last non-empty line, that is only a number (optionally `N/M`,
    /// `N out of M`, with markdown and a final period).
    static func bareNumber(_ text: [UInt8]) -> Double? {
        if let v = onlyNumber(text[...]) { return v }
        let lines = text.split(separator: 10, omittingEmptySubsequences: true)
        for line in lines.reversed() {
            if line.allSatisfy({ $0 == 32 || $0 == 9 || $0 == 13 }) { continue }
            return onlyNumber(line)
        }
        return nil
    }

    static func onlyNumber(_ slice: ArraySlice<UInt8>) -> Double? {
        let t = Array(slice)
        var i = 0
        func skipDecoration() {
            while i < t.count {
                let l = separatorLength(t, i)
                if l > 0 && t[i] != 45 { i += l } else { break }
            }
        }
        skipDecoration()
        guard i < t.count, isDigit(t[i]), let (v, end) = readNumber(t, at: i) else { return nil }
        i = end
        skipDecoration()
        // Optional "/M" or "out of M".
        if i < t.count && t[i] == 47 {
            i += 1
            skipDecoration()
            while i < t.count && (isDigit(t[i]) || t[i] == 46) { i += 1 }
        } else if t.count - i >= 6, Array(t[i..<(i + 6)]) == Array("out of".utf8) {
            i += 6
            skipDecoration()
            while i < t.count && (isDigit(t[i]) || t[i] == 46) { i += 1 }
        }
        skipDecoration()
        if i < t.count && t[i] == 46 { i += 1 }  // a final period
        skipDecoration()
        return i == t.count ? v : nil
    }
}
