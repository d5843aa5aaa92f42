import SluiceCore

/// Approximate counts of the most frequent values of a categorical field (languages, domains,
/// content types, sources) in bounded memory, mergeable across shards: the Space-Saving
/// algorithm (Metwally, Agrawal and El Abbadi, 2005) with the parallel merge of Cafaro,
/// Pulimeno and Tempesta (2016).
///
/// The sketch keeps at most ``capacity`` values. While a field has no more distinct values
/// than that, every count is exact (``isExact``). After that, a new value replaces the value
/// with the smallest count and inherits that count as its ``Entry/error``. The guarantees,
/// for `N` = ``total`` documents counted:
///
/// - every kept count is an upper bound: `count - error ≤ true count ≤ count`;
/// - `error ≤ N / capacity`, so any value that holds more than `N / capacity` documents is
///   always kept (with `capacity` 64, every value above 1.6% of the documents);
/// - a value that is not kept has a true count of at most ``minimumCount``.
///
/// The byte, character and word sums of an entry follow the same rule as its count: exact
/// when `error == 0`, otherwise upper bounds that may include documents of evicted values.
///
/// Merging two sketches adds the counts of common values; a value missing from a full sketch
/// is given that sketch's smallest count (as count and as error), and the merged sketch keeps
/// the `capacity` largest. The guarantees above hold for the merged sketch with `N` the sum.
/// Ties are broken by value, so the result does not depend on dictionary order.
public struct TopKSketch: Sendable, Equatable {
    /// One tracked value.
    public struct Entry: Sendable, Equatable {
        public var value: String
        /// Documents with this value (an upper bound; exact when `error == 0`).
        public var count: Int
        /// How much `count` may exceed the true count.
        public var error: Int
        /// JSONL bytes, characters and words of those documents.
        public var bytes: Int
        public var characters: Int
        public var words: Int

        public init(value: String, count: Int, error: Int = 0, bytes: Int = 0, characters: Int = 0, words: Int = 0) {
            self.value = value
            self.count = count
            self.error = error
            self.bytes = bytes
            self.characters = characters
            self.words = words
        }
    }

    /// The default number of values kept.
    public static let defaultCapacity = 64

    /// The most values kept.
    public let capacity: Int
    /// Documents counted (with any value).
    public private(set) var total: Int = 0
    /// Whether no value was ever evicted, so every count is exact.
    public private(set) var isExact: Bool = true
    private var entries: [Entry] = []
    private var index: [String: Int] = [:]
    /// The entry of the last value added (consecutive documents often share a value).
    private var lastValue: String?
    private var lastEntry = 0

    public init(capacity: Int = TopKSketch.defaultCapacity) {
        precondition(capacity > 0, "a top-k sketch needs a capacity of at least 1")
        self.capacity = capacity
    }

    /// Rebuilds a sketch from stored entries (for reading stats files).
    public init(capacity: Int, total: Int, isExact: Bool, entries: [Entry]) {
        self.init(capacity: max(1, capacity))
        self.total = total
        self.isExact = isExact
        // Stored sketches list their entries in rank order already; sort only when not.
        var ordered = true
        for i in entries.indices.dropFirst() where Self.ranks(entries[i], entries[i - 1]) {
            ordered = false
            break
        }
        for e in (ordered ? entries : entries.sorted(by: Self.ranks)).prefix(self.capacity) where index[e.value] == nil {
            index[e.value] = self.entries.count
            self.entries.append(e)
        }
    }

    public static func == (a: TopKSketch, b: TopKSketch) -> Bool {
        a.capacity == b.capacity && a.total == b.total && a.isExact == b.isExact && a.top() == b.top()
    }

    /// The number of values kept.
    public var count: Int { entries.count }

    /// The smallest kept count when the sketch is full (an upper bound on the count of any
    /// value not kept), else 0.
    public var minimumCount: Int {
        entries.count < capacity ? 0 : (entries.lazy.map(\.count).min() ?? 0)
    }

    /// The largest error of any kept count.
    public var maximumError: Int { entries.lazy.map(\.error).max() ?? 0 }

    /// Counts one document with `value`.
    public mutating func add(_ value: String, bytes: Int = 0, characters: Int = 0, words: Int = 0) {
        total += 1
        if let last = lastValue, last == value {
            entries[lastEntry].count += 1
            entries[lastEntry].bytes += bytes
            entries[lastEntry].characters += characters
            entries[lastEntry].words += words
            return
        }
        if let i = index[value] {
            lastValue = value
            lastEntry = i
            entries[i].count += 1
            entries[i].bytes += bytes
            entries[i].characters += characters
            entries[i].words += words
            return
        }
        if entries.count < capacity {
            index[value] = entries.count
            lastValue = value
            lastEntry = entries.count
            entries.append(Entry(value: value, count: 1, bytes: bytes, characters: characters, words: words))
            return
        }
        // Replace the value with the smallest count (the first such in storage order).
        var m = 0
        for i in 1..<entries.count where entries[i].count < entries[m].count { m = i }
        let old = entries[m]
        index[old.value] = nil
        index[value] = m
        entries[m] = Entry(
            value: value, count: old.count + 1, error: old.count, bytes: old.bytes + bytes,
            characters: old.characters + characters, words: old.words + words)
        lastValue = value
        lastEntry = m
        isExact = false
    }

    /// Adds another sketch's counts (see the type's documentation for the guarantees).
    public mutating func merge(_ other: TopKSketch) {
        guard other.total > 0 else { return }
        if total == 0 && capacity == other.capacity {
            self = other
            return
        }
        let mineFloor = entries.count < capacity ? 0 : minimumCount
        let theirFloor = other.entries.count < other.capacity ? 0 : other.minimumCount
        var combined: [String: Entry] = [:]
        combined.reserveCapacity(entries.count + other.entries.count)
        for e in entries {
            var c = e
            if other.index[e.value] == nil {
                c.count += theirFloor
                c.error += theirFloor
            }
            combined[e.value] = c
        }
        for e in other.entries {
            if var c = combined[e.value] {
                c.count += e.count
                c.error += e.error
                c.bytes += e.bytes
                c.characters += e.characters
                c.words += e.words
                combined[e.value] = c
            } else {
                var c = e
                c.count += mineFloor
                c.error += mineFloor
                combined[e.value] = c
            }
        }
        let kept = combined.values.sorted(by: Self.ranks)
        isExact = isExact && other.isExact && kept.count <= capacity
        total += other.total
        entries = Array(kept.prefix(capacity))
        lastValue = nil
        index = [:]
        for (i, e) in entries.enumerated() { index[e.value] = i }
    }

    /// The merge of many sketches at once: the same guarantees as merging them one by one,
    /// with less work and no loss in between (a value is dropped only at the end). For each
    /// value, every sketch that lacks it while full adds its smallest count as count and error.
    public static func merged(_ sketches: [TopKSketch], capacity: Int) -> TopKSketch {
        var result = TopKSketch(capacity: capacity)
        var floorSum = 0
        var combined: [String: (entry: Entry, floorPresent: Int)] = [:]
        for s in sketches where s.total > 0 {
            result.total += s.total
            result.isExact = result.isExact && s.isExact
            let floor = s.entries.count < s.capacity ? 0 : s.minimumCount
            floorSum += floor
            for e in s.entries {
                if var c = combined[e.value] {
                    c.entry.count += e.count
                    c.entry.error += e.error
                    c.entry.bytes += e.bytes
                    c.entry.characters += e.characters
                    c.entry.words += e.words
                    c.floorPresent += floor
                    combined[e.value] = c
                } else {
                    combined[e.value] = (e, floor)
                }
            }
        }
        var all: [Entry] = []
        all.reserveCapacity(combined.count)
        for (_, c) in combined {
            var e = c.entry
            let absent = floorSum - c.floorPresent
            e.count += absent
            e.error += absent
            all.append(e)
        }
        if all.count > capacity { result.isExact = false }
        // Rank by count first on plain integers, then settle ties by value.
        let order = all.indices.sorted { all[$0].count != all[$1].count ? all[$0].count > all[$1].count : all[$0].value < all[$1].value }
        for i in order.prefix(capacity) {
            result.index[all[i].value] = result.entries.count
            result.entries.append(all[i])
        }
        return result
    }

    /// The kept values, largest count first (ties by value), at most `limit` of them.
    public func top(_ limit: Int = .max) -> [Entry] {
        Array(entries.sorted(by: Self.ranks).prefix(limit))
    }

    /// The entry for `value`, if kept.
    public func entry(for value: String) -> Entry? { index[value].map { entries[$0] } }

    static func ranks(_ a: Entry, _ b: Entry) -> Bool {
        a.count != b.count ? a.count > b.count : a.value < b.value
    }
}
