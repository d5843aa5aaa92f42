import SluiceCore

/// Decodes any `Decodable` (a stage's `Configuration`, a part of the pipeline file) from a
/// ``YAMLNode``, strictly.
///
/// - **Unknown keys are errors.** The decoder records every key the `Decodable` asks for
///   (`decode`, `decodeIfPresent`, `contains`); after decoding, a key present in a mapping that
///   was never asked for is reported with its location, the allowed keys, and the closest
///   allowed key (`did you mean 'min_words'?`). When a required key is missing and a present
///   unknown key is a likely typo of it, the typo is what gets reported.
/// - **Key spelling.** A coding key is looked up by its YAML spelling: `min_words` as is, and a
///   Swift-style `minWords` as `min_words` (see ``yamlKeyName(_:)``), so a `Configuration` may
///   use synthesized `CodingKeys` or explicit snake-case ones.
/// - **Scalars** follow the YAML 1.2 core schema: `true`/`false` are booleans, integers and
///   floats are numbers, `null`/`~`/nothing is null, quoted scalars are always strings. Any
///   non-null scalar decodes as a `String`; an integral float (`1e6`) decodes as an integer.
/// - **Errors carry locations.** Type mismatches read
///   `FILE:LINE:COLUMN: 'min_words' must be an integer, got string "ten"`; a
///   `StageConfigurationError` or `DecodingError` thrown by a type's own `init(from:)` gets the
///   location of the value that type was decoding. Everything thrown is a ``PipelineError``.
/// - `JSONValue` and `JSONObject` decode from any YAML (literal number text kept, key order
///   kept); `YAMLNode` decodes as the raw node, for options passed through unvalidated.
public struct YAMLNodeDecoder: Sendable {
    /// What the root value is, for messages: `stage 'length_filter' (id 'x')`, `'output'`.
    public var context: String
    /// A dotted prefix for value names in messages: with `output`, a bad `compression_level`
    /// is named `'output.compression_level'`.
    public var pathPrefix: String?
    /// Keys of the root mapping that belong to the caller (a stage's `type` and `id`): hidden
    /// from the `Decodable`, never unknown, and listed as allowed.
    public var excludedKeys: Set<String>
    /// The root mapping's documented options: listed as allowed in unknown-key errors, and
    /// their help quoted when a required one is missing.
    public var options: [StageOption]

    public init(
        context: String = "the value", pathPrefix: String? = nil, excludedKeys: Set<String> = [],
        options: [StageOption] = []
    ) {
        self.context = context
        self.pathPrefix = pathPrefix
        self.excludedKeys = excludedKeys
        self.options = options
    }

    /// Decodes `type` from `node` and checks that every key of every mapping it read was used.
    ///
    /// - Throws: ``PipelineError`` with the location of the offending value.
    public func decode<T: Decodable>(_ type: T.Type = T.self, from node: YAMLNode) throws -> T {
        var root = node
        if case .mapping(let m) = node, !excludedKeys.isEmpty {
            root = .mapping(m.removing(excludedKeys))
        }
        let state = DecodingState(root: root, configuration: self)
        let value = try state.decodeValue(T.self, node: root, path: [])
        try state.checkUnknownKeys()
        return value
    }
}

// MARK: - Coding keys

/// The coding keys this decoder puts in coding paths: a mapping key in its YAML spelling, or a
/// list index.
struct YAMLCodingKey: CodingKey {
    let stringValue: String
    let intValue: Int?

    init(stringValue: String) {
        self.stringValue = stringValue
        intValue = nil
    }

    init(intValue: Int) {
        stringValue = String(intValue)
        self.intValue = intValue
    }

    init(index: Int) { self.init(intValue: index) }
}

/// `endpoint.base_url`, `languages[1]`.
func renderPath(_ path: [any CodingKey], prefix: String?) -> String {
    var out = prefix ?? ""
    for key in path {
        if let i = key.intValue, key is YAMLCodingKey || key.stringValue.isEmpty || key.stringValue == String(i) {
            out += "[\(i)]"
        } else {
            if !out.isEmpty { out += "." }
            out += yamlKeyName(key.stringValue)
        }
    }
    return out
}

// MARK: - State shared by one decode

/// What one `decode` call has seen: the mappings it opened and the keys it asked of each.
final class DecodingState {
    struct Visit {
        var mapping: YAMLMapping
        var path: [any CodingKey]
        var requested: Set<String> = []
        /// Every key counts as used (the mapping was read whole: `allKeys`, `JSONValue`, …).
        var consumedAll = false
    }

    let root: YAMLNode
    let configuration: YAMLNodeDecoder
    private(set) var visits: [String: Visit] = [:]

    init(root: YAMLNode, configuration: YAMLNodeDecoder) {
        self.root = root
        self.configuration = configuration
    }

    // MARK: Naming

    func name(_ path: [any CodingKey]) -> String {
        renderPath(path, prefix: configuration.pathPrefix)
    }

    /// `'min_words' must be …` or `'x': message`; at the root, `stage 'x': message`.
    func describe(_ path: [any CodingKey], _ message: String) -> String {
        let n = name(path)
        if n.isEmpty { return "\(configuration.context): \(message)" }
        if message.hasPrefix("must ") || message.hasPrefix("needs ") { return "'\(n)' \(message)" }
        return "'\(n)': \(message)"
    }

    /// The place a mapping is, for "unknown key … in X" and "missing key … in X".
    func place(_ path: [any CodingKey]) -> String {
        if path.isEmpty { return configuration.context }
        let relative = renderPath(path, prefix: nil)
        if configuration.pathPrefix != nil { return "'\(name(path))'" }
        return "'\(relative)' of \(configuration.context)"
    }

    // MARK: Key tracking

    static func visitID(_ path: [any CodingKey]) -> String {
        path.map { $0.intValue.map { "[\($0)]" } ?? "." + $0.stringValue }.joined()
    }

    func visit(_ mapping: YAMLMapping, path: [any CodingKey]) -> String {
        let id = Self.visitID(path)
        if visits[id] == nil { visits[id] = Visit(mapping: mapping, path: path) }
        return id
    }

    func request(_ key: String, in id: String) { visits[id]?.requested.insert(key) }
    func consumeAll(_ id: String) { visits[id]?.consumedAll = true }
    func isConsumedAll(_ id: String) -> Bool { visits[id]?.consumedAll ?? false }

    /// Marks a value read whole (as JSON or a raw node): none of its keys are unknown.
    func consumeWhole(_ node: YAMLNode, path: [any CodingKey]) {
        guard case .mapping(let m) = node else { return }
        consumeAll(visit(m, path: path))
    }

    /// The keys allowed in a visited mapping: those asked for, plus at the root the documented
    /// options and the caller's keys.
    func allowedKeys(_ visit: Visit) -> [String] {
        var allowed = visit.requested
        if visit.path.isEmpty {
            allowed.formUnion(configuration.options.map(\.name))
            allowed.formUnion(configuration.excludedKeys)
        }
        return allowed.sorted()
    }

    func unknownKeyError(_ entry: YAMLMapping.Entry, visit: Visit, allowed: [String], suggestion: String? = nil) -> PipelineError {
        var message = "unknown key '\(entry.key)' in \(place(visit.path))"
        if allowed.isEmpty {
            message += "; it takes no keys"
        } else {
            message += "; allowed: " + allowed.joined(separator: ", ")
        }
        if let suggestion {
            message += "; did you mean '\(suggestion)'?"
        } else {
            message += didYouMean(entry.key, allowed)
        }
        return PipelineError(message, at: entry.keyLocation)
    }

    /// Throws for the first key (in file order) that no visited mapping's reader asked for.
    func checkUnknownKeys() throws {
        if case .mapping(let m) = root, visits[Self.visitID([])] == nil {
            _ = visit(m, path: [])
        }
        var first: (YAMLMapping.Entry, Visit)?
        for visit in visits.values where !visit.consumedAll {
            for entry in visit.mapping.entries where !visit.requested.contains(entry.key) {
                if first == nil || entry.keyLocation.precedes(first!.0.keyLocation) {
                    first = (entry, visit)
                }
            }
        }
        if let (entry, visit) = first {
            throw unknownKeyError(entry, visit: visit, allowed: allowedKeys(visit))
        }
    }

    /// The error for a missing required key, or, when a present unknown key looks like a typo
    /// of it, the error for that key.
    func missingKeyError(_ key: String, in id: String, mapping: YAMLMapping, path: [any CodingKey]) -> PipelineError {
        let visit = visits[id] ?? Visit(mapping: mapping, path: path)
        let allowed = Set(allowedKeys(visit)).union([key])
        let strays = mapping.entries.filter { !allowed.contains($0.key) }
        // A stray key may be a legitimate one not asked for yet, so only a near-certain typo
        // (one edit in a word of four or more letters, or a different spelling of the same
        // words) is reported instead of the missing key.
        let typo = strays.first { normalizedKey($0.key) == normalizedKey(key) }
            ?? strays.first { key.count >= 4 && editDistance(Array($0.key.lowercased()), Array(key.lowercased())) <= 1 }
        if let entry = typo {
            return unknownKeyError(entry, visit: visit, allowed: allowed.sorted(), suggestion: key)
        }
        var message = "missing required key '\(key)' in \(place(path))"
        if path.isEmpty, let option = configuration.options.first(where: { $0.name == key }) {
            message += " (\(option.valueType): \(option.help))"
        }
        message += "; add `\(key): …`"
        return PipelineError(message, at: mapping.location)
    }

    // MARK: Decoding values

    func typeError(_ expected: String, _ node: YAMLNode, _ path: [any CodingKey]) -> PipelineError {
        PipelineError(describe(path, "must be \(expected), got \(node.errorDescription)"), at: node.location)
    }

    func decodeValue<T: Decodable>(_ type: T.Type, node: YAMLNode, path: [any CodingKey]) throws -> T {
        if T.self == String.self { return try decodeString(node, path) as! T }
        if T.self == Bool.self { return try decodeBool(node, path) as! T }
        if let integer = T.self as? any FixedWidthInteger.Type {
            return try decodeInteger(integer, node, path) as! T
        }
        if T.self == Double.self { return try decodeDouble(node, path) as! T }
        if T.self == Float.self { return Float(try decodeDouble(node, path)) as! T }
        if T.self == YAMLNode.self {
            consumeWhole(node, path: path)
            return node as! T
        }
        if T.self == JSONValue.self {
            consumeWhole(node, path: path)
            return try jsonValue(node, path) as! T
        }
        if T.self == JSONObject.self {
            guard case .object(let o) = try jsonValue(node, path) else { throw typeError("a mapping", node, path) }
            consumeWhole(node, path: path)
            return o as! T
        }
        do {
            return try T(from: NodeDecoder(state: self, node: node, codingPath: path))
        } catch let error as PipelineError {
            throw error
        } catch let error as StageConfigurationError {
            throw PipelineError(describe(path, error.message), at: node.location)
        } catch let error as DecodingError {
            throw convert(error, type: T.self, node: node, path: path)
        } catch {
            throw PipelineError(describe(path, "\(error)"), at: node.location)
        }
    }

    func decodeString(_ node: YAMLNode, _ path: [any CodingKey]) throws -> String {
        guard case .scalar(let s) = node, s.value != .null else { throw typeError("a string", node, path) }
        return s.text
    }

    func decodeBool(_ node: YAMLNode, _ path: [any CodingKey]) throws -> Bool {
        guard case .scalar(let s) = node, case .bool(let b) = s.value else {
            var error = typeError("true or false", node, path)
            if case .scalar(let s) = node, ["yes", "no", "on", "off", "y", "n"].contains(s.text.lowercased()) {
                error = PipelineError(error.message + " (write true or false; yes/no/on/off are text in YAML 1.2)", at: error.location)
            }
            throw error
        }
        return b
    }

    func decodeInteger<I: FixedWidthInteger>(_ type: I.Type, _ node: YAMLNode, _ path: [any CodingKey]) throws -> I {
        guard case .scalar(let s) = node else { throw typeError("an integer", node, path) }
        let value: Int?
        switch s.value {
        case .int(let i): value = i
        case .float(let d): value = d.isFinite && d == d.rounded() ? Int(exactly: d) : nil
        default: value = nil
        }
        guard let value else {
            if case .float(let d) = s.value, d.isFinite, d == d.rounded() {
                throw typeError("an integer from \(I.min) to \(I.max)", node, path)
            }
            throw typeError("an integer", node, path)
        }
        guard let result = I(exactly: value) else {
            throw typeError("an integer from \(I.min) to \(I.max)", node, path)
        }
        return result
    }

    func decodeDouble(_ node: YAMLNode, _ path: [any CodingKey]) throws -> Double {
        guard case .scalar(let s) = node else { throw typeError("a number", node, path) }
        switch s.value {
        case .int(let i): return Double(i)
        case .float(let d): return d
        default: throw typeError("a number", node, path)
        }
    }

    /// A YAML value as JSON: numbers keep their text when it is valid JSON.
    func jsonValue(_ node: YAMLNode, _ path: [any CodingKey]) throws -> JSONValue {
        switch node {
        case .scalar(let s):
            switch s.value {
            case .null: return .null
            case .bool(let b): return .bool(b)
            case .string(let t): return .string(t)
            case .int(let i):
                return .number(isJSONNumber(s.text) ? JSONNumber(uncheckedLiteral: s.text) : JSONNumber(i))
            case .float(let d):
                if isJSONNumber(s.text) { return .number(JSONNumber(uncheckedLiteral: s.text)) }
                guard d.isFinite else {
                    throw PipelineError(describe(path, "JSON has no value for \(s.text); write a finite number or a string"), at: s.location)
                }
                return .number(JSONNumber(d))
            }
        case .sequence(let seq):
            return .array(try seq.items.enumerated().map { try jsonValue($1, path + [YAMLCodingKey(index: $0)]) })
        case .mapping(let m):
            var o = JSONObject()
            for e in m.entries {
                o.append(key: e.key, value: try jsonValue(e.value, path + [YAMLCodingKey(stringValue: e.key)]))
            }
            return .object(o)
        }
    }

    /// Rewrites a `DecodingError` thrown by a type's own `init(from:)` as a located message.
    func convert(_ error: DecodingError, type: Any.Type, node: YAMLNode, path: [any CodingKey]) -> PipelineError {
        switch error {
        case .dataCorrupted(let context):
            if context.codingPath.count == path.count, let cases = T_caseNames(type) {
                return typeError("one of " + cases.joined(separator: ", "), node, path)
            }
            let target = root.descendant(along: context.codingPath)
            return PipelineError(describe(context.codingPath, context.debugDescription), at: target.location)
        case .keyNotFound(let key, let context):
            let target = root.descendant(along: context.codingPath)
            let k = yamlKeyName(key.stringValue)
            if case .mapping(let m) = target {
                return missingKeyError(k, in: Self.visitID(context.codingPath), mapping: m, path: context.codingPath)
            }
            return PipelineError("missing required key '\(k)' in \(place(context.codingPath))", at: target.location)
        case .typeMismatch(let t, let context), .valueNotFound(let t, let context):
            let target = root.descendant(along: context.codingPath)
            return PipelineError(
                describe(context.codingPath, "must be \(typeWord(t)), got \(target.errorDescription) (\(context.debugDescription))"),
                at: target.location)
        @unknown default:
            return PipelineError(describe(path, "\(error)"), at: node.location)
        }
    }

    private func typeWord(_ t: Any.Type) -> String {
        switch t {
        case is String.Type: "a string"
        case is Bool.Type: "true or false"
        case is any FixedWidthInteger.Type: "an integer"
        case is any BinaryFloatingPoint.Type: "a number"
        default: "\(t)"
        }
    }
}

/// The raw values of a `CaseIterable` enum, for "must be one of …".
private func T_caseNames(_ type: Any.Type) -> [String]? {
    guard let iterable = type as? any CaseIterable.Type else { return nil }
    func names<C: CaseIterable>(_ t: C.Type) -> [String] {
        C.allCases.map { c in
            if let r = c as? any RawRepresentable { return "\(r.rawValue)" }
            return "\(c)"
        }
    }
    return names(iterable)
}

/// Whether `text` is a JSON number literal: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?`.
func isJSONNumber(_ text: String) -> Bool {
    var s = Substring(text)
    func digits(_ s: inout Substring) -> Int {
        var n = 0
        while let c = s.first, c.isASCII, c.isNumber {
            n += 1
            s = s.dropFirst()
        }
        return n
    }
    if s.first == "-" { s = s.dropFirst() }
    if s.first == "0" {
        s = s.dropFirst()
    } else if digits(&s) == 0 {
        return false
    }
    if s.first == "." {
        s = s.dropFirst()
        guard digits(&s) > 0 else { return false }
    }
    if let e = s.first, e == "e" || e == "E" {
        s = s.dropFirst()
        if let sign = s.first, sign == "+" || sign == "-" { s = s.dropFirst() }
        guard digits(&s) > 0 else { return false }
    }
    return s.isEmpty
}

// MARK: - Decoder

struct NodeDecoder: Decoder {
    let state: DecodingState
    let node: YAMLNode
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .mapping(let m) = node else { throw state.typeError("a mapping", node, codingPath) }
        let id = state.visit(m, path: codingPath)
        return KeyedDecodingContainer(KeyedContainer<Key>(state: state, mapping: m, codingPath: codingPath, visitID: id))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .sequence(let s) = node else { throw state.typeError("a list", node, codingPath) }
        return UnkeyedContainer(state: state, sequence: s, codingPath: codingPath)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        SingleValueContainer(state: state, node: node, codingPath: codingPath)
    }
}

struct KeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let state: DecodingState
    let mapping: YAMLMapping
    let codingPath: [any CodingKey]
    let visitID: String

    /// Every key of the mapping; asking for them counts as using them all.
    var allKeys: [Key] {
        state.consumeAll(visitID)
        return mapping.entries.compactMap { Key(stringValue: $0.key) }
    }

    /// The YAML spelling of `key`, recorded as asked for.
    private func yamlName(_ key: Key) -> String {
        var name = yamlKeyName(key.stringValue)
        if state.isConsumedAll(visitID), mapping.entry(for: key.stringValue) != nil { name = key.stringValue }
        state.request(name, in: visitID)
        return name
    }

    private func path(_ name: String) -> [any CodingKey] { codingPath + [YAMLCodingKey(stringValue: name)] }

    private func required(_ key: Key) throws -> (String, YAMLNode) {
        let name = yamlName(key)
        guard let value = mapping[name] else {
            throw state.missingKeyError(name, in: visitID, mapping: mapping, path: codingPath)
        }
        return (name, value)
    }

    func contains(_ key: Key) -> Bool { mapping[yamlName(key)] != nil }

    func decodeNil(forKey key: Key) throws -> Bool {
        mapping[yamlName(key)]?.isNull ?? true
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        let (name, value) = try required(key)
        return try state.decodeValue(T.self, node: value, path: path(name))
    }

    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        let name = yamlName(key)
        guard let value = mapping[name], !value.isNull else { return nil }
        return try state.decodeValue(T.self, node: value, path: path(name))
    }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try decodeGeneric(type, key) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try decodeGeneric(type, key) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try decodeGeneric(type, key) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try decodeGeneric(type, key) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try decodeGeneric(type, key) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try decodeGeneric(type, key) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try decodeGeneric(type, key) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try decodeGeneric(type, key) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try decodeGeneric(type, key) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try decodeGeneric(type, key) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try decodeGeneric(type, key) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try decodeGeneric(type, key) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try decodeGeneric(type, key) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try decodeGeneric(type, key) }

    private func decodeGeneric<T: Decodable>(_ type: T.Type, _ key: Key) throws -> T {
        let (name, value) = try required(key)
        return try state.decodeValue(T.self, node: value, path: path(name))
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        let (name, value) = try required(key)
        return try NodeDecoder(state: state, node: value, codingPath: path(name)).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        let (name, value) = try required(key)
        return try NodeDecoder(state: state, node: value, codingPath: path(name)).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder {
        let value = mapping["super"] ?? .null(at: mapping.location)
        state.request("super", in: visitID)
        return NodeDecoder(state: state, node: value, codingPath: path("super"))
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        let name = yamlName(key)
        return NodeDecoder(state: state, node: mapping[name] ?? .null(at: mapping.location), codingPath: path(name))
    }
}

struct UnkeyedContainer: UnkeyedDecodingContainer {
    let state: DecodingState
    let sequence: YAMLSequence
    let codingPath: [any CodingKey]
    private(set) var currentIndex = 0

    init(state: DecodingState, sequence: YAMLSequence, codingPath: [any CodingKey]) {
        self.state = state
        self.sequence = sequence
        self.codingPath = codingPath
    }

    var count: Int? { sequence.items.count }
    var isAtEnd: Bool { currentIndex >= sequence.items.count }

    private func next() throws -> (YAMLNode, [any CodingKey]) {
        guard !isAtEnd else {
            throw PipelineError(
                state.describe(codingPath, "needs more than \(sequence.items.count) items"), at: sequence.location)
        }
        return (sequence.items[currentIndex], codingPath + [YAMLCodingKey(index: currentIndex)])
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd, sequence.items[currentIndex].isNull else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let (node, path) = try next()
        let value = try state.decodeValue(T.self, node: node, path: path)
        currentIndex += 1
        return value
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool { try decodeGeneric(type) }
    mutating func decode(_ type: String.Type) throws -> String { try decodeGeneric(type) }
    mutating func decode(_ type: Double.Type) throws -> Double { try decodeGeneric(type) }
    mutating func decode(_ type: Float.Type) throws -> Float { try decodeGeneric(type) }
    mutating func decode(_ type: Int.Type) throws -> Int { try decodeGeneric(type) }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try decodeGeneric(type) }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try decodeGeneric(type) }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try decodeGeneric(type) }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try decodeGeneric(type) }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try decodeGeneric(type) }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try decodeGeneric(type) }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try decodeGeneric(type) }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try decodeGeneric(type) }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try decodeGeneric(type) }

    private mutating func decodeGeneric<T: Decodable>(_ type: T.Type) throws -> T {
        let (node, path) = try next()
        let value = try state.decodeValue(T.self, node: node, path: path)
        currentIndex += 1
        return value
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        let (node, path) = try next()
        let c = try NodeDecoder(state: state, node: node, codingPath: path).container(keyedBy: type)
        currentIndex += 1
        return c
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let (node, path) = try next()
        let c = try NodeDecoder(state: state, node: node, codingPath: path).unkeyedContainer()
        currentIndex += 1
        return c
    }

    mutating func superDecoder() throws -> any Decoder {
        let (node, path) = try next()
        currentIndex += 1
        return NodeDecoder(state: state, node: node, codingPath: path)
    }
}

struct SingleValueContainer: SingleValueDecodingContainer {
    let state: DecodingState
    let node: YAMLNode
    let codingPath: [any CodingKey]

    func decodeNil() -> Bool { node.isNull }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try state.decodeValue(T.self, node: node, path: codingPath)
    }

    func decode(_ type: Bool.Type) throws -> Bool { try state.decodeValue(type, node: node, path: codingPath) }
    func decode(_ type: String.Type) throws -> String { try state.decodeValue(type, node: node, path: codingPath) }
    func decode(_ type: Double.Type) throws -> Double { try state.decodeValue(type, node: node, path: codingPath) }
    func decode(_ type: Float.Type) throws -> Float { try state.decodeValue(type, node: node, path: codingPath) }
    func decode(_ type: Int.Type) throws -> Int { try state.decodeValue(type, node: node, path: codingPath) }
    func decode(_ type: Int8.Type) throws -> Int8 { try state.decodeValue(type, node: node, path: codingPath) }
    func decode(_ type: Int16.Type) throws -> Int16 { try state.decodeValue(type, node: node, path: codingPath) }
    func decode(_ type: Int32.Type) throws -> Int32 { try state.decodeValue(type, node: node, path: codingPath) }
    func decode(_ type: Int64.Type) throws -> Int64 { try state.decodeValue(type, node: node, path: codingPath) }
    func decode(_ type: UInt.Type) throws -> UInt { try state.decodeValue(type, node: node, path: codingPath) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try state.decodeValue(type, node: node, path: codingPath) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try state.decodeValue(type, node: node, path: codingPath) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try state.decodeValue(type, node: node, path: codingPath) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try state.decodeValue(type, node: node, path: codingPath) }
}

// MARK: - YAMLNode as a value

/// A `YAMLNode` field receives the raw node (``YAMLNodeDecoder`` hands it over as is, and
/// counts all its keys as used): for options validated later, or passed through. From other
/// decoders the value is rebuilt without locations.
extension YAMLNode: Decodable {
    public init(from decoder: any Decoder) throws {
        if let yaml = decoder as? NodeDecoder {
            yaml.state.consumeWhole(yaml.node, path: yaml.codingPath)
            self = yaml.node
            return
        }
        let nowhere = YAMLLocation(source: "(decoded)")
        if let c = try? decoder.singleValueContainer() {
            if c.decodeNil() {
                self = .null(at: nowhere)
                return
            }
            if let b = try? c.decode(Bool.self) {
                self = .scalar(YAMLScalar(b ? "true" : "false", style: .plain, location: nowhere))
                return
            }
            if let i = try? c.decode(Int.self) {
                self = .scalar(YAMLScalar(String(i), style: .plain, location: nowhere))
                return
            }
            if let d = try? c.decode(Double.self) {
                self = .scalar(YAMLScalar("\(d)", style: .plain, location: nowhere))
                return
            }
            if let s = try? c.decode(String.self) {
                self = .scalar(YAMLScalar(s, style: .doubleQuoted, location: nowhere))
                return
            }
        }
        if let c = try? decoder.container(keyedBy: YAMLCodingKey.self) {
            let entries = try c.allKeys.map { key in
                YAMLMapping.Entry(key: key.stringValue, keyLocation: nowhere, value: try c.decode(YAMLNode.self, forKey: key))
            }
            self = .mapping(YAMLMapping(entries: entries, location: nowhere))
            return
        }
        var list = try decoder.unkeyedContainer()
        var items: [YAMLNode] = []
        while !list.isAtEnd { items.append(try list.decode(YAMLNode.self)) }
        self = .sequence(YAMLSequence(items: items, location: nowhere))
    }
}
