#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A label index with fastText's score, `log(p + 1e-5)` as a `Float`.
struct ScoredLabel: Sendable {
    var score: Float
    var label: Int32
}

/// The heap operations of libstdc++ (`push_heap`, `pop_heap`, `sort_heap`) with fastText's
/// comparator (`a.score > b.score`), reproduced step by step so that labels with equal scores
/// come out in the same order as in official fastText.
enum StdHeap {
    @inline(__always)
    static func comp(_ a: ScoredLabel, _ b: ScoredLabel) -> Bool { a.score > b.score }

    @inline(__always)
    static func siftUp(_ h: UnsafeMutablePointer<ScoredLabel>, hole start: Int, top: Int, value: ScoredLabel) {
        var hole = start
        var parent = (hole - 1) / 2
        while hole > top && comp(h[parent], value) {
            h[hole] = h[parent]
            hole = parent
            parent = (hole - 1) / 2
        }
        h[hole] = value
    }

    @inline(__always)
    static func adjust(_ h: UnsafeMutablePointer<ScoredLabel>, hole start: Int, length len: Int, value: ScoredLabel) {
        let top = start
        var hole = start
        var second = start
        while second < (len - 1) / 2 {
            second = 2 * (second + 1)
            if comp(h[second], h[second - 1]) { second -= 1 }
            h[hole] = h[second]
            hole = second
        }
        if len & 1 == 0 && second == (len - 2) / 2 {
            second = 2 * (second + 1)
            h[hole] = h[second - 1]
            hole = second - 1
        }
        siftUp(h, hole: hole, top: top, value: value)
    }

    /// `std::push_heap(h, h + n)`: the new element is `h[n-1]`.
    @inline(__always)
    static func push(_ h: UnsafeMutablePointer<ScoredLabel>, count n: Int) {
        siftUp(h, hole: n - 1, top: 0, value: h[n - 1])
    }

    /// `std::pop_heap(h, h + n)`: moves the front to `h[n-1]`.
    @inline(__always)
    static func pop(_ h: UnsafeMutablePointer<ScoredLabel>, count n: Int) {
        guard n > 1 else { return }
        let value = h[n - 1]
        h[n - 1] = h[0]
        adjust(h, hole: 0, length: n - 1, value: value)
    }

    /// `std::sort_heap(h, h + n)`: best score first.
    static func sort(_ h: UnsafeMutablePointer<ScoredLabel>, count n: Int) {
        var last = n
        while last > 1 {
            last -= 1
            let value = h[last]
            h[last] = h[0]
            adjust(h, hole: 0, length: last, value: value)
        }
    }
}

/// fastText's `std_log`: `log(x + 1e-5)` computed in double, returned as float.
@inline(__always)
func stdLog(_ x: Float) -> Float { Float(log(Double(x) + 1e-5)) }

/// fastText's tables for the sigmoid and the logarithm used in training and binary losses.
enum LossTables {
    static let sigmoidTableSize = 512
    static let maxSigmoid: Float = 8
    static let logTableSize = 512

    /// `T[i] = 1/(1+exp(-x))` for `x = i*16/512 - 8`, computed as fastText does.
    static let sigmoid: [Float] = (0...sigmoidTableSize).map { i in
        let x = Float(i * 2 * 8) / Float(sigmoidTableSize) - maxSigmoid
        return Float(1.0 / (1.0 + Double(expf(-x))))
    }

    static let logTable: [Float] = (0...logTableSize).map { i in
        let x = Float((Double(i) + 1e-5) / Double(logTableSize))
        return logf(x)
    }
}

/// fastText's table sigmoid: 0 below −8, 1 above 8, else a table entry.
@inline(__always)
func tableSigmoid(_ x: Float, _ table: UnsafePointer<Float>) -> Float {
    if x < -8 { return 0 }
    if x > 8 { return 1 }
    let i = Int((x + 8) * 512 / 8 / 2)
    return table[i]
}

/// fastText's table logarithm (used for the training loss).
@inline(__always)
func tableLog(_ x: Float, _ table: UnsafePointer<Float>) -> Float {
    if x > 1 { return 0 }
    return table[Int(x * 512)]
}

/// The Huffman tree of hierarchical softmax, built from the label counts as fastText does.
struct HuffmanTree: Sendable {
    let osz: Int
    let left: [Int32]
    let right: [Int32]
    /// For each label: internal nodes (minus `osz`) from the leaf up to the root.
    let paths: [[Int32]]
    /// For each label: the branch taken at each node of `paths` (true = right).
    let codes: [[Bool]]

    init(counts: [Int64]) {
        let osz = counts.count
        self.osz = osz
        let n = max(2 * osz - 1, 0)
        var parent = [Int32](repeating: -1, count: n)
        var left = [Int32](repeating: -1, count: n)
        var right = [Int32](repeating: -1, count: n)
        var count = [Int64](repeating: 1_000_000_000_000_000, count: n)
        var binary = [Bool](repeating: false, count: n)
        for i in 0..<osz { count[i] = counts[i] }
        var leaf = osz - 1
        var node = osz
        var i = osz
        while i < n {
            var mini = (0, 0)
            for j in 0..<2 {
                let pick: Int
                if leaf >= 0 && count[leaf] < count[node] {
                    pick = leaf
                    leaf -= 1
                } else {
                    pick = node
                    node += 1
                }
                if j == 0 { mini.0 = pick } else { mini.1 = pick }
            }
            left[i] = Int32(mini.0)
            right[i] = Int32(mini.1)
            count[i] = count[mini.0] + count[mini.1]
            parent[mini.0] = Int32(i)
            parent[mini.1] = Int32(i)
            binary[mini.1] = true
            i += 1
        }
        var paths: [[Int32]] = []
        var codes: [[Bool]] = []
        for l in 0..<osz {
            var path: [Int32] = []
            var code: [Bool] = []
            var j = l
            while parent[j] != -1 {
                path.append(parent[j] - Int32(osz))
                code.append(binary[j])
                j = Int(parent[j])
            }
            paths.append(path)
            codes.append(code)
        }
        self.left = left
        self.right = right
        self.paths = paths
        self.codes = codes
    }

    var root: Int { 2 * osz - 2 }
}

/// A small, fast random generator (xoshiro256**), seeded deterministically.
struct FastRandom {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    init(seed: UInt64) {
        var z = seed &+ 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 {
            z = z &+ 0x9E37_79B9_7F4A_7C15
            var x = z
            x = (x ^ (x >> 30)) &* 0xBF58_476D_1CE4_E5B9
            x = (x ^ (x >> 27)) &* 0x94D0_49BB_1331_11EB
            return x ^ (x >> 31)
        }
        s0 = next()
        s1 = next()
        s2 = next()
        s3 = next()
    }

    @inline(__always)
    mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = (s3 << 45) | (s3 >> 19)
        return result
    }

    /// Uniform in `0..<n` (n > 0).
    @inline(__always)
    mutating func below(_ n: Int) -> Int {
        Int(truncatingIfNeeded: (UInt64(truncatingIfNeeded: n).multipliedFullWidth(by: next())).high)
    }

    /// Uniform in [0, 1).
    @inline(__always)
    mutating func unit() -> Double { Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0) }
}
