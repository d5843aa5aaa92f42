import SluiceCore

/// Keeps or drops documents by one comparison on a metadata field.
///
/// YAML type `field_filter`. Options:
///
/// - `field` (required): a dotted path into the metadata, such as `language` or
///   `quality.fasttext`; a leading `metadata.` is optional. Top-level document fields (`id`,
///   `source`, …) are not addressable.
/// - exactly one comparison:
///   - `equals`, `not_equals`: a scalar (string, number or boolean);
///   - `in`, `not_in`: a non-empty list of scalars;
///   - `gt`, `gte`, `lt`, `lte`: a number;
///   - `exists`: `true` matches documents that have the field, `false` those that lack it.
///
///   Numbers compare numerically (`1` equals `1.0`); strings compare exactly, byte for byte,
///   and a string never equals a number (`"5"` is not `5`). Order comparisons match numbers
///   only. A value of another type than the comparison's does not match.
/// - `action`: `keep` (default) keeps matching documents and drops the others with
///   `field_mismatch`; `drop` drops matching documents with `field_match` and keeps the others.
/// - `missing`: what to do when the field is absent (or JSON `null`): `drop` (default, reason
///   `field_missing`) or `keep`. It does not apply to `exists`, which tests exactly that.
///
/// ```yaml
/// - type: field_filter
///   field: language
///   in: [en, de]
/// - type: field_filter
///   field: quality.fasttext
///   gte: 0.5
/// - type: field_filter
///   field: tags.nsfw
///   equals: true
///   action: drop
///   missing: keep
/// ```
public struct FieldFilter: FilterStage {
    public struct Configuration: Decodable, Sendable {
        public var field: String
        public var equals: JSONValue?
        public var notEquals: JSONValue?
        public var `in`: [JSONValue]?
        public var notIn: [JSONValue]?
        public var gt: Double?
        public var gte: Double?
        public var lt: Double?
        public var lte: Double?
        public var exists: Bool?
        /// `keep` or `drop`.
        public var action: String
        /// `drop` or `keep`.
        public var missing: String

        enum CodingKeys: String, CodingKey {
            case field, equals, notEquals = "not_equals", `in`, notIn = "not_in", gt, gte, lt, lte, exists
            case action, missing
        }

        public init(
            field: String, equals: JSONValue? = nil, notEquals: JSONValue? = nil, in: [JSONValue]? = nil,
            notIn: [JSONValue]? = nil, gt: Double? = nil, gte: Double? = nil, lt: Double? = nil, lte: Double? = nil,
            exists: Bool? = nil, action: String = "keep", missing: String = "drop"
        ) {
            self.field = field
            self.equals = equals
            self.notEquals = notEquals
            self.in = `in`
            self.notIn = notIn
            self.gt = gt
            self.gte = gte
            self.lt = lt
            self.lte = lte
            self.exists = exists
            self.action = action
            self.missing = missing
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let field = try c.decodeIfPresent(String.self, forKey: .field)
            equals = try c.decodeIfPresent(JSONValue.self, forKey: .equals)
            notEquals = try c.decodeIfPresent(JSONValue.self, forKey: .notEquals)
            self.in = try c.decodeIfPresent([JSONValue].self, forKey: .in)
            notIn = try c.decodeIfPresent([JSONValue].self, forKey: .notIn)
            gt = try c.decodeIfPresent(Double.self, forKey: .gt)
            gte = try c.decodeIfPresent(Double.self, forKey: .gte)
            lt = try c.decodeIfPresent(Double.self, forKey: .lt)
            lte = try c.decodeIfPresent(Double.self, forKey: .lte)
            exists = try c.decodeIfPresent(Bool.self, forKey: .exists)
            action = try decodeChoice(c, .action, allowed: ["keep", "drop"], default: "keep")
            missing = try decodeChoice(c, .missing, allowed: ["drop", "keep"], default: "drop")
            // `equals: null` decodes as absent; say what to write instead.
            for key in [CodingKeys.equals, .notEquals] where c.contains(key) {
                if try c.decodeNil(forKey: key) {
                    throw StageConfigurationError(
                        "\(key.stringValue): null never matches because a null field counts as missing; use exists instead")
                }
            }
            guard let field else { throw StageConfigurationError("field_filter needs field: the metadata path to compare") }
            self.field = field
        }
    }

    public static let type = "field_filter"
    public static let summary = "Keeps or drops documents by comparing a metadata field with a value."
    public static let options: [StageOption] = [
        StageOption("field", "string", help: "Dotted metadata path to compare, such as language or quality.fasttext (a leading metadata. is optional)."),
        StageOption("equals", "scalar", default: "null", help: "Match when the field equals this string, number or boolean."),
        StageOption("not_equals", "scalar", default: "null", help: "Match when the field does not equal this string, number or boolean."),
        StageOption("in", "[scalar]", default: "null", help: "Match when the field equals one of these values."),
        StageOption("not_in", "[scalar]", default: "null", help: "Match when the field equals none of these values."),
        StageOption("gt", "number", default: "null", help: "Match when the field is a number greater than this."),
        StageOption("gte", "number", default: "null", help: "Match when the field is a number greater than or equal to this."),
        StageOption("lt", "number", default: "null", help: "Match when the field is a number less than this."),
        StageOption("lte", "number", default: "null", help: "Match when the field is a number less than or equal to this."),
        StageOption("exists", "bool", default: "null", help: "true: match when the field is present and not null; false: match when it is absent or null."),
        StageOption("action", "keep | drop", default: "keep", help: "keep: keep matching documents, drop the rest (field_mismatch); drop: drop matching documents (field_match)."),
        StageOption("missing", "drop | keep", default: "drop", help: "What to do with documents that lack the field or have it null (reason field_missing); ignored with exists."),
    ]
    public static let dropReasons: [DropReason] = ["field_mismatch", "field_match", "field_missing"]

    enum Comparison: Sendable {
        case equals(JSONValue)
        case notEquals(JSONValue)
        case oneOf(ScalarSet)
        case noneOf(ScalarSet)
        case greater(Double)
        case greaterOrEqual(Double)
        case less(Double)
        case lessOrEqual(Double)
        case exists(Bool)
    }

    /// Scalars to test membership against, split by type.
    struct ScalarSet: Sendable {
        var strings: Set<String> = []
        var numbers: Set<Double> = []
        var bools: Set<Bool> = []

        func contains(_ value: JSONValue) -> Bool {
            switch value {
            case .string(let s): strings.contains(s)
            case .number(let n): numbers.contains(n.doubleValue)
            case .bool(let b): bools.contains(b)
            case .null, .array, .object: false
            }
        }
    }

    let path: MetadataPath
    let comparison: Comparison
    let dropsMatches: Bool
    let keepsMissing: Bool

    public init(configuration c: Configuration) throws {
        path = try MetadataPath(parsing: c.field, option: "field")
        func scalar(_ v: JSONValue, _ option: String) throws -> JSONValue {
            switch v {
            case .string, .number, .bool: return v
            case .null: throw StageConfigurationError("\(option): null never matches because a null field counts as missing; use exists instead")
            case .array, .object:
                throw StageConfigurationError("\(option) takes a string, number or boolean, not \(v.typeName == "array" ? "a list (use in or not_in)" : "a mapping")")
            }
        }
        func set(_ values: [JSONValue], _ option: String) throws -> ScalarSet {
            guard !values.isEmpty else { throw StageConfigurationError("\(option) needs at least one value") }
            var s = ScalarSet()
            for v in values {
                switch try scalar(v, "each value of \(option)") {
                case .string(let x): s.strings.insert(x)
                case .number(let n): s.numbers.insert(n.doubleValue)
                case .bool(let b): s.bools.insert(b)
                default: break
                }
            }
            return s
        }
        func number(_ x: Double, _ option: String) throws -> Double {
            guard x.isFinite else { throw StageConfigurationError("\(option) must be a finite number, got \(x)") }
            return x
        }
        var found: [(String, Comparison)] = []
        if let v = c.equals { found.append(("equals", .equals(try scalar(v, "equals")))) }
        if let v = c.notEquals { found.append(("not_equals", .notEquals(try scalar(v, "not_equals")))) }
        if let v = c.in { found.append(("in", .oneOf(try set(v, "in")))) }
        if let v = c.notIn { found.append(("not_in", .noneOf(try set(v, "not_in")))) }
        if let v = c.gt { found.append(("gt", .greater(try number(v, "gt")))) }
        if let v = c.gte { found.append(("gte", .greaterOrEqual(try number(v, "gte")))) }
        if let v = c.lt { found.append(("lt", .less(try number(v, "lt")))) }
        if let v = c.lte { found.append(("lte", .lessOrEqual(try number(v, "lte")))) }
        if let v = c.exists { found.append(("exists", .exists(v))) }
        guard found.count == 1 else {
            if found.isEmpty {
                throw StageConfigurationError(
                    "field_filter needs one comparison: equals, not_equals, in, not_in, gt, gte, lt, lte or exists")
            }
            throw StageConfigurationError(
                "field_filter takes exactly one comparison, got \(found.map(\.0).joined(separator: ", ")); use one field_filter stage per comparison")
        }
        comparison = found[0].1
        switch c.action {
        case "keep": dropsMatches = false
        case "drop": dropsMatches = true
        default: throw StageConfigurationError("action: '\(c.action)' is not allowed; use one of keep, drop")
        }
        switch c.missing {
        case "drop": keepsMissing = false
        case "keep": keepsMissing = true
        default: throw StageConfigurationError("missing: '\(c.missing)' is not allowed; use one of drop, keep")
        }
    }

    public func filter(_ document: Document) -> Verdict {
        var value = path.value(in: document.metadata)
        if value == .null { value = nil }
        let matched: Bool
        if case .exists(let wanted) = comparison {
            matched = (value != nil) == wanted
        } else if let value {
            matched = matches(value)
        } else {
            return keepsMissing ? .keep : .drop("field_missing")
        }
        if dropsMatches { return matched ? .drop("field_match") : .keep }
        return matched ? .keep : .drop("field_mismatch")
    }

    func matches(_ value: JSONValue) -> Bool {
        switch comparison {
        case .equals(let expected): scalarsEqual(value, expected)
        case .notEquals(let expected): !scalarsEqual(value, expected)
        case .oneOf(let set): set.contains(value)
        case .noneOf(let set): !set.contains(value)
        case .greater(let x): value.doubleValue.map { $0 > x } ?? false
        case .greaterOrEqual(let x): value.doubleValue.map { $0 >= x } ?? false
        case .less(let x): value.doubleValue.map { $0 < x } ?? false
        case .lessOrEqual(let x): value.doubleValue.map { $0 <= x } ?? false
        case .exists(let wanted): wanted
        }
    }

    private func scalarsEqual(_ a: JSONValue, _ b: JSONValue) -> Bool {
        switch (a, b) {
        case (.string(let x), .string(let y)): x == y
        case (.number(let x), .number(let y)): x.literal == y.literal || x.doubleValue == y.doubleValue
        case (.bool(let x), .bool(let y)): x == y
        default: false
        }
    }
}
