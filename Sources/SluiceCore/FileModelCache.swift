#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Read-only models loaded by this process, by file path: every stage and worker that names the
/// same file shares one instance instead of holding a copy each (the peers copy models into
/// every worker).
///
/// An entry is reused while the file keeps its size and modification time; a changed file is
/// read again. Loading happens under the cache's lock, so concurrent callers wait for one load
/// rather than reading the file twice.
public final class FileModelCache<Model: Sendable>: Sendable {
    private struct Key: Hashable {
        let path: String
        let size: Int64
        let mtimeSeconds: Int
        let mtimeNanos: Int
    }

    private let what: String
    private let load: @Sendable (String) throws -> Model
    private let models = Mutex<[Key: Model]>([:])

    /// - Parameters:
    ///   - what: how errors name the file ("model file", "language model").
    ///   - load: reads a model from a path.
    public init(what: String, load: @escaping @Sendable (String) throws -> Model) {
        self.what = what
        self.load = load
    }

    /// The model at `path`, loaded on first use.
    public func model(at path: String) throws -> Model {
        var st = stat()
        guard stat(path, &st) == 0 else {
            throw FileModelCacheError(description: "cannot open \(what) \(path): \(String(cString: strerror(errno)))")
        }
        #if canImport(Darwin)
        let key = Key(path: path, size: Int64(st.st_size), mtimeSeconds: Int(st.st_mtimespec.tv_sec), mtimeNanos: Int(st.st_mtimespec.tv_nsec))
        #else
        let key = Key(path: path, size: Int64(st.st_size), mtimeSeconds: Int(st.st_mtim.tv_sec), mtimeNanos: Int(st.st_mtim.tv_nsec))
        #endif
        return try models.withLock { cache in
            if let m = cache[key] { return m }
            let m = try load(path)
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

/// A model file that cannot be opened; the message names the file and the reason.
public struct FileModelCacheError: Error, CustomStringConvertible, Sendable {
    public let description: String
}
