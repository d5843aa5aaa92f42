import SluiceCore

/// Removes lines made only of symbols (rules such as `-----`, `* * *`, `|||`, `=====`), as
/// datatrove's `SymbolLinesFormatter`.
///
/// YAML type `remove_symbol_lines`. The text is split into Python `splitlines()` lines; a line
/// that is not blank and whose every character is a space or one of the symbols is removed
/// (lines of only whitespace stay). A run of consecutive removed lines is replaced by
/// `replacement` once (default `""`, nothing; `"\n"` keeps a paragraph break in their place).
/// The rest is joined with `\n`, so, as in datatrove, `\r\n` line ends become `\n` and a final
/// line break goes. `symbols` defaults to datatrove's punctuation set (ASCII punctuation, C0/C1
/// controls, and common CJK and typographic punctuation such as `。 ， 、 … — ► « »`); give a
/// string to use its characters instead. Documents left empty are kept.
///
/// Counters: `documents_changed`, `symbol_lines_removed`.
///
/// ```yaml
/// - type: remove_symbol_lines
///   replacement: "\n"
/// ```
public struct RemoveSymbolLines: Stage {
    public struct Configuration: Decodable, Sendable {
        public var symbols: String?
        public var replacement: String

        enum CodingKeys: String, CodingKey { case symbols, replacement }

        public init(symbols: String? = nil, replacement: String = "") {
            self.symbols = symbols
            self.replacement = replacement
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            symbols = try c.decodeIfPresent(String.self, forKey: .symbols)
            replacement = try c.decodeIfPresent(String.self, forKey: .replacement) ?? ""
        }
    }

    public static let type = "remove_symbol_lines"
    public static let summary = "Removes lines made only of symbols (datatrove's SymbolLinesFormatter)."
    public static let options: [StageOption] = [
        StageOption("symbols", "string", default: "null", help: "Characters that count as symbols; null: datatrove's punctuation set."),
        StageOption("replacement", "string", default: "\"\"", help: "Written once in place of each run of removed lines (\"\\n\" keeps a paragraph break)."),
    ]

    public let configuration: Configuration
    let symbolSet: Set<UInt32>?
    let replacementBytes: [UInt8]

    public init(configuration: Configuration) throws {
        if let s = configuration.symbols {
            guard !s.isEmpty else { throw StageConfigurationError("symbols must not be empty; use null for datatrove's punctuation set") }
            symbolSet = Set(s.unicodeScalars.map(\.value))
        } else {
            symbolSet = nil
        }
        replacementBytes = Array(configuration.replacement.utf8)
        self.configuration = configuration
    }

    public func process(_ batch: inout DocumentBatch, stats: inout StageStats) throws {
        var lines: [Int] = []
        var out: [UInt8] = []
        var changed = 0, removed = 0
        batch.retain { doc in
            let n = doc.text.withUTF8Bytes { apply($0, lines: &lines, out: &out) }
            if let n {
                doc.text = String(decoding: out, as: UTF8.self)
                changed += 1
                removed += n
            }
            return .keep
        }
        if changed > 0 {
            stats.counters["documents_changed", default: 0] += changed
            stats.counters["symbol_lines_removed", default: 0] += removed
        }
    }

    /// The text without its symbol lines, or nil when it has none.
    public func cleaned(_ text: String) -> String? {
        var lines: [Int] = [], out: [UInt8] = []
        return text.withUTF8Bytes { apply($0, lines: &lines, out: &out) } != nil ? String(decoding: out, as: UTF8.self) : nil
    }

    @inline(__always)
    private func isSymbol(_ s: UInt32) -> Bool {
        if let symbolSet { return symbolSet.contains(s) }
        return CharacterClasses.shared.has(s, .gopherPunct)
    }

    private func isSymbolLine(_ p: UnsafePointer<UInt8>, _ a: Int, _ b: Int) -> Bool {
        var anyNonSpace = false
        var i = a
        while i < b {
            let (s, len) = decodeScalar(p, i)
            if !isPythonSpace(s) { anyNonSpace = true }
            if s != 0x20 && !isSymbol(s) { return false }
            i += len
        }
        return anyNonSpace
    }

    /// Writes the result to `out` and returns the number of lines removed, or nil when none was.
    func apply(_ text: UnsafeBufferPointer<UInt8>, lines: inout [Int], out: inout [UInt8]) -> Int? {
        guard let p = text.baseAddress, text.count > 0 else { return nil }
        lines.removeAll(keepingCapacity: true)
        pythonSplitLines(p, text.count, into: &lines)
        var removed = 0
        for k in stride(from: 0, to: lines.count, by: 2) where isSymbolLine(p, lines[k], lines[k + 1]) {
            removed += 1
        }
        guard removed > 0 else { return nil }
        out.removeAll(keepingCapacity: true)
        var parts = 0
        var inRemoved = false
        for k in stride(from: 0, to: lines.count, by: 2) {
            let a = lines[k], b = lines[k + 1]
            if isSymbolLine(p, a, b) {
                if !inRemoved {
                    if !replacementBytes.isEmpty {
                        if parts > 0 { out.append(0x0A) }
                        out.append(contentsOf: replacementBytes)
                        parts += 1
                    }
                    inRemoved = true
                }
            } else {
                if parts > 0 { out.append(0x0A) }
                out.append(contentsOf: UnsafeBufferPointer(start: p + a, count: b - a))
                parts += 1
                inRemoved = false
            }
        }
        return removed
    }
}
