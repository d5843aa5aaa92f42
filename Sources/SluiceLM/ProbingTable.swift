/// One n-gram in a probing table: the 64-bit key, the log10 probability and the log10 back-off.
///
/// As in KenLM, two facts ride in the sign bits, because every stored value is otherwise
/// known to be `<= 0`:
/// - `prob` is stored with its sign bit CLEAR when a longer n-gram ends with this one (it
///   "extends left"), SET when none does (the lookup can stop here). The probability is always
///   `-|prob|`.
/// - `backoff` is `-0.0` when no longer n-gram has this one as its context ("no extension"),
///   so the scoring state can forget it; `+0.0` is a zero back-off of a real context.
@usableFromInline
struct LMEntry {
    @usableFromInline var key: UInt64
    @usableFromInline var prob: Float
    @usableFromInline var backoff: Float

    @inlinable init(key: UInt64, prob: Float, backoff: Float) {
        self.key = key
        self.prob = prob
        self.backoff = backoff
    }
}

@usableFromInline let signBit: UInt32 = 0x8000_0000

extension Float {
    /// The probability encoded in a stored value: `-|x|`.
    @inlinable @inline(__always)
    var lmProbability: Float { Float(bitPattern: bitPattern | signBit) }
    /// Whether a stored probability says a longer n-gram ends with this one.
    @inlinable @inline(__always)
    var lmExtendsLeft: Bool { bitPattern & signBit == 0 }
    /// Whether a stored back-off belongs to a context of some longer n-gram.
    @inlinable @inline(__always)
    var lmHasExtension: Bool { bitPattern != signBit }
    /// `-0.0`: the back-off of an n-gram that is no context.
    static let lmNoExtension = Float(bitPattern: signBit)
}

/// An open-addressing hash table (linear probing) of ``LMEntry`` keyed by 64-bit n-gram keys.
/// Key 0 marks an empty slot; keys are never 0 (see ``LMHash``).
@usableFromInline
struct ProbingTable {
    @usableFromInline var base: UnsafeMutablePointer<LMEntry>
    @usableFromInline var capacity: Int
    var count = 0

    /// Room for `expected` entries at a load of at most 2/3 (KenLM's probing multiplier 1.5).
    init(expected: Int) {
        capacity = max(8, expected + expected / 2 + 1)
        base = .allocate(capacity: capacity)
        base.initialize(repeating: LMEntry(key: 0, prob: 0, backoff: 0), count: capacity)
    }

    func deallocate() { base.deallocate() }

    var memoryBytes: Int { capacity * MemoryLayout<LMEntry>.stride }

    /// The slot holding `key`, or -1.
    @inlinable @inline(__always)
    func find(_ key: UInt64) -> Int {
        var i = LMHash.slot(key, capacity)
        while true {
            let k = base[i].key
            if k == key { return i }
            if k == 0 { return -1 }
            i += 1
            if i == capacity { i = 0 }
        }
    }

    /// Inserts `entry` unless its key is present; returns the slot and whether it was inserted.
    mutating func insert(_ entry: LMEntry) -> (slot: Int, inserted: Bool) {
        if (count + 1) * 10 > capacity * 9 { grow() }
        var i = LMHash.slot(entry.key, capacity)
        while true {
            let k = base[i].key
            if k == entry.key { return (i, false) }
            if k == 0 {
                base[i] = entry
                count += 1
                return (i, true)
            }
            i += 1
            if i == capacity { i = 0 }
        }
    }

    private mutating func grow() {
        let old = base
        let oldCapacity = capacity
        capacity = oldCapacity * 2
        base = .allocate(capacity: capacity)
        base.initialize(repeating: LMEntry(key: 0, prob: 0, backoff: 0), count: capacity)
        for j in 0..<oldCapacity where old[j].key != 0 {
            var i = LMHash.slot(old[j].key, capacity)
            while base[i].key != 0 {
                i += 1
                if i == capacity { i = 0 }
            }
            base[i] = old[j]
        }
        old.deallocate()
    }
}
