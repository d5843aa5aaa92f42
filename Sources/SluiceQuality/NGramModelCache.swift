import SluiceCore
import SluiceLM

/// n-gram language models loaded by this process, by path: every `quality_score` stage and
/// worker that names the same ARPA file shares one read-only ``NGramModel`` (see
/// ``FileModelCache``: a file that changes size or modification time is read again).
public enum NGramModelCache {
    /// The process-wide cache.
    public static let shared = FileModelCache<NGramModel>(what: "language model") { try NGramModel(contentsOf: $0) }
}
