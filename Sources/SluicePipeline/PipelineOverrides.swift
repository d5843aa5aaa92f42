/// One `--set KEY=VALUE` override: a dotted path into the pipeline file and a YAML value.
///
/// Path components name mapping keys; in a list they pick an item by index (`stages.0`) or by
/// the item's `id` or `name`, or, for a stage without an id, its `type` (`stages.english`,
/// `steps.dedup.stages.minhash`). The value is read as YAML, so `4` is an integer, `true` a
/// boolean and `[en, fr]` a list; an empty value is null. A key that does not exist is added
/// (intermediate mappings too), and validation then reports it if it is unknown.
public struct PipelineOverride: Sendable {
    /// The override as given: `run.tasks=4`.
    public let text: String
    /// The dotted path, split: `["run", "tasks"]`.
    public let path: [String]
    /// The value, read as YAML.
    public let value: YAMLNode

    /// Where values from this override are said to come from in messages.
    public var location: YAMLLocation { YAMLLocation(source: "--set \(text)") }

    /// Parses `KEY=VALUE`.
    ///
    /// - Throws: ``PipelineError`` when there is no `=`, the key is empty, or the value is not
    ///   valid YAML.
    public init(parsing text: String) throws {
        self.text = text
        guard let eq = text.firstIndex(of: "=") else {
            throw PipelineError("--set expects KEY=VALUE (such as run.tasks=4), got '\(text)'")
        }
        let key = text[..<eq].trimmingSpaces()
        let path = key.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard !key.isEmpty, !path.contains(where: \.isEmpty) else {
            throw PipelineError("--set \(text): the key must be a dotted path such as output.path or stages.0.min_words")
        }
        self.path = path
        let location = YAMLLocation(source: "--set \(text)")
        let valueText = String(text[text.index(after: eq)...])
        do {
            value = try YAMLNode.parse(valueText, source: location.source)?.relocated(to: location) ?? .null(at: location)
        } catch let error as PipelineError {
            throw PipelineError("--set \(text): the value is not valid YAML: \(error.message); quote it", at: nil)
        }
    }
}

extension YAMLNode {
    /// This node with every location (its own and its children's) replaced.
    func relocated(to location: YAMLLocation) -> YAMLNode {
        switch self {
        case .scalar(var s):
            s.location = location
            return .scalar(s)
        case .sequence(var s):
            s.location = location
            s.items = s.items.map { $0.relocated(to: location) }
            return .sequence(s)
        case .mapping(var m):
            m.location = location
            m.entries = m.entries.map {
                YAMLMapping.Entry(key: $0.key, keyLocation: location, value: $0.value.relocated(to: location))
            }
            return .mapping(m)
        }
    }

    /// Applies a `--set` override.
    ///
    /// - Throws: ``PipelineError`` when the path leads through a value that is not a mapping or
    ///   a list, or names a list item that does not exist.
    public mutating func apply(_ override: PipelineOverride) throws {
        try set(override.value, at: override.path[...], walked: [], override: override)
    }

    private mutating func set(
        _ value: YAMLNode, at path: ArraySlice<String>, walked: [String], override: PipelineOverride
    ) throws {
        guard let component = path.first else {
            self = value
            return
        }
        let here = walked + [component]
        let rest = path.dropFirst()
        switch self {
        case .mapping(var m):
            var child = m[component] ?? .null(at: override.location)
            try child.set(value, at: rest, walked: here, override: override)
            if m.entry(for: component) == nil {
                m.entries.append(YAMLMapping.Entry(key: component, keyLocation: override.location, value: child))
            } else {
                m[component] = child
            }
            self = .mapping(m)
        case .sequence(var s):
            let i = try s.index(of: component, listName: walked.joined(separator: "."), override: override)
            try s.items[i].set(value, at: rest, walked: here, override: override)
            self = .sequence(s)
        case .scalar where isNull:
            // An empty block (`run:`) becomes a mapping.
            var m = YAMLMapping(entries: [], location: location)
            var child = YAMLNode.null(at: override.location)
            try child.set(value, at: rest, walked: here, override: override)
            m.entries.append(YAMLMapping.Entry(key: component, keyLocation: override.location, value: child))
            self = .mapping(m)
        case .scalar:
            let name = walked.isEmpty ? "the file" : "'\(walked.joined(separator: "."))'"
            throw PipelineError(
                "--set \(override.text): cannot set '\(component)' in \(name), which is \(errorDescription), not a mapping or a list",
                at: location)
        }
    }
}

extension YAMLSequence {
    /// The index a path component names: a number, or an item's `id`, `name`, or (for an item
    /// without an id) `type`.
    fileprivate func index(of component: String, listName: String, override: PipelineOverride) throws -> Int {
        if let i = Int(component) {
            guard items.indices.contains(i) else {
                throw PipelineError(
                    "--set \(override.text): '\(listName)' has \(items.count) item\(items.count == 1 ? "" : "s"), so there is no index \(i)"
                        + (items.isEmpty ? "" : " (use 0 to \(items.count - 1), or an id)"),
                    at: location)
            }
            return i
        }
        func text(_ node: YAMLNode, _ key: String) -> String? {
            guard let v = node[key], case .scalar(let s) = v, !v.isNull else { return nil }
            return s.text
        }
        let byID = items.indices.filter { text(items[$0], "id") == component || text(items[$0], "name") == component }
        if let i = byID.first { return i }
        let byType = items.indices.filter { text(items[$0], "id") == nil && text(items[$0], "type") == component }
        if byType.count == 1 { return byType[0] }
        if byType.count > 1 {
            throw PipelineError(
                "--set \(override.text): '\(listName)' has \(byType.count) items of type '\(component)'; pick one by index (\(byType.map(String.init).joined(separator: ", "))) or give them ids",
                at: location)
        }
        let names = items.compactMap { text($0, "id") ?? text($0, "name") ?? text($0, "type") }
        var message = "--set \(override.text): no item '\(component)' in '\(listName)'"
        message += names.isEmpty ? "" : "; its items are: " + names.joined(separator: ", ")
        message += didYouMean(component, names)
        message += " (an item is picked by index, id, name, or type)"
        throw PipelineError(message, at: location)
    }
}

// MARK: - Environment variables

extension YAMLNode {
    /// Expands `${NAME}` and `${NAME:-default}` in every scalar value (not in keys) from
    /// `environment`; `$${` stands for a literal `${`. A plain scalar is resolved again after
    /// expansion, so `tasks: ${TASKS}` is an integer when `TASKS=4`.
    ///
    /// - Throws: ``PipelineError`` at the scalar when a variable without a default is not set.
    public mutating func expandVariables(_ environment: [String: String]) throws {
        switch self {
        case .scalar(var s):
            guard s.text.contains("$") else { return }
            s.text = try expand(s.text, environment, at: s.location)
            self = .scalar(s)
        case .sequence(var seq):
            for i in seq.items.indices { try seq.items[i].expandVariables(environment) }
            self = .sequence(seq)
        case .mapping(var m):
            for i in m.entries.indices { try m.entries[i].value.expandVariables(environment) }
            self = .mapping(m)
        }
    }
}

/// `text` with `${NAME}` / `${NAME:-default}` replaced and `$${` turned into `${`.
func expand(_ text: String, _ environment: [String: String], at location: YAMLLocation) throws -> String {
    let chars = Array(text)
    var out = ""
    var i = 0
    while i < chars.count {
        if chars[i] == "$", i + 2 < chars.count, chars[i + 1] == "$", chars[i + 2] == "{" {
            out += "${"
            i += 3
            continue
        }
        guard chars[i] == "$", i + 1 < chars.count, chars[i + 1] == "{" else {
            out.append(chars[i])
            i += 1
            continue
        }
        // Find the matching brace; defaults may hold references of their own.
        var depth = 0
        var j = i + 1
        var end: Int?
        while j < chars.count {
            if chars[j] == "{" { depth += 1 }
            if chars[j] == "}" {
                depth -= 1
                if depth == 0 {
                    end = j
                    break
                }
            }
            j += 1
        }
        guard let end else {
            throw PipelineError(
                "unclosed '${' in \(quoted(text)); write ${NAME} or ${NAME:-default} (or $${ for a literal ${)", at: location)
        }
        let inner = String(chars[(i + 2)..<end])
        let name: String
        let fallback: String?
        let innerChars = Array(inner)
        if let r = innerChars.indices.dropLast().first(where: { innerChars[$0] == ":" && innerChars[$0 + 1] == "-" }) {
            name = String(innerChars[..<r])
            fallback = String(innerChars[(r + 2)...])
        } else {
            name = inner
            fallback = nil
        }
        guard isVariableName(name) else {
            throw PipelineError(
                "'${\(inner)}' is not a variable reference; write ${NAME} or ${NAME:-default} with NAME made of letters, digits and '_' (or $${ for a literal ${)",
                at: location)
        }
        if let value = environment[name] {
            out += value
        } else if let fallback {
            out += try expand(fallback, environment, at: location)
        } else {
            throw PipelineError(
                "environment variable '\(name)' is not set; set it (`export \(name)=…`) or give a default with ${\(name):-default}",
                at: location)
        }
        i = end + 1
    }
    return out
}

private func isVariableName(_ s: String) -> Bool {
    guard let first = s.unicodeScalars.first, first == "_" || (first.isASCII && first.properties.isAlphabetic) else {
        return false
    }
    return s.unicodeScalars.allSatisfy { $0 == "_" || ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) }
}
