import Yams

/// Where a YAML value came from: a file position, or a `--set` override.
///
/// `description` is `FILE:LINE:COLUMN` for a file position and the override itself
/// (`--set run.tasks=4`) for a value given on the command line.
public struct YAMLLocation: Sendable, Hashable, CustomStringConvertible {
    /// The pipeline file's path, or `--set KEY=VALUE` for an override.
    public var source: String
    /// The line, from 1; 0 when the value has no position in a file.
    public var line: Int
    /// The column in Unicode scalars, from 1; 0 when the value has no position in a file.
    public var column: Int

    public init(source: String, line: Int, column: Int) {
        self.source = source
        self.line = line
        self.column = column
    }

    /// A location with no line and column, such as a command-line override.
    public init(source: String) {
        self.init(source: source, line: 0, column: 0)
    }

    public var description: String {
        line > 0 ? "\(source):\(line):\(column)" : source
    }

    /// `LINE:COLUMN` (or the whole description when there is no line), for "first seen at" notes.
    public var shortDescription: String {
        line > 0 ? "\(line):\(column)" : source
    }

    /// Orders locations by position in the file; a location outside the file sorts last.
    func precedes(_ other: YAMLLocation) -> Bool {
        let a = line > 0 ? (line, column) : (Int.max, 0)
        let b = other.line > 0 ? (other.line, other.column) : (Int.max, 0)
        return a < b
    }
}

/// A YAML value with its location: the tree a pipeline file is read into.
///
/// Unlike `Yams.Node`, this tree is `Sendable`, can be edited (the loader applies `--set`
/// overrides and `${VAR}` expansion to it before validation), and resolves plain scalars by the
/// YAML 1.2 core schema: `true`/`false` are booleans, `yes`/`no`/`on`/`off` are strings.
/// ``YAMLNodeDecoder`` decodes any `Decodable` from it.
public enum YAMLNode: Sendable {
    case scalar(YAMLScalar)
    case mapping(YAMLMapping)
    case sequence(YAMLSequence)

    /// Where the value starts.
    public var location: YAMLLocation {
        switch self {
        case .scalar(let s): s.location
        case .mapping(let m): m.location
        case .sequence(let s): s.location
        }
    }

    public var scalar: YAMLScalar? {
        if case .scalar(let s) = self { return s }
        return nil
    }

    public var mapping: YAMLMapping? {
        if case .mapping(let m) = self { return m }
        return nil
    }

    public var sequence: YAMLSequence? {
        if case .sequence(let s) = self { return s }
        return nil
    }

    /// Whether this is a null scalar (`null`, `~`, or nothing at all).
    public var isNull: Bool {
        if case .scalar(let s) = self, case .null = s.value { return true }
        return false
    }

    /// The value of `key` when this is a mapping.
    public subscript(key: String) -> YAMLNode? {
        mapping?[key]
    }

    /// A null scalar at `location`.
    public static func null(at location: YAMLLocation) -> YAMLNode {
        .scalar(YAMLScalar("", style: .plain, location: location))
    }

    /// How the value reads in an error message: `string "ten"`, `integer 5`, `a list`, …
    public var errorDescription: String {
        switch self {
        case .scalar(let s): s.errorDescription
        case .mapping: "a mapping"
        case .sequence: "a list"
        }
    }

    /// The node at a coding path below this one, as far as the path leads.
    func descendant(along path: [any CodingKey]) -> YAMLNode {
        var node = self
        for key in path {
            switch node {
            case .mapping(let m):
                guard let child = m.entry(forCodingKey: key)?.value else { return node }
                node = child
            case .sequence(let s):
                guard let i = key.intValue, s.items.indices.contains(i) else { return node }
                node = s.items[i]
            case .scalar:
                return node
            }
        }
        return node
    }
}

/// A scalar: its text, how it was written, and its resolved value.
public struct YAMLScalar: Sendable {
    /// How the scalar was written. Only plain scalars are resolved to numbers, booleans or null;
    /// quoted and block scalars are always strings.
    public enum Style: Sendable, Hashable {
        case plain, singleQuoted, doubleQuoted, literal, folded
    }

    /// A scalar's value by the YAML 1.2 core schema.
    public enum Value: Sendable, Hashable {
        case null
        case bool(Bool)
        /// An integer that fits in `Int`, with its text.
        case int(Int)
        /// A floating-point number (or an integer too large for `Int`).
        case float(Double)
        case string(String)
    }

    /// The scalar's text as written (after `${VAR}` expansion).
    public var text: String {
        didSet { value = YAMLScalar.resolve(text, style: style, tag: tag) }
    }
    public let style: Style
    /// An explicit tag such as `tag:yaml.org,2002:str` (written `!!str`), or nil.
    public let tag: String?
    public var location: YAMLLocation
    /// The resolved value.
    public private(set) var value: Value

    public init(_ text: String, style: Style, tag: String? = nil, location: YAMLLocation) {
        self.text = text
        self.style = style
        self.tag = tag
        self.location = location
        self.value = YAMLScalar.resolve(text, style: style, tag: tag)
    }

    /// How the value reads in an error message.
    public var errorDescription: String {
        switch value {
        case .null: "null"
        case .bool(let b): "boolean \(b)"
        case .int: "integer \(text)"
        case .float: "number \(text)"
        case .string(let s): "string \(quoted(s))"
        }
    }

    /// Resolves a scalar by the YAML 1.2 core schema, honouring explicit `!!str`, `!!int`,
    /// `!!float`, `!!bool` and `!!null` tags.
    static func resolve(_ text: String, style: Style, tag: String?) -> Value {
        switch tag {
        case "tag:yaml.org,2002:str", "!": return .string(text)
        case "tag:yaml.org,2002:int":
            if let i = parseInt(text) { return .int(i) }
            return .string(text)
        case "tag:yaml.org,2002:float":
            if let i = parseInt(text) { return .float(Double(i)) }
            if let d = parseFloat(text) { return .float(d) }
            return .string(text)
        case "tag:yaml.org,2002:bool":
            return parseBool(text).map(Value.bool) ?? .string(text)
        case "tag:yaml.org,2002:null":
            return .null
        default:
            break
        }
        guard style == .plain else { return .string(text) }
        switch text {
        case "", "~", "null", "Null", "NULL": return .null
        default: break
        }
        if let b = parseBool(text) { return .bool(b) }
        if let i = parseInt(text) { return .int(i) }
        if let d = parseFloat(text) { return .float(d) }
        return .string(text)
    }

    private static func parseBool(_ text: String) -> Bool? {
        switch text {
        case "true", "True", "TRUE": true
        case "false", "False", "FALSE": false
        default: nil
        }
    }

    /// Decimal (with `_` between digits), `0x` hexadecimal and `0o` octal integers.
    static func parseInt(_ text: String) -> Int? {
        var body = Substring(text)
        var negative = false
        if let f = body.first, f == "+" || f == "-" {
            negative = f == "-"
            body = body.dropFirst()
        }
        var radix = 10
        if body.hasPrefix("0x") {
            radix = 16
            body = body.dropFirst(2)
        } else if body.hasPrefix("0o") {
            radix = 8
            body = body.dropFirst(2)
        }
        guard let first = body.first, let last = body.last, first != "_", last != "_" else { return nil }
        let digits = body.filter { $0 != "_" }
        guard let magnitude = UInt(digits, radix: radix) else { return nil }
        if negative {
            guard magnitude <= UInt(Int.max) + 1 else { return nil }
            return magnitude == UInt(Int.max) + 1 ? Int.min : -Int(magnitude)
        }
        guard magnitude <= UInt(Int.max) else { return nil }
        return Int(magnitude)
    }

    /// Decimal floats (`1.5`, `.5`, `1e3`, `-2.5E-3`, digits may be separated by `_`),
    /// `.inf`, `-.inf` and `.nan`.
    static func parseFloat(_ text: String) -> Double? {
        switch text {
        case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF": return .infinity
        case "-.inf", "-.Inf", "-.INF": return -.infinity
        case ".nan", ".NaN", ".NAN": return .nan
        default: break
        }
        guard isDecimalNumber(text) else { return nil }
        return Double(text.filter { $0 != "_" })
    }

    /// Whether `text` is `[-+]? (digits (. digits?)? | . digits) ([eE] [-+]? digits)?`, where
    /// digits may contain `_` between digits.
    private static func isDecimalNumber(_ text: String) -> Bool {
        var chars = Substring(text)
        if let f = chars.first, f == "+" || f == "-" { chars = chars.dropFirst() }
        func digits(_ s: inout Substring) -> Int {
            var n = 0
            while let c = s.first, c.isASCII, c.isNumber || (c == "_" && n > 0) {
                if c != "_" { n += 1 }
                s = s.dropFirst()
            }
            return n
        }
        var count = digits(&chars)
        if chars.first == "." {
            chars = chars.dropFirst()
            count += digits(&chars)
        }
        guard count > 0 else { return false }
        if let e = chars.first, e == "e" || e == "E" {
            chars = chars.dropFirst()
            if let s = chars.first, s == "+" || s == "-" { chars = chars.dropFirst() }
            guard digits(&chars) > 0 else { return false }
        }
        return chars.isEmpty
    }
}

/// A mapping: its entries in file order, each with the key's location.
public struct YAMLMapping: Sendable {
    public struct Entry: Sendable {
        public var key: String
        public var keyLocation: YAMLLocation
        public var value: YAMLNode

        public init(key: String, keyLocation: YAMLLocation, value: YAMLNode) {
            self.key = key
            self.keyLocation = keyLocation
            self.value = value
        }
    }

    public var entries: [Entry]
    public var location: YAMLLocation

    public init(entries: [Entry], location: YAMLLocation) {
        self.entries = entries
        self.location = location
    }

    public var keys: [String] { entries.map(\.key) }

    /// The value for `key`; assigning replaces the value of an existing key or appends a new
    /// key (at the mapping's location), and assigning nil removes the key.
    public subscript(key: String) -> YAMLNode? {
        get { entry(for: key)?.value }
        set {
            if let i = entries.firstIndex(where: { $0.key == key }) {
                if let newValue { entries[i].value = newValue } else { entries.remove(at: i) }
            } else if let newValue {
                entries.append(Entry(key: key, keyLocation: newValue.location, value: newValue))
            }
        }
    }

    public func entry(for key: String) -> Entry? {
        entries.first { $0.key == key }
    }

    /// The mapping without the given keys.
    public func removing(_ keys: Set<String>) -> YAMLMapping {
        YAMLMapping(entries: entries.filter { !keys.contains($0.key) }, location: location)
    }

    /// This mapping with `other`'s entries laid over it: a key of `other` replaces the same
    /// key here, new keys are appended. The result has `other`'s location.
    public func overlaid(with other: YAMLMapping) -> YAMLMapping {
        var result = self
        result.location = other.location
        for e in other.entries {
            if let i = result.entries.firstIndex(where: { $0.key == e.key }) {
                result.entries[i] = e
            } else {
                result.entries.append(e)
            }
        }
        return result
    }

    /// The entry a `CodingKey` names (its YAML spelling; see ``YAMLNodeDecoder``).
    func entry(forCodingKey key: any CodingKey) -> Entry? {
        if key.intValue != nil, key.stringValue.isEmpty { return nil }
        return entry(for: key.stringValue) ?? entry(for: yamlKeyName(key.stringValue))
    }
}

/// A sequence (list).
public struct YAMLSequence: Sendable {
    public var items: [YAMLNode]
    public var location: YAMLLocation

    public init(items: [YAMLNode], location: YAMLLocation) {
        self.items = items
        self.location = location
    }
}

// MARK: - Reading YAML text

extension YAMLNode {
    /// Parses one YAML document. Returns nil for an empty document.
    ///
    /// - Parameter source: the file name (or `--set …` text) that locations refer to.
    /// - Throws: ``PipelineError`` with the position of a syntax error.
    public static func parse(_ text: String, source: String) throws -> YAMLNode? {
        let root: Yams.Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw PipelineError(yamlError: error, source: source)
        }
        guard let root else { return nil }
        return try YAMLNode(root, source: source)
    }

    /// Converts a `Yams.Node`, merging `<<` keys (YAML merge keys) into their mappings.
    public init(_ node: Yams.Node, source: String) throws {
        func location(_ mark: Yams.Mark?) -> YAMLLocation {
            guard let mark else { return YAMLLocation(source: source) }
            return YAMLLocation(source: source, line: mark.line, column: mark.column)
        }
        switch node {
        case .scalar(let s):
            let style: YAMLScalar.Style =
                switch s.style {
                case .singleQuoted: .singleQuoted
                case .doubleQuoted: .doubleQuoted
                case .literal: .literal
                case .folded: .folded
                default: .plain
                }
            let tag = s.tag.rawValue
            self = .scalar(YAMLScalar(s.string, style: style, tag: tag.isEmpty ? nil : tag, location: location(s.mark)))
        case .sequence(let s):
            self = .sequence(YAMLSequence(items: try s.map { try YAMLNode($0, source: source) }, location: location(s.mark)))
        case .mapping(let m):
            var entries: [YAMLMapping.Entry] = []
            var merged: [YAMLMapping.Entry] = []
            for (k, v) in m {
                guard case .scalar(let keyScalar) = k else {
                    throw PipelineError(
                        "mapping keys must be plain text, not a list or a mapping", at: location(k.mark))
                }
                let value = try YAMLNode(v, source: source)
                if keyScalar.string == "<<", keyScalar.style == .plain {
                    // A merge key: `<<: *defaults` or `<<: [*a, *b]`; explicit keys win.
                    let sources = value.sequence?.items ?? [value]
                    for source in sources {
                        guard let sm = source.mapping else {
                            throw PipelineError(
                                "a merge key '<<' needs a mapping or a list of mappings, got \(source.errorDescription)",
                                at: source.location)
                        }
                        for e in sm.entries where !merged.contains(where: { $0.key == e.key }) {
                            merged.append(e)
                        }
                    }
                    continue
                }
                entries.append(YAMLMapping.Entry(key: keyScalar.string, keyLocation: location(keyScalar.mark), value: value))
            }
            for e in merged where !entries.contains(where: { $0.key == e.key }) {
                entries.append(e)
            }
            self = .mapping(YAMLMapping(entries: entries, location: location(m.mark)))
        case .alias(let a):
            throw PipelineError("unresolved YAML alias", at: location(a.mark))
        }
    }
}

extension PipelineError {
    /// A Yams parse error as a located message.
    init(yamlError error: YamlError, source: String) {
        func loc(_ mark: Yams.Mark) -> YAMLLocation {
            YAMLLocation(source: source, line: mark.line, column: mark.column)
        }
        switch error {
        case .scanner(let context, let problem, let mark, _),
            .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            var message = "invalid YAML: \(problem)"
            if let context {
                message += " (\(context.text) at \(context.mark.line):\(context.mark.column))"
            }
            self.init(message, at: loc(mark))
        case .duplicatedKeysInMapping(let duplicates, let context):
            let keys = duplicates.map { "'\($0)'" }.joined(separator: ", ")
            self.init(
                "duplicate key \(keys) in a mapping; each key may appear only once (remove or rename one)",
                at: loc(context.mark))
        case .reader(let problem, _, _, _):
            self.init("\(source): cannot read the YAML text: \(problem)")
        default:
            self.init("\(source): invalid YAML: \(error)")
        }
    }
}

/// `text` in double quotes with quotes, backslashes and control characters escaped.
func quoted(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\t": out += "\\t"
        case "\r": out += "\\r"
        default:
            if scalar.value < 0x20 {
                out += "\\u{\(String(scalar.value, radix: 16))}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
    }
    return out + "\""
}

/// The YAML spelling of a Swift coding key: `minWords` → `min_words`, `baseURL` → `base_url`;
/// a key already in snake case is unchanged.
public func yamlKeyName(_ key: String) -> String {
    guard key.contains(where: { $0.isUppercase }) else { return key }
    var words: [String] = []
    var current = ""
    let chars = Array(key)
    for (i, c) in chars.enumerated() {
        if c.isUppercase, !current.isEmpty {
            let prevLower = i > 0 && (chars[i - 1].isLowercase || chars[i - 1].isNumber)
            let nextLower = i + 1 < chars.count && chars[i + 1].isLowercase
            let prevUpper = i > 0 && chars[i - 1].isUppercase
            if prevLower || (prevUpper && nextLower) {
                words.append(current)
                current = ""
            }
        }
        current.append(c)
    }
    if !current.isEmpty { words.append(current) }
    return words.map { $0.lowercased() }.joined(separator: "_")
}
