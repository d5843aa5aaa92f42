import SluiceCore

/// Sets fixed metadata fields on every document, for example to tag a source or a processing
/// version. Never drops.
///
/// YAML type `add_metadata`. Options:
///
/// - `fields` (required): a mapping from a dotted metadata path (`dataset`,
///   `provenance.pipeline`; a leading `metadata.` is optional) to any YAML value: string,
///   number, boolean, null, list or mapping. Intermediate objects are created as needed. A
///   mapping value replaces the whole value at its path; use dotted paths to set single nested
///   keys and leave their siblings alone. Fields are applied in the order written.
/// - `overwrite` (default `true`): when `false`, a field that already has a non-null value is
///   left alone, and so is a non-object value on the way to a nested path. When `true`, both
///   are replaced.
///
/// ```yaml
/// - type: add_metadata
///   fields:
///     dataset: cc-2024-10
///     provenance.pipeline: sluice
///     provenance.version: 2
///   overwrite: false
/// ```
public struct AddMetadata: MapperStage {
    public struct Configuration: Decodable, Sendable {
        /// The fields as written, in order: dotted path and value.
        public var fields: JSONObject
        public var overwrite: Bool

        enum CodingKeys: String, CodingKey {
            case fields, overwrite
        }

        public init(fields: JSONObject, overwrite: Bool = true) {
            self.fields = fields
            self.overwrite = overwrite
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let fields = try c.decodeIfPresent(JSONValue.self, forKey: .fields)
            overwrite = try c.decodeIfPresent(Bool.self, forKey: .overwrite) ?? true
            switch fields {
            case .object(let o)?: self.fields = o
            case nil: throw StageConfigurationError("add_metadata needs fields: a mapping from metadata path to value")
            case let v?: throw StageConfigurationError("fields must be a mapping from metadata path to value, not a \(v.typeName)")
            }
        }
    }

    public static let type = "add_metadata"
    public static let summary = "Sets fixed metadata fields on every document."
    public static let options: [StageOption] = [
        StageOption("fields", "{path: value}", help: "Metadata to set: dotted paths (such as provenance.pipeline) mapped to any value."),
        StageOption("overwrite", "bool", default: "true", help: "Replace values that are already set; false leaves existing non-null values alone."),
    ]

    let fields: [(path: MetadataPath, value: JSONValue)]
    let overwrite: Bool

    public init(configuration: Configuration) throws {
        guard !configuration.fields.isEmpty else {
            throw StageConfigurationError("fields is empty; add_metadata needs at least one path and value")
        }
        fields = try configuration.fields.map { (try MetadataPath(parsing: $0.key, option: "fields"), $0.value) }
        overwrite = configuration.overwrite
    }

    public func map(_ document: inout Document) -> Verdict {
        for field in fields {
            field.path.set(field.value, in: &document.metadata, overwrite: overwrite)
        }
        return .keep
    }
}
