/// One document in Dolma's JSONL schema: `id`, `text`, `source`, `added`, `created` and
/// `metadata`.
///
/// Top-level fields that Sluice does not know are kept as their raw JSON bytes in
/// ``extraFields`` and written back unchanged, so a read–write round trip loses nothing.
public struct Document: Sendable {
    /// A unique identifier. Numeric ids in the input are kept as their literal text.
    public var id: String
    /// The text, UTF-8. Hot paths read it with `text.utf8.withContiguousStorageIfAvailable`.
    public var text: String
    /// Where the document comes from (a dataset or crawl name).
    public var source: String
    /// When the document was added to the corpus, as an ISO-8601 string, if known.
    public var added: String?
    /// When the document was created, as an ISO-8601 string, if known.
    public var created: String?
    /// Typed metadata; stages add their results here (`language`, `quality.*`, …).
    public var metadata: JSONObject
    /// Unknown top-level fields with their raw JSON values, in input order.
    public var extraFields: [RawField]

    public init(
        id: String, text: String, source: String = "", added: String? = nil, created: String? = nil,
        metadata: JSONObject = JSONObject(), extraFields: [RawField] = []
    ) {
        self.id = id
        self.text = text
        self.source = source
        self.added = added
        self.created = created
        self.metadata = metadata
        self.extraFields = extraFields
    }
}

/// A top-level JSON field kept as raw bytes: `"key": <value bytes>`.
public struct RawField: Sendable, Hashable {
    public var key: String
    /// The value's JSON text exactly as read.
    public var rawValue: [UInt8]
    public init(key: String, rawValue: [UInt8]) {
        self.key = key
        self.rawValue = rawValue
    }
}

/// A document a stage dropped, with the stage and reason that dropped it.
public struct RejectedDocument: Sendable {
    public var document: Document
    public var stageID: String
    public var reason: DropReason
    public init(document: Document, stageID: String, reason: DropReason) {
        self.document = document
        self.stageID = stageID
        self.reason = reason
    }
}
