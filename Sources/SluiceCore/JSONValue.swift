/// A JSON value with a fixed, typed shape: Sluice never stores metadata as `Any`.
///
/// Numbers keep their literal text so that a value read from a shard is written back byte for
/// byte (`1.0` stays `1.0`, `1e3` stays `1e3`); objects keep their key order.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case number(JSONNumber)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    /// A number value from a `Double`; non-finite values become `null` because JSON has no
    /// literal for them.
    public static func double(_ value: Double) -> JSONValue {
        value.isFinite ? .number(JSONNumber(value)) : .null
    }

    /// A number value from an integer.
    public static func int(_ value: Int) -> JSONValue { .number(JSONNumber(value)) }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    public var doubleValue: Double? {
        if case .number(let n) = self { return n.doubleValue }
        return nil
    }

    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    public var objectValue: JSONObject? {
        if case .object(let o) = self { return o }
        return nil
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    /// The name of this value's JSON type, for error messages.
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .number: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }
}

/// A JSON number kept as its literal text.
public struct JSONNumber: Sendable, Hashable, CustomStringConvertible {
    /// The number exactly as it appears in JSON.
    public let literal: String

    /// Wraps a literal that the caller has already checked is a valid JSON number.
    public init(uncheckedLiteral literal: String) { self.literal = literal }

    public init(_ value: Int) { literal = String(value) }

    /// The shortest text that reads back as the same `Double`. Integral values in the exact
    /// range of `Double` are written without a fraction (`3`, not `3.0`).
    public init(_ value: Double) {
        precondition(value.isFinite, "JSON has no literal for \(value)")
        if value == value.rounded(), abs(value) < 9.007_199_254_740_992e15 {
            literal = String(Int64(value))
        } else {
            literal = "\(value)"
        }
    }

    public var doubleValue: Double { Double(literal) ?? .nan }

    /// The value as an integer when the literal is one.
    public var intValue: Int? { Int(literal) }

    public var description: String { literal }
}

/// A JSON object that keeps its keys in insertion order.
///
/// Lookups are linear, which is faster than hashing for the handful of keys that document
/// metadata usually has.
public struct JSONObject: Sendable, Hashable, Sequence, ExpressibleByDictionaryLiteral {
    public struct Entry: Sendable, Hashable {
        public var key: String
        public var value: JSONValue
        public init(key: String, value: JSONValue) {
            self.key = key
            self.value = value
        }
    }

    public private(set) var entries: [Entry]

    public init() { entries = [] }
    public init(entries: [Entry]) { self.entries = entries }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        entries = elements.map { Entry(key: $0.0, value: $0.1) }
    }

    public var count: Int { entries.count }
    public var isEmpty: Bool { entries.isEmpty }
    public var keys: [String] { entries.map(\.key) }

    public func makeIterator() -> IndexingIterator<[Entry]> { entries.makeIterator() }

    /// The value for `key`; assigning `nil` removes the key, assigning a new key appends it.
    public subscript(key: String) -> JSONValue? {
        get {
            for e in entries where e.key == key { return e.value }
            return nil
        }
        set {
            if let i = entries.firstIndex(where: { $0.key == key }) {
                if let newValue { entries[i].value = newValue } else { entries.remove(at: i) }
            } else if let newValue {
                entries.append(Entry(key: key, value: newValue))
            }
        }
    }

    /// Appends without checking for an existing key (the JSON reader uses this; a duplicate
    /// key in the input is kept, as most JSON libraries keep the last one when reading).
    public mutating func append(key: String, value: JSONValue) {
        entries.append(Entry(key: key, value: value))
    }

    /// The value at a dotted path such as `quality.fasttext`, descending through objects.
    public func value(atPath path: String) -> JSONValue? {
        var current: JSONObject = self
        var parts = path.split(separator: Character("."), omittingEmptySubsequences: false)[...]
        while let first = parts.popFirst() {
            guard let v = current[String(first)] else { return nil }
            if parts.isEmpty { return v }
            guard case .object(let next) = v else { return nil }
            current = next
        }
        return nil
    }

    /// Sets the value at a dotted path, creating intermediate objects (and replacing
    /// non-object values on the way).
    public mutating func setValue(_ value: JSONValue?, atPath path: String) {
        let parts = path.split(separator: Character("."), omittingEmptySubsequences: false).map(String.init)
        setValue(value, at: parts[...])
    }

    private mutating func setValue(_ value: JSONValue?, at parts: ArraySlice<String>) {
        guard let first = parts.first else { return }
        if parts.count == 1 {
            self[first] = value
            return
        }
        var child = self[first]?.objectValue ?? JSONObject()
        child.setValue(value, at: parts.dropFirst())
        self[first] = .object(child)
    }
}
