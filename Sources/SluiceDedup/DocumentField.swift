import SluiceCore

/// A field of a document named in a configuration: `id`, `text`, `source`, `added`,
/// `created`, or a dotted metadata path (`url`, `metadata.url`, `quality.score`; the leading
/// `metadata.` is optional, as everywhere in Sluice).
struct DocumentField: Sendable, Hashable, CustomStringConvertible {
    enum Kind: Sendable, Hashable { case id, text, source, added, created, metadata([String]) }
    let kind: Kind
    let text: String

    init(parsing text: String, option: String) throws {
        self.text = text
        switch text {
        case "id": kind = .id
        case "text": kind = .text
        case "source": kind = .source
        case "added": kind = .added
        case "created": kind = .created
        default:
            var parts = text.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            if parts.count > 1 && parts[0] == "metadata" { parts.removeFirst() }
            guard !text.isEmpty, !parts.contains(where: \.isEmpty) else {
                throw StageConfigurationError(
                    "\(option): '\(text)' is not a field; use id, text, source, added, created or a metadata path such as url or quality.score")
            }
            kind = .metadata(parts)
        }
    }

    var description: String { text }

    /// The field's value, or nil when absent (or JSON null).
    func value(in doc: Document) -> JSONValue? {
        switch kind {
        case .id: return .string(doc.id)
        case .text: return .string(doc.text)
        case .source: return .string(doc.source)
        case .added: return doc.added.map { .string($0) }
        case .created: return doc.created.map { .string($0) }
        case .metadata(let parts):
            var current = doc.metadata
            for (i, key) in parts.enumerated() {
                guard let v = current[key] else { return nil }
                if i == parts.count - 1 { return v == .null ? nil : v }
                guard case .object(let next) = v else { return nil }
                current = next
            }
            return nil
        }
    }
}

/// Which copy of a duplicate set survives.
public enum KeepPolicy: String, Sendable, Decodable, CaseIterable {
    /// The first in input order (task, then position in the task).
    case first
    /// The one with the highest value of `priority_field` (ties: the first).
    case highest
    /// The one with the lowest value of `priority_field` (ties: the first).
    case lowest
}

/// How a keeper policy ranks documents: a preference where larger wins, from a field's value.
struct KeeperRanking: Sendable {
    let policy: KeepPolicy
    let field: DocumentField?

    init(policy: KeepPolicy, field: String?, stage: String) throws {
        self.policy = policy
        switch (policy, field) {
        case (.first, nil): self.field = nil
        case (.first, let f?):
            throw StageConfigurationError("priority_field '\(f)' is set but keep is 'first'; set keep: highest or keep: lowest, or remove priority_field")
        case (_, nil):
            throw StageConfigurationError("keep: \(policy.rawValue) needs priority_field, the field to compare (e.g. metadata.quality or created)")
        case (_, let f?): self.field = try DocumentField(parsing: f, option: "priority_field")
        }
    }

    var usesPriority: Bool { field != nil }

    /// The preference of a document: larger wins; a missing or unreadable value never wins.
    func preference(of doc: Document) -> Double {
        guard let field, let v = field.value(in: doc), let x = priorityNumber(v) else { return -.infinity }
        return policy == .lowest ? -x : x
    }
}

/// A number from a JSON value: numbers and booleans as they are; strings that hold a number,
/// or an ISO-8601 date or date-time (as seconds since 1970, UTC), so `created` dates compare.
func priorityNumber(_ v: JSONValue) -> Double? {
    switch v {
    case .number(let n):
        let d = n.doubleValue
        return d.isNaN ? nil : d
    case .bool(let b): return b ? 1 : 0
    case .string(let s):
        if let d = Double(s), d.isFinite { return d }
        return parseISO8601(s)
    default: return nil
    }
}

/// Seconds since 1970-01-01T00:00:00Z of `YYYY-MM-DD`, optionally followed by
/// `THH:MM[:SS[.fff]]` and `Z` or `±HH[:]MM`; nil for anything else.
func parseISO8601(_ s: String) -> Double? {
    let b = Array(s.utf8)
    var i = 0
    func digits(_ n: Int) -> Int? {
        guard i + n <= b.count else { return nil }
        var v = 0
        for k in 0..<n {
            let c = b[i + k]
            guard c >= 48 && c <= 57 else { return nil }
            v = v * 10 + Int(c - 48)
        }
        i += n
        return v
    }
    func expect(_ c: UInt8) -> Bool {
        guard i < b.count, b[i] == c else { return false }
        i += 1
        return true
    }
    guard let year = digits(4), expect(45), let month = digits(2), expect(45), let day = digits(2),
        (1...12).contains(month), (1...31).contains(day)
    else { return nil }
    var seconds = Double(daysFromCivil(year, month, day)) * 86400
    if i == b.count { return seconds }
    guard expect(84) || expect(32) || expect(116) else { return nil }
    guard let hh = digits(2), expect(58), let mm = digits(2) else { return nil }
    seconds += Double(hh * 3600 + mm * 60)
    if expect(58) {
        guard let ss = digits(2) else { return nil }
        seconds += Double(ss)
        if expect(46) || expect(44) {
            var scale = 0.1
            var any = false
            while i < b.count, b[i] >= 48 && b[i] <= 57 {
                seconds += Double(b[i] - 48) * scale
                scale /= 10
                i += 1
                any = true
            }
            guard any else { return nil }
        }
    }
    if i == b.count || expect(90) || expect(122) { return i == b.count ? seconds : nil }
    let sign: Double
    if expect(43) { sign = 1 } else if expect(45) { sign = -1 } else { return nil }
    guard let oh = digits(2) else { return nil }
    _ = expect(58)
    guard let om = digits(2), i == b.count else { return nil }
    return seconds - sign * Double(oh * 3600 + om * 60)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
private func daysFromCivil(_ y0: Int, _ m: Int, _ d: Int) -> Int {
    let y = m <= 2 ? y0 - 1 : y0
    let era = (y >= 0 ? y : y - 399) / 400
    let yoe = y - era * 400
    let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    return era * 146_097 + doe - 719_468
}
