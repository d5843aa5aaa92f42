import Foundation
import Synchronization

/// A bounded first-in, first-out queue that blocks producers when full and consumers when
/// empty: the back-pressure between the reader, the workers and the writer of a task.
final class BlockingQueue<Element: Sendable>: @unchecked Sendable {
    private let condition = NSCondition()
    /// Pending elements from `head`; popped slots are cleared at once so a consumed batch
    /// is freed immediately rather than when the array is next compacted.
    private var items: [Element?] = []
    private var head = 0
    private var closed = false
    private let capacity: Int

    init(capacity: Int) { self.capacity = max(1, capacity) }

    /// Adds an element, waiting while the queue is full. Returns false when the queue was closed.
    @discardableResult
    func push(_ element: Element) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while items.count - head >= capacity && !closed { condition.wait() }
        if closed { return false }
        items.append(element)
        condition.broadcast()
        return true
    }

    /// The next element, waiting while the queue is empty; nil once closed and drained.
    func pop() -> Element? {
        condition.lock()
        defer { condition.unlock() }
        while head == items.count && !closed { condition.wait() }
        if head == items.count { return nil }
        let e = items[head]!
        items[head] = nil
        head += 1
        if head > 64 && head * 2 > items.count {
            items.removeFirst(head)
            head = 0
        }
        condition.broadcast()
        return e
    }

    /// No more elements will be pushed; consumers drain what is left, then get nil.
    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }
}

/// Runs `body` on a new thread; `join()` waits for it.
final class WorkerThread: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private let thread: Thread

    init(name: String, _ body: @escaping @Sendable () -> Void) {
        let sem = done
        thread = Thread {
            body()
            sem.signal()
        }
        thread.name = name
        thread.stackSize = 8 << 20
        thread.start()
    }

    func join() { done.wait() }
}

/// The first error any thread of a task hit; later ones are ignored.
final class FirstError: @unchecked Sendable {
    private let lock = NSLock()
    private var error: (any Error)?

    func record(_ e: any Error) {
        lock.lock()
        if error == nil { error = e }
        lock.unlock()
    }

    var value: (any Error)? {
        lock.lock()
        defer { lock.unlock() }
        return error
    }
}

/// SIGINT and SIGTERM: the first one asks the run to stop taking input and finish cleanly;
/// a second one ends the process at once.
public enum Interruption {
    private static let flag = Atomic<Int32>(0)

    /// The signal that asked the run to stop, or nil.
    public static var signal: Int32? {
        let v = flag.load(ordering: .relaxed)
        return v == 0 ? nil : v
    }

    public static var requested: Bool { flag.load(ordering: .relaxed) != 0 }

    /// Installs the handlers (idempotent).
    public static func install() {
        let handler: @convention(c) (Int32) -> Void = { sig in
            if Interruption.flag.load(ordering: .relaxed) != 0 {
                _exit(128 + sig)
            }
            Interruption.flag.store(sig, ordering: .relaxed)
        }
        Foundation.signal(SIGINT, handler)
        Foundation.signal(SIGTERM, handler)
        // A parent may have started us with these signals blocked (the mask is inherited):
        // unblock them, so that a stop request is always heard.
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }

    /// For tests: clears a recorded interruption.
    public static func reset() { flag.store(0, ordering: .relaxed) }

    /// For tests: behaves as if `sig` had arrived.
    public static func simulate(_ sig: Int32) { flag.store(sig, ordering: .relaxed) }
}

/// Monotonic time in nanoseconds.
@inline(__always) func monotonicNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}
