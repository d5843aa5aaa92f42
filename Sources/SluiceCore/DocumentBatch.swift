/// The unit that stages exchange: a run of consecutive documents (about a thousand, or a few
/// MB) from one task's input, in input order.
public struct DocumentBatch: Sendable {
    /// The batch's position in its task's input; output is written in this order.
    public var sequence: Int
    /// The documents still alive, in input order.
    public var documents: [Document]
    /// Documents dropped so far, with stage and reason; filled only when ``keepsRejected``.
    public private(set) var rejected: [RejectedDocument] = []
    /// Whether dropped documents are kept for the rejected output.
    public var keepsRejected: Bool
    /// Drops per reason by the stage now running; the runtime reads and clears it.
    public private(set) var dropCounts: [DropReason: Int] = [:]
    /// The id of the stage now running; the runtime sets it.
    public var currentStageID: String = ""

    public init(sequence: Int, documents: [Document], keepsRejected: Bool = false) {
        self.sequence = sequence
        self.documents = documents
        self.keepsRejected = keepsRejected
    }

    public var count: Int { documents.count }

    /// Runs `body` on every document in order, keeping those it keeps and dropping the rest
    /// with their reason. This is the one loop every filter and mapper goes through.
    public mutating func retain(_ body: (inout Document) throws -> Verdict) rethrows {
        var write = 0
        for read in documents.indices {
            var doc = documents[read]
            switch try body(&doc) {
            case .keep:
                documents[write] = doc
                write += 1
            case .drop(let reason):
                drop(doc, reason: reason)
            }
        }
        documents.removeSubrange(write...)
    }

    /// Records a dropped document (for stages that build their own output list).
    public mutating func drop(_ document: Document, reason: DropReason) {
        dropCounts[reason, default: 0] += 1
        if keepsRejected {
            rejected.append(RejectedDocument(document: document, stageID: currentStageID, reason: reason))
        }
    }

    /// Hands the drop counts to the runtime and clears them.
    public mutating func takeDropCounts() -> [DropReason: Int] {
        defer { dropCounts.removeAll(keepingCapacity: true) }
        return dropCounts
    }

    /// Hands the rejected documents to the writer and clears them.
    public mutating func takeRejected() -> [RejectedDocument] {
        defer { rejected = [] }
        return rejected
    }
}
