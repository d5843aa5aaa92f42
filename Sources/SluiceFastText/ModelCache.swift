#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Models loaded by this process, by path: every stage and worker that names the same file
/// shares one read-only ``FastTextModel`` instead of holding a copy each.
///
/// An entry is reused while the file keeps its size and modification time; a changed file is
/// read again.
public final class FastTextModelCache: Sendable {
    /// The process-wide cache.
    public static let shared = FastTextModelCache()

    private struct Key: Hashable {
        let path: String
        let size: Int64
        let mtimeSeconds: Int
        let mtimeNanos: Int
    }

    private let models = Mutex<[Key: FastTextModel]>([:])

    public init() {}

    /// The model at `path`, loaded on first use. Loading happens under the cache's lock, so
    /// concurrent callers wait for one load rather than reading the file twice.
    public func model(at path: String) throws -> FastTextModel {
        var st = stat()
        guard stat(path, &st) == 0 else {
            throw FastTextError("cannot open model file \(path): \(errnoText())")
        }
        #if canImport(Darwin)
        let key = Key(path: path, size: Int64(st.st_size), mtimeSeconds: Int(st.st_mtimespec.tv_sec), mtimeNanos: Int(st.st_mtimespec.tv_nsec))
        #else
        let key = Key(path: path, size: Int64(st.st_size), mtimeSeconds: Int(st.st_mtim.tv_sec), mtimeNanos: Int(st.st_mtim.tv_nsec))
        #endif
        return try models.withLock { cache in
            if let m = cache[key] { return m }
            let m = try FastTextModel(contentsOf: path)
            cache = cache.filter { $0.key.path != path }
            cache[key] = m
            return m
        }
    }

    /// Forgets every model (they stay alive while something still uses them).
    public func removeAll() {
        models.withLock { $0.removeAll() }
    }

    /// How many models are cached.
    public var count: Int { models.withLock { $0.count } }
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
