/// Task indices in Slurm's array notation: `0-7`, `3,5,7-9`.
public enum SlurmIndexList {
    /// Sorted, distinct indices as ranges: `[0,1,2,3,5,7,8,9]` → `0-3,5,7-9`.
    public static func render(_ indices: [Int]) -> String {
        let sorted = Array(Set(indices)).sorted()
        var parts: [String] = []
        var i = 0
        while i < sorted.count {
            var j = i
            while j + 1 < sorted.count && sorted[j + 1] == sorted[j] + 1 { j += 1 }
            parts.append(i == j ? String(sorted[i]) : "\(sorted[i])-\(sorted[j])")
            i = j + 1
        }
        return parts.joined(separator: ",")
    }

    /// The indices of `0-3,5,7-9` (also `1-9:2` steps and a trailing `%N` throttle, ignored).
    ///
    /// - Throws: ``OutputError`` for text that is not an index list.
    public static func parse(_ text: String) throws -> [Int] {
        var body = Substring(text)
        if let percent = body.firstIndex(of: "%") { body = body[..<percent] }
        if body.isEmpty { return [] }
        var out: [Int] = []
        for part in body.split(separator: ",", omittingEmptySubsequences: false) {
            var range = part
            var step = 1
            if let colon = part.firstIndex(of: ":") {
                guard let s = Int(part[part.index(after: colon)...]), s > 0 else { throw bad(text) }
                step = s
                range = part[..<colon]
            }
            let ends = range.split(separator: "-", omittingEmptySubsequences: false)
            guard (1...2).contains(ends.count), let a = Int(ends[0]), a >= 0 else { throw bad(text) }
            let b = ends.count == 2 ? Int(ends[1]) : a
            guard let b, b >= a else { throw bad(text) }
            out.append(contentsOf: stride(from: a, through: b, by: step))
        }
        return out
    }

    private static func bad(_ text: String) -> OutputError {
        OutputError("'\(text)' is not a Slurm index list (like 0-7 or 3,5,7-9)")
    }
}

/// One array job's worth of tasks: Slurm indices stay below `MaxArraySize`, so task `t` runs
/// as index `t - offset` of the array whose tasks start at `offset`.
public struct SlurmArrayChunk: Sendable, Equatable {
    /// Added to `SLURM_ARRAY_TASK_ID` to get the task index.
    public var offset: Int
    /// The task indices (not the array indices), sorted.
    public var tasks: [Int]

    public init(offset: Int, tasks: [Int]) {
        self.offset = offset
        self.tasks = tasks
    }

    /// The array indices, for `--array=`.
    public var indices: [Int] { tasks.map { $0 - offset } }

    /// The `--array` value: the index list, with `%limit` when there is a limit.
    public func arraySpec(limit: Int?) -> String {
        SlurmIndexList.render(indices) + (limit.map { "%\($0)" } ?? "")
    }

    /// Splits tasks into arrays whose indices are all below `maxArraySize` (Slurm's
    /// `MaxArraySize`; indices run from 0 to `MaxArraySize - 1`): tasks `[k·M, (k+1)·M)` form
    /// array `k`, with offset `k·M`.
    public static func split(tasks: [Int], maxArraySize: Int) -> [SlurmArrayChunk] {
        let m = max(1, maxArraySize)
        var chunks: [SlurmArrayChunk] = []
        for t in Array(Set(tasks)).sorted() {
            let offset = (t / m) * m
            if chunks.last?.offset == offset {
                chunks[chunks.count - 1].tasks.append(t)
            } else {
                chunks.append(SlurmArrayChunk(offset: offset, tasks: [t]))
            }
        }
        return chunks
    }
}
