import SluiceCore
import Synchronization

/// fastText models loaded by this process, by path: every stage and worker that names the same
/// file shares one read-only ``FastTextModel`` (see ``FileModelCache``).
public enum FastTextModelCache {
    /// The process-wide cache.
    public static let shared = FileModelCache<FastTextModel>(what: "model file") { try FastTextModel(contentsOf: $0) }
}

/// Per-worker prediction buffers handed out to concurrent batches and taken back, so steady
/// state allocates nothing.
final class ScratchPool: Sendable {
    private let free = Mutex<[FastTextScratch]>([])

    init() {}

    func take() -> FastTextScratch {
        free.withLock { $0.popLast() } ?? FastTextScratch()
    }

    func give(_ s: consuming FastTextScratch) {
        let s = s
        free.withLock { $0.append(s) }
    }

    /// Runs `body` with a scratch from the pool.
    func with<R>(_ body: (inout FastTextScratch) throws -> R) rethrows -> R {
        var s = take()
        defer { give(s) }
        return try body(&s)
    }
}
