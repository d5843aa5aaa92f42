import Synchronization

/// A union-find over `0..<count` that several threads may update at once.
///
/// Each root links to the smaller of two roots (compare-and-swap on the larger one), so a
/// component's root is always its smallest member, whatever the order of the unions: the
/// result is deterministic. Finds halve paths as they go. Memory: 4 bytes per element, never
/// anything per pair, so duplicate pairs can stream through from files of any size.
final class ConcurrentUnionFind: @unchecked Sendable {
    let count: Int
    private let parent: UnsafeMutablePointer<Atomic<UInt32>>

    init(count: Int) {
        precondition(count < Int(UInt32.max), "union-find over \(count) elements: at most 2^32-1")
        self.count = count
        parent = .allocate(capacity: max(1, count))
        for i in 0..<count { (parent + i).initialize(to: Atomic(UInt32(i))) }
    }

    deinit {
        parent.deinitialize(count: count)
        parent.deallocate()
    }

    @inline(__always) func find(_ x: UInt32) -> UInt32 {
        var x = x
        while true {
            let p = parent[Int(x)].load(ordering: .relaxed)
            if p == x { return x }
            let g = parent[Int(p)].load(ordering: .relaxed)
            if g != p {
                // Path halving: parents only ever decrease, so g is still an ancestor of x.
                _ = parent[Int(x)].compareExchange(expected: p, desired: g, ordering: .relaxed)
            }
            x = g
        }
    }

    /// Joins the sets of `a` and `b`.
    @inline(__always) func union(_ a: UInt32, _ b: UInt32) {
        var ra = find(a)
        var rb = find(b)
        while ra != rb {
            if ra < rb { swap(&ra, &rb) }
            // Link the larger root under the smaller one, if it is still a root.
            if parent[Int(ra)].compareExchange(expected: ra, desired: rb, ordering: .acquiringAndReleasing).exchanged {
                return
            }
            ra = find(ra)
            rb = find(rb)
        }
    }

    /// After all unions: points every element straight at its root, in place, so that
    /// ``root(_:)`` is one load and no second array of roots is needed.
    func flatten(workers: Int) throws {
        let chunk = 1 << 16
        let chunks = (count + chunk - 1) / chunk
        try parallelFor(count: chunks, workers: workers) { c in
            let lo = c * chunk
            let hi = min(self.count, lo + chunk)
            // A concurrent find may halve a path through i, but only towards the same root.
            for i in lo..<hi { self.parent[i].store(self.find(UInt32(i)), ordering: .relaxed) }
        }
    }

    /// The root of `x`; exact once ``flatten(workers:)`` has run.
    @inline(__always) func root(_ x: Int) -> UInt32 { parent[x].load(ordering: .relaxed) }

    /// The root (smallest member) of each element's set, after all unions.
    func roots(workers: Int) throws -> [UInt32] {
        var out = [UInt32](repeating: 0, count: count)
        let chunk = 1 << 16
        let chunks = (count + chunk - 1) / chunk
        try out.withUnsafeMutableBufferPointer { buf in
            let base = UnsafeMutableSendablePointer(buf.baseAddress)
            try parallelFor(count: chunks, workers: workers) { c in
                let lo = c * chunk
                let hi = min(self.count, lo + chunk)
                for i in lo..<hi { base.pointer![i] = self.find(UInt32(i)) }
            }
        }
        return out
    }
}

/// A raw pointer handed to worker threads that write disjoint parts of one buffer.
struct UnsafeMutableSendablePointer<T>: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<T>?
    init(_ p: UnsafeMutablePointer<T>?) { pointer = p }
}
