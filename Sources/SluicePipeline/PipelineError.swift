/// A problem with a pipeline file or its overrides: one clear message that says where
/// (`FILE:LINE:COLUMN`), what is wrong, and how to fix it.
///
/// ```
/// quickstart.yaml:7:5: unknown key 'min_word' in stage 'length_filter'; allowed: id, max_words, min_words, type; did you mean 'min_words'?
/// ```
public struct PipelineError: Error, Sendable, CustomStringConvertible {
    /// What is wrong, without the location.
    public let message: String
    /// Where, when the problem has a place in the file (or in a `--set` override).
    public let location: YAMLLocation?

    public init(_ message: String, at location: YAMLLocation? = nil) {
        self.message = message
        self.location = location
    }

    /// `FILE:LINE:COLUMN: message`.
    public var description: String {
        guard let location else { return message }
        return "\(location): \(message)"
    }
}

/// The candidate closest to `word` by edit distance, when it is close enough to be a likely
/// typo (`min_word` → `min_words`, `stagse` → `stages`, `minWords` → `min_words`). Words that
/// differ only in case, `_` and `-` always match; short words need a closer match.
func closestMatch(to word: String, in candidates: some Sequence<String>) -> String? {
    let w = Array(word.lowercased())
    var best: (String, Int)?
    for c in candidates {
        let d = editDistance(w, Array(c.lowercased()))
        if d < (best?.1 ?? .max) { best = (c, d) }
    }
    if let same = candidates.first(where: { normalizedKey($0) == normalizedKey(word) }) { return same }
    guard let (candidate, distance) = best else { return nil }
    let limit = min(3, max(w.count, candidate.count) / 3)
    return distance <= limit ? candidate : nil
}

/// Optimal-string-alignment distance: insertions, deletions, substitutions and swaps of two
/// neighbouring characters each cost 1; `-` and `_` count as the same character.
func editDistance(_ a: [Character], _ b: [Character]) -> Int {
    func same(_ x: Character, _ y: Character) -> Bool {
        x == y || ((x == "-" || x == "_") && (y == "-" || y == "_"))
    }
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var d = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
    for i in 0...a.count { d[i][0] = i }
    for j in 0...b.count { d[0][j] = j }
    for i in 1...a.count {
        for j in 1...b.count {
            let cost = same(a[i - 1], b[j - 1]) ? 0 : 1
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1, j > 1, same(a[i - 1], b[j - 2]), same(a[i - 2], b[j - 1]) {
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
            }
        }
    }
    return d[a.count][b.count]
}

/// `; did you mean 'x'?` when a candidate is close to `word`, else nothing.
func didYouMean(_ word: String, _ candidates: some Sequence<String>) -> String {
    closestMatch(to: word, in: candidates).map { "; did you mean '\($0)'?" } ?? ""
}

/// A key without case, `_` and `-`: `maxShardBytes` and `max_shard_bytes` are the same.
func normalizedKey(_ key: String) -> String {
    String(key.lowercased().filter { $0 != "_" && $0 != "-" })
}
