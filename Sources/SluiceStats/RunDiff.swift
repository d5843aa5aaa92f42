import SluiceCore
import SluiceIO

/// What changed between two runs, for tuning thresholds: the pipeline files, the totals, each
/// stage and drop reason (counts and shares of the stage's input), the length and metadata
/// distributions (quantiles), and the shares of the top languages, sources, domains and
/// content types.
public struct RunDiff: Sendable {
    public let a: RunStatistics
    public let b: RunStatistics

    public init(_ a: RunStatistics, _ b: RunStatistics) {
        self.a = a
        self.b = b
    }

    /// Stage ids in A's order, then those only B has.
    public var stageIDs: [String] {
        var ids = a.stages.map(\.id)
        for s in b.stages where !ids.contains(s.id) { ids.append(s.id) }
        return ids
    }

    func stage(_ id: String, in r: RunStatistics) -> StageStats? { r.stages.first { $0.id == id }?.stats }

    /// The reasons of a stage in either run, most drops first.
    func reasons(of id: String) -> [String] {
        var counts: [String: Int] = [:]
        for r in [a, b] { for (k, v) in stage(id, in: r)?.dropped ?? [:] { counts[k, default: 0] += v } }
        return counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map(\.key)
    }

    /// Numeric fields in either run: the length measures, then metadata paths.
    var distributionNames: [String] {
        var names = ["characters", "words", "lines"]
        var meta = Set(a.combined.metadata.keys)
        meta.formUnion(b.combined.metadata.keys)
        names += meta.sorted().map { "metadata." + $0 }
        return names
    }

    func histogram(_ name: String, in r: RunStatistics) -> LogHistogram? {
        switch name {
        case "characters": return r.combined.characterHistogram
        case "words": return r.combined.wordHistogram
        case "lines": return r.combined.lineHistogram
        default: return r.combined.metadata[String(name.dropFirst("metadata.".count))]
        }
    }

    // MARK: Text

    public func renderText(categoryRows: Int = 8) -> String {
        var out = "A: \(a.root)\nB: \(b.root)\n"
        if let pa = a.pipelineText, let pb = b.pipelineText, pa != pb {
            out += "\npipeline changes (- A, + B):\n"
            for line in lineDiff(pa, pb) { out += "  " + line + "\n" }
        }
        // Totals.
        var rows: [[String]] = [["", "A", "B", "change"]]
        func add(_ name: String, _ x: Int?, _ y: Int?, bytes: Bool = false) {
            let fx = x.map { bytes ? formatBytes($0) : formatCount($0) } ?? "-"
            let fy = y.map { bytes ? formatBytes($0) : formatCount($0) } ?? "-"
            rows.append([name, fx, fy, change(x.map(Double.init), y.map(Double.init))])
        }
        add("documents in", a.documentsIn, b.documentsIn)
        add("documents out", a.documents, b.documents)
        add("kept %", nil, nil)
        rows[rows.count - 1] = ["kept %", keptShare(a), keptShare(b), ppChange(keptFraction(a), keptFraction(b))]
        add("JSONL bytes", a.bytes, b.bytes, bytes: true)
        add("compressed", a.compressedBytes, b.compressedBytes, bytes: true)
        add("words", a.combined.words, b.combined.words)
        add("shards", a.shards.count, b.shards.count)
        out += "\n" + renderTextTable(rows, rightAligned: [1, 2, 3])

        // Funnel.
        var f: [[String]] = [["stage / reason", "A dropped", "A % of stage", "B dropped", "B % of stage", "change"]]
        for id in stageIDs {
            let sa = stage(id, in: a)
            let sb = stage(id, in: b)
            f.append([
                id + (sa == nil ? " (only in B)" : sb == nil ? " (only in A)" : ""),
                sa.map { formatCount($0.droppedTotal) } ?? "-", sa.map { formatPercent(Double($0.droppedTotal), of: Double($0.received)) } ?? "-",
                sb.map { formatCount($0.droppedTotal) } ?? "-", sb.map { formatPercent(Double($0.droppedTotal), of: Double($0.received)) } ?? "-",
                ppChange(sa.flatMap { share($0.droppedTotal, $0.received) }, sb.flatMap { share($0.droppedTotal, $0.received) }),
            ])
            for r in reasons(of: id) {
                let na = sa?.dropped[r] ?? 0
                let nb = sb?.dropped[r] ?? 0
                f.append([
                    "  " + r, sa == nil ? "-" : formatCount(na), sa.map { formatPercent(Double(na), of: Double($0.received)) } ?? "-",
                    sb == nil ? "-" : formatCount(nb), sb.map { formatPercent(Double(nb), of: Double($0.received)) } ?? "-",
                    ppChange(sa.flatMap { share(na, $0.received) }, sb.flatMap { share(nb, $0.received) }),
                ])
            }
        }
        out += "\nfunnel (drops as a share of what reached the stage)\n" + renderTextTable(f, rightAligned: [1, 2, 3, 4, 5])

        // Distributions.
        var d: [[String]] = [["field", "A p10", "B p10", "A median", "B median", "A p90", "B p90", "A mean", "B mean", "A count", "B count"]]
        for name in distributionNames {
            let ha = histogram(name, in: a)
            let hb = histogram(name, in: b)
            func q(_ h: LogHistogram?, _ p: Double) -> String {
                guard let h, h.total > 0, let v = h.quantile(p) else { return "-" }
                return formatStatistic(v, of: h)
            }
            func m(_ h: LogHistogram?) -> String { h.map { $0.total > 0 ? formatStatistic($0.mean, of: $0) : "-" } ?? "-" }
            d.append([name, q(ha, 0.1), q(hb, 0.1), q(ha, 0.5), q(hb, 0.5), q(ha, 0.9), q(hb, 0.9), m(ha), m(hb),
                      ha.map { formatCount($0.total) } ?? "-", hb.map { formatCount($0.total) } ?? "-"])
        }
        out += "\ndistributions of the kept documents\n" + renderTextTable(d, rightAligned: Set(1...10))

        // Categories.
        for field in CategoryField.allCases {
            let ba = a.breakdown(field)
            let bb = b.breakdown(field)
            guard ba.documentsWithValue > 0 || bb.documentsWithValue > 0 else { continue }
            var c: [[String]] = [[field.name, "A documents", "A share", "B documents", "B share", "change"]]
            for v in categoryValues(ba, bb, limit: categoryRows) {
                let ea = ba.rows.first { $0.value == v }
                let eb = bb.rows.first { $0.value == v }
                c.append([
                    v.isEmpty ? "(empty)" : displayText(v, max: 40), ea.map { formatCount($0.count) } ?? "0",
                    formatPercent(Double(ea?.count ?? 0), of: Double(ba.documents)), eb.map { formatCount($0.count) } ?? "0",
                    formatPercent(Double(eb?.count ?? 0), of: Double(bb.documents)),
                    ppChange(share(ea?.count ?? 0, ba.documents), share(eb?.count ?? 0, bb.documents)),
                ])
            }
            out += "\nby \(field.name)" + (ba.exact && bb.exact ? "" : " (approximate: top values of bounded sketches)") + "\n"
            out += renderTextTable(c, rightAligned: [1, 2, 3, 4, 5])
        }
        return out
    }

    private func categoryValues(_ x: Breakdown, _ y: Breakdown, limit: Int) -> [String] {
        var score: [String: Int] = [:]
        for e in x.reliableRows { score[e.value, default: 0] += e.count }
        for e in y.reliableRows { score[e.value, default: 0] += e.count }
        return score.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(limit).map(\.key)
    }

    // MARK: JSON

    /// `{"a": ROOT, "b": ROOT, "totals": {...}, "stages": [{"id", "a": {...}, "b": {...},
    /// "reasons": [{"reason", "a", "b", "a_share", "b_share"}]}], "distributions": {...},
    /// "categories": {...}}`; a side a stage or value is missing from is null.
    public var json: JSONValue {
        var o = JSONObject()
        o.append(key: "a", value: .string(a.root))
        o.append(key: "b", value: .string(b.root))
        func totals(_ r: RunStatistics) -> JSONValue {
            .object([
                "documents_in": r.documentsIn.map { .int($0) } ?? .null, "documents": .int(r.documents),
                "bytes": .int(r.bytes), "compressed_bytes": .int(r.compressedBytes), "words": .int(r.combined.words),
                "shards": .int(r.shards.count),
            ])
        }
        o.append(key: "totals", value: .object(["a": totals(a), "b": totals(b)]))
        var stages: [JSONValue] = []
        for id in stageIDs {
            let sa = stage(id, in: a)
            let sb = stage(id, in: b)
            func side(_ s: StageStats?) -> JSONValue {
                guard let s else { return .null }
                return .object(["received": .int(s.received), "kept": .int(s.kept), "dropped": .int(s.droppedTotal)])
            }
            let reasonList: [JSONValue] = reasons(of: id).map { r in
                .object([
                    "reason": .string(r),
                    "a": sa.map { .int($0.dropped[r] ?? 0) } ?? .null, "b": sb.map { .int($0.dropped[r] ?? 0) } ?? .null,
                    "a_share": sa.map { .double(share($0.dropped[r] ?? 0, $0.received) ?? 0) } ?? .null,
                    "b_share": sb.map { .double(share($0.dropped[r] ?? 0, $0.received) ?? 0) } ?? .null,
                ])
            }
            stages.append(.object(["id": .string(id), "a": side(sa), "b": side(sb), "reasons": .array(reasonList)]))
        }
        o.append(key: "stages", value: .array(stages))
        var dist = JSONObject()
        for name in distributionNames {
            func side(_ h: LogHistogram?) -> JSONValue {
                guard let h, h.total > 0 else { return .null }
                return .object([
                    "count": .int(h.total), "mean": .double(h.mean), "p10": .double(h.quantile(0.1) ?? 0),
                    "p50": .double(h.quantile(0.5) ?? 0), "p90": .double(h.quantile(0.9) ?? 0),
                ])
            }
            dist.append(key: name, value: .object(["a": side(histogram(name, in: a)), "b": side(histogram(name, in: b))]))
        }
        o.append(key: "distributions", value: .object(dist))
        var cats = JSONObject()
        for field in CategoryField.allCases {
            let ba = a.breakdown(field)
            let bb = b.breakdown(field)
            guard ba.documentsWithValue > 0 || bb.documentsWithValue > 0 else { continue }
            cats.append(
                key: field.name,
                value: .array(categoryValues(ba, bb, limit: 50).map { v in
                    .object([
                        "value": .string(v), "a": .int(ba.rows.first { $0.value == v }?.count ?? 0),
                        "b": .int(bb.rows.first { $0.value == v }?.count ?? 0),
                    ])
                }))
        }
        o.append(key: "categories", value: .object(cats))
        return .object(o)
    }
}

private func share(_ n: Int, _ of: Int) -> Double? { of > 0 ? Double(n) / Double(of) : nil }
private func keptFraction(_ r: RunStatistics) -> Double? { r.documentsIn.flatMap { share(r.documents, $0) } }
private func keptShare(_ r: RunStatistics) -> String { keptFraction(r).map { formatFixed($0 * 100, digits: 1) + "%" } ?? "-" }

/// `+12.5%`-style relative change.
private func change(_ x: Double?, _ y: Double?) -> String {
    guard let x, let y else { return "" }
    if x == y { return "=" }
    if x == 0 { return "new" }
    let c = (y - x) / x * 100
    return (c > 0 ? "+" : "") + formatFixed(c, digits: 1) + "%"
}

/// A change between shares in percentage points.
private func ppChange(_ x: Double?, _ y: Double?) -> String {
    guard let x, let y else { return "" }
    let c = (y - x) * 100
    if abs(c) < 0.05 { return "=" }
    return (c > 0 ? "+" : "") + formatFixed(c, digits: 1) + " pp"
}

/// The lines that differ between two texts, as `- line` (only in A) and `+ line` (only in B),
/// each group after one unchanged line of context (`  line`), groups separated by `…`
/// (a longest-common-subsequence diff; texts over 2,000 lines compare as sets).
public func lineDiff(_ a: String, _ b: String) -> [String] {
    let x = a.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    let y = b.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    if x.count > 2000 || y.count > 2000 {
        let sx = Set(x)
        let sy = Set(y)
        return x.filter { !sy.contains($0) }.map { "- " + $0 } + y.filter { !sx.contains($0) }.map { "+ " + $0 }
    }
    var l = Array(repeating: Array(repeating: 0, count: y.count + 1), count: x.count + 1)
    for i in stride(from: x.count - 1, through: 0, by: -1) {
        for j in stride(from: y.count - 1, through: 0, by: -1) {
            l[i][j] = x[i] == y[j] ? l[i + 1][j + 1] + 1 : max(l[i + 1][j], l[i][j + 1])
        }
    }
    var ops: [(Character, String)] = []
    var i = 0
    var j = 0
    while i < x.count || j < y.count {
        if i < x.count && j < y.count && x[i] == y[j] {
            ops.append((" ", x[i]))
            i += 1
            j += 1
        } else if i < x.count && (j == y.count || l[i + 1][j] >= l[i][j + 1]) {
            ops.append(("-", x[i]))
            i += 1
        } else {
            ops.append(("+", y[j]))
            j += 1
        }
    }
    var out: [String] = []
    var lastPrinted = -2
    for (k, op) in ops.enumerated() where op.0 != " " {
        if k - 1 > lastPrinted {
            if !out.isEmpty { out.append("…") }
            if k > 0 && ops[k - 1].0 == " " { out.append("  " + ops[k - 1].1) }
        }
        out.append(String(op.0) + " " + op.1)
        lastPrinted = k
    }
    return out
}
