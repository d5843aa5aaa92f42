import SluiceCore

/// A dotted path into a document's metadata, such as `language` or `quality.fasttext`, split
/// once when the stage is built so that per-document lookups allocate nothing.
///
/// Paths always address `metadata`: a leading `metadata.` is optional (`metadata.language`
/// and `language` are the same field), so a key literally named `metadata` is written
/// `metadata.metadata`. Keys cannot contain dots; empty components (`a..b`, `.a`) are errors.
struct MetadataPath: Sendable, Hashable, CustomStringConvertible {
    let components: [String]
    /// The path as written in the configuration.
    let text: String

    init(parsing text: String, option: String) throws(StageConfigurationError) {
        var parts = text.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        if parts.count > 1 && parts[0] == "metadata" { parts.removeFirst() }
        guard !text.isEmpty, !parts.contains(where: \.isEmpty) else {
            throw StageConfigurationError(
                "\(option): '\(text)' is not a metadata path; write keys separated by dots, such as language or quality.fasttext")
        }
        components = parts
        self.text = text
    }

    var description: String { text }

    /// The value at this path, or `nil` when a key on the way is absent or not an object.
    func value(in object: JSONObject) -> JSONValue? {
        var current = object
        let last = components.count - 1
        for i in 0..<last {
            guard case .object(let next)? = current[components[i]] else { return nil }
            current = next
        }
        return current[components[last]]
    }

    /// Sets the value at this path, creating objects on the way. With `overwrite` false an
    /// existing non-null value is left alone, and so is a non-object value on the way;
    /// with `overwrite` true such a value on the way is replaced by an object. Returns whether
    /// anything was set.
    @discardableResult
    func set(_ value: JSONValue, in object: inout JSONObject, overwrite: Bool) -> Bool {
        set(value, in: &object, at: 0, overwrite: overwrite)
    }

    private func set(_ value: JSONValue, in object: inout JSONObject, at index: Int, overwrite: Bool) -> Bool {
        let key = components[index]
        let existing = object[key]
        if index == components.count - 1 {
            if !overwrite, let existing, existing != .null { return false }
            object[key] = value
            return true
        }
        var child: JSONObject
        switch existing {
        case .object(let o)?: child = o
        case nil, .null?: child = JSONObject()
        case .some:
            guard overwrite else { return false }
            child = JSONObject()
        }
        guard set(value, in: &child, at: index + 1, overwrite: overwrite) else { return false }
        object[key] = .object(child)
        return true
    }
}

/// Reads a string option that must be one of `allowed`.
func decodeChoice<K: CodingKey>(
    _ container: KeyedDecodingContainer<K>, _ key: K, allowed: [String], default defaultValue: String
) throws -> String {
    guard let value = try container.decodeIfPresent(String.self, forKey: key) else { return defaultValue }
    guard allowed.contains(value) else {
        throw StageConfigurationError(
            "\(key.stringValue): '\(value)' is not allowed; use one of \(allowed.joined(separator: ", "))")
    }
    return value
}
