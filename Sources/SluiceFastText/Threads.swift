#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Raw pointers handed to training threads. The threads write through them at the same time
/// without locks on purpose: that is Hogwild, the way fastText trains.
struct SharedPointer<T>: @unchecked Sendable {
    let p: UnsafeMutablePointer<T>
    init(_ p: UnsafeMutablePointer<T>) { self.p = p }
}

private final class ThreadStart: @unchecked Sendable {
    let body: () -> Void
    init(_ body: @escaping () -> Void) { self.body = body }
}

/// An OS thread running `body`; ``join()`` waits for it.
struct OSThread: ~Copyable {
    #if canImport(Darwin)
    private var handle: pthread_t?
    #else
    private var handle = pthread_t()
    #endif

    init(_ body: @escaping @Sendable () -> Void) throws {
        let start = Unmanaged.passRetained(ThreadStart(body)).toOpaque()
        #if canImport(Darwin)
        let rc = pthread_create(&handle, nil, { arg in
            Unmanaged<ThreadStart>.fromOpaque(arg).takeRetainedValue().body()
            return nil
        }, start)
        #else
        let rc = pthread_create(&handle, nil, { arg in
            Unmanaged<ThreadStart>.fromOpaque(arg!).takeRetainedValue().body()
            return nil
        }, start)
        #endif
        if rc != 0 {
            Unmanaged<ThreadStart>.fromOpaque(start).release()
            throw FastTextError("cannot start a training thread: \(errnoText(rc))")
        }
    }

    consuming func join() {
        #if canImport(Darwin)
        if let handle { pthread_join(handle, nil) }
        #else
        pthread_join(handle, nil)
        #endif
    }
}

/// Runs `body(i)` for i in 0..<n on n threads and waits for all of them; `monitor` runs on the
/// calling thread every 100 ms meanwhile and stops when it returns false.
func runThreads(_ n: Int, monitor: () -> Bool, _ body: @escaping @Sendable (Int) -> Void) throws {
    var threads: [OSThreadBox] = []
    for i in 0..<n {
        threads.append(OSThreadBox(try OSThread { body(i) }))
    }
    while monitor() {
        usleep(100_000)
    }
    for t in threads { t.join() }
}

/// A class box so threads can sit in an array.
private final class OSThreadBox {
    private var thread: OSThread?
    init(_ t: consuming OSThread) { thread = consume t }
    func join() {
        if let t = thread.take() { t.join() }
    }
}

/// Seconds on a monotonic clock.
func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// A read-only memory map of a whole file.
final class MappedFile: @unchecked Sendable {
    let base: UnsafePointer<UInt8>
    let count: Int
    private let mapped: UnsafeMutableRawPointer?

    init(path: String) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw FastTextError("\(path) cannot be opened: \(errnoText())") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw FastTextError("cannot stat \(path): \(errnoText())") }
        if (st.st_mode & S_IFMT) == S_IFDIR { throw FastTextError("\(path) is a directory, not a text file") }
        count = Int(st.st_size)
        if count == 0 {
            mapped = nil
            base = UnsafePointer(emptyTextByte.base)
            return
        }
        let m = mmap(nil, count, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let m, m != MAP_FAILED else { throw FastTextError("cannot map \(path) into memory: \(errnoText())") }
        mapped = m
        base = UnsafePointer(m.assumingMemoryBound(to: UInt8.self))
    }

    deinit {
        if let mapped { munmap(mapped, count) }
    }
}
