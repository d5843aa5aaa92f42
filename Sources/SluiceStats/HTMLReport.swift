import SluiceCore
import SluiceIO

/// Example documents for the report: some kept ones and some dropped ones per stage and reason.
public struct ReportSamples: Sendable {
    /// Kept documents, with the shard they come from.
    public var kept: [FoundDocument] = []
    /// Dropped documents by `(stage, reason)`, in funnel order.
    public var dropped: [(stage: String, reason: String, documents: [FoundDocument])] = []
    /// How the samples were chosen, for the report's text.
    public var note: String = ""

    public init() {}
}

/// Picks the report's example documents without reading whole runs: the kept ones from the
/// first `linesPerFile` lines of up to `maxFiles` shards spread over the run (a deterministic
/// hash sample of those), the dropped ones as a hash sample of `perReason` of the first
/// `16 × perReason` documents of each reason in the rejected shards of its stage, reading at
/// most `maxLinesPerStage` lines per stage.
public func collectReportSamples(
    keptShards: [String], rejectedShards: [String: [String]], reasons: [(stage: String, reason: String)],
    kept: Int = 6, perReason: Int = 3, maxFiles: Int = 8, linesPerFile: Int = 400, maxLinesPerStage: Int = 50_000
) -> ReportSamples {
    var samples = ReportSamples()
    if !keptShards.isEmpty && kept > 0 {
        let step = max(1, keptShards.count / maxFiles)
        let chosen = stride(from: 0, to: keptShards.count, by: step).prefix(maxFiles).map { keptShards[$0] }
        var pool: [(UInt64, FoundDocument)] = []
        var parser = DocumentLineParser()
        for file in chosen {
            guard let reader = try? LineBatchReader(path: file, maxLines: linesPerFile, maxBytes: 16 << 20, maxLineBytes: 1 << 30),
                let batch = try? reader.next()
            else { continue }
            for i in 0..<batch.count {
                guard case .document(let doc) = batch.withLine(i, { parser.parse($0) }) else { continue }
                pool.append((XXH64.hash(doc.id), FoundDocument(file: file, line: batch.lineNumbers[i], raw: [], document: doc)))
            }
        }
        samples.kept = pool.sorted { $0.0 < $1.0 }.prefix(kept).map(\.1)
        samples.note = "Kept examples are a hash sample of the first \(linesPerFile) documents of \(chosen.count) of \(keptShards.count) shards; dropped ones a hash sample of the first of each reason in _rejected/."
    }
    var byStage: [String: [String]] = [:]
    for r in reasons { byStage[r.stage, default: []].append(r.reason) }
    var found: [String: [FoundDocument]] = [:]
    for (stage, stageReasons) in byStage.sorted(by: { $0.key < $1.key }) {
        var needed = Set(stageReasons)
        var read = 0
        var parser = DocumentLineParser()
        fileLoop: for file in rejectedShards[stage] ?? [] {
            guard let reader = try? LineBatchReader(path: file, maxLines: 1024, maxBytes: 8 << 20, maxLineBytes: 1 << 30) else { continue }
            while let batch = try? reader.next() {
                for i in 0..<batch.count {
                    read += 1
                    guard case .document(let doc) = batch.withLine(i, { parser.parse($0) }),
                        let why = doc.metadata.value(atPath: "_rejected.reason")?.stringValue, needed.contains(why)
                    else { continue }
                    let key = stage + "\u{0}" + why
                    found[key, default: []].append(FoundDocument(file: file, line: batch.lineNumbers[i], raw: [], document: doc))
                    if found[key]!.count >= perReason * 16 { needed.remove(why) }
                    if needed.isEmpty || read >= maxLinesPerStage { break fileLoop }
                }
            }
        }
    }
    // A hash sample of the candidates, shown in file order.
    for r in reasons {
        let candidates = found[r.stage + "\u{0}" + r.reason] ?? []
        let chosen = candidates.enumerated().sorted { XXH64.hash($0.element.document.id) < XXH64.hash($1.element.document.id) }
            .prefix(perReason).sorted { $0.offset < $1.offset }.map(\.element)
        samples.dropped.append((r.stage, r.reason, chosen))
    }
    return samples
}

/// Escapes text for HTML and SVG: `& < > " '`.
public func htmlEscape(_ s: String) -> String {
    var out = ""
    out.reserveCapacity(s.utf8.count)
    for u in s.unicodeScalars {
        switch u {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&#39;"
        default:
            // Control characters other than tab and newline cannot appear in HTML text.
            if u.value < 0x20 && u.value != 0x09 && u.value != 0x0A {
                out.unicodeScalars.append(Unicode.Scalar(0x2400 + u.value)!)
            } else if u.value == 0x7F || (u.value >= 0x80 && u.value < 0xA0) {
                out += "\u{FFFD}"
            } else {
                out.unicodeScalars.append(u)
            }
        }
    }
    return out
}

/// Writes the run report: one self-contained HTML page (inline CSS and SVG, no script, no
/// network) that reads on a phone and on a desktop. Sections: totals, the funnel and the
/// drops by reason, length and metadata distributions, languages, domains, sources and
/// content types, shard sizes, example kept and dropped documents, input problems. The same
/// statistics and samples give the same bytes.
public func renderHTMLReport(_ stats: RunStatistics, samples: ReportSamples, version: String = "") -> String {
    var h = HTMLBuilder()
    let title = "Sluice report: " + (stats.name ?? lastPathComponent(stats.root))
    h.raw("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
    h.raw("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
    h.raw("<title>\(htmlEscape(title))</title>\n<style>\n\(reportCSS)</style>\n</head>\n<body>\n<main>\n")
    h.raw("<header><h1>\(htmlEscape(title))</h1><p class=\"muted\">\(htmlEscape(stats.root))")
    if !version.isEmpty { h.raw(" · sluice \(htmlEscape(version))") }
    if stats.recomputed { h.raw(" · statistics recomputed from the shards") }
    h.raw("</p>\n")
    if stats.completedTasks < stats.tasks {
        h.raw("<p class=\"warn\">Only \(stats.completedTasks) of \(stats.tasks) tasks are complete; this report covers the finished ones.</p>\n")
    }
    if !stats.statisticsProblems.isEmpty {
        h.raw("<p class=\"warn\">Statistics are missing for \(stats.statisticsProblems.count) shard(s) and are left out of the distributions (run <code>sluice stats --recompute</code> to read the shards).</p>\n")
    }
    h.raw("<nav>")
    for (id, name) in [("totals", "Totals"), ("funnel", "Funnel"), ("lengths", "Lengths"), ("scores", "Metadata"),
                       ("categories", "Languages &amp; domains"), ("shards", "Shards"), ("samples", "Examples")] {
        h.raw("<a href=\"#\(id)\">\(name)</a>")
    }
    h.raw("</nav></header>\n")

    // Totals.
    let c = stats.combined
    h.raw("<section id=\"totals\"><h2>Totals</h2><div class=\"cards\">\n")
    func card(_ label: String, _ value: String, _ note: String = "") {
        h.raw("<div class=\"stat\"><div class=\"v\">\(htmlEscape(value))</div><div class=\"l\">\(htmlEscape(label))</div>")
        if !note.isEmpty { h.raw("<div class=\"n\">\(htmlEscape(note))</div>") }
        h.raw("</div>\n")
    }
    if let input = stats.documentsIn {
        card("documents kept", formatCount(stats.documents), "of \(formatCount(input)) in · \(formatPercent(Double(stats.documents), of: Double(input)))")
    } else {
        card("documents", formatCount(stats.documents))
    }
    card("JSONL", formatBytes(stats.bytes), "\(formatBytes(stats.compressedBytes)) compressed")
    card("shards", formatCount(stats.shards.count), "\(stats.completedTasks) of \(stats.tasks) tasks")
    if c.documents > 0 {
        card("words", formatShortCount(Double(c.words)), "\(formatShortCount(Double(c.characters))) characters")
        card("median length", formatCount(Int((c.characterHistogram.quantile(0.5) ?? 0).rounded())) + " chars",
             "\(formatCount(Int((c.wordHistogram.quantile(0.5) ?? 0).rounded()))) words")
    }
    h.raw("</div></section>\n")

    // Funnel.
    h.raw("<section id=\"funnel\"><h2>Funnel</h2><div class=\"grid\">\n")
    h.raw("<div class=\"card\"><h3>Documents through the stages</h3>\n")
    h.raw(svgFunnel(stats.stages))
    h.raw("<p class=\"legend\"><span class=\"sw kept\"></span>kept <span class=\"sw drop\"></span>dropped</p></div>\n")
    var reasons: [(label: String, value: Double, note: String)] = []
    let input = Double(stats.stages.first?.stats.received ?? 0)
    for s in stats.stages {
        for (r, n) in s.stats.dropped.sorted(by: { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }) {
            reasons.append(("\(s.id): \(r)", Double(n), formatPercent(Double(n), of: input)))
        }
    }
    if !reasons.isEmpty {
        h.raw("<div class=\"card\"><h3>Dropped by reason</h3>\n")
        h.raw(svgHorizontalBars(reasons, cssClass: "drop", title: "Dropped documents by stage and reason"))
        h.raw("</div>\n")
    }
    h.raw("</div>\n<div class=\"scroll\"><table><thead><tr><th>stage</th><th>type</th><th class=\"r\">received</th><th class=\"r\">kept</th><th class=\"r\">dropped</th><th class=\"r\">% of stage</th><th class=\"r\">% of input</th><th class=\"r\">text in → out</th><th class=\"r\">seconds</th></tr></thead><tbody>\n")
    for s in stats.stages {
        let st = s.stats
        h.raw("<tr><td>\(htmlEscape(s.id))</td><td>\(htmlEscape(s.type))</td><td class=\"r\">\(formatCount(st.received))</td><td class=\"r\">\(formatCount(st.kept))</td><td class=\"r\">\(formatCount(st.droppedTotal))</td><td class=\"r\">\(formatPercent(Double(st.droppedTotal), of: Double(st.received)))</td><td class=\"r\">\(formatPercent(Double(st.droppedTotal), of: input))</td><td class=\"r\">\(formatBytes(st.bytesIn)) → \(formatBytes(st.bytesOut))</td><td class=\"r\">\(formatFixed(st.seconds, digits: 2))</td></tr>\n")
        for (r, n) in st.dropped.sorted(by: { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }) {
            h.raw("<tr class=\"sub\"><td></td><td>\(htmlEscape(r))</td><td></td><td></td><td class=\"r\">\(formatCount(n))</td><td class=\"r\">\(formatPercent(Double(n), of: Double(st.received)))</td><td class=\"r\">\(formatPercent(Double(n), of: input))</td><td></td><td></td></tr>\n")
        }
        for (name, n) in st.counters.sorted(by: { $0.key < $1.key }) {
            h.raw("<tr class=\"sub\"><td></td><td>(\(htmlEscape(name)))</td><td></td><td></td><td class=\"r\">\(formatCount(n))</td><td></td><td></td><td></td><td></td></tr>\n")
        }
    }
    h.raw("</tbody></table></div></section>\n")

    // Lengths.
    h.raw("<section id=\"lengths\"><h2>Document lengths</h2>")
    if c.documents == 0 {
        h.raw("<p class=\"muted\">No statistics for the kept documents.</p>")
    } else {
        h.raw("<div class=\"grid\">\n")
        for (name, hist) in c.lengthHistograms {
            h.raw("<div class=\"card\"><h3>\(name) per document</h3>\n" + svgHistogram(hist, title: "\(name) per document") + histogramCaption(hist) + "</div>\n")
        }
        h.raw("</div>")
    }
    h.raw("</section>\n")

    // Metadata distributions.
    h.raw("<section id=\"scores\"><h2>Metadata distributions</h2>")
    if c.metadata.isEmpty {
        h.raw("<p class=\"muted\">The kept documents have no numeric metadata (scores appear here once quality or language stages add them).</p>")
    } else {
        h.raw("<div class=\"grid\">\n")
        for name in c.metadataFields {
            let hist = c.metadata[name]!
            h.raw("<div class=\"card\"><h3>metadata.\(htmlEscape(name))</h3>\n" + svgHistogram(hist, title: "metadata.\(name)") + histogramCaption(hist) + "</div>\n")
        }
        h.raw("</div>")
    }
    h.raw("</section>\n")

    // Categories.
    h.raw("<section id=\"categories\"><h2>Languages, domains, sources and content types</h2><div class=\"grid\">\n")
    var anyCategory = false
    for f in [CategoryField.language, .domain, .source, .contentType] {
        let b = stats.breakdown(f)
        guard b.documentsWithValue > 0 else { continue }
        anyCategory = true
        let label: String
        switch f {
        case .language: label = "Languages"
        case .domain: label = "Top domains"
        case .source: label = "Sources"
        case .contentType: label = "Content types"
        }
        let rows = Array(b.reliableRows.prefix(20))
        var items = rows.map { e in
            (label: e.value.isEmpty ? "(empty)" : e.value, value: Double(e.count),
             note: formatPercent(Double(e.count), of: Double(b.documents)) + (e.error > 0 ? " ±\(formatShortCount(Double(e.error)))" : ""))
        }
        var certain = rows.map { Double($0.count - $0.error) }
        let shown = rows.reduce(0) { $0 + $1.count }
        if b.documentsWithValue > shown && !rows.isEmpty {
            items.append(("(other values)", Double(b.documentsWithValue - shown), formatPercent(Double(b.documentsWithValue - shown), of: Double(b.documents))))
            certain.append(Double(b.documentsWithValue - shown))
        }
        if b.documents > b.documentsWithValue {
            items.append(("(no \(f.name))", Double(b.documents - b.documentsWithValue), formatPercent(Double(b.documents - b.documentsWithValue), of: Double(b.documents))))
            certain.append(Double(b.documents - b.documentsWithValue))
        }
        h.raw("<div class=\"card\"><h3>\(label) <span class=\"muted\">(\(htmlEscape(f.origin)))</span></h3>\n")
        h.raw(svgHorizontalBars(items, cssClass: "bar", title: label, certain: certain))
        h.raw("<p class=\"muted small\">" + (b.exact ? "Exact counts." : "Top values of a bounded sketch (\(formatCount(b.capacity)) kept per shard): a count may be over by up to \(formatCount(b.maximumError)), drawn light; values whose count is less certain than that are left out.") + "</p></div>\n")
    }
    if !anyCategory { h.raw("<p class=\"muted\">The kept documents carry no source, language, URL or content type.</p>") }
    h.raw("</div></section>\n")

    // Shards.
    h.raw("<section id=\"shards\"><h2>Shards</h2><div class=\"grid\">\n<div class=\"card\"><h3>Compressed size per shard</h3>\n")
    h.raw(svgShardColumns(stats.shards, value: { Double($0.compressedBytes) }, format: { formatBytes(Int($0)) }, what: "compressed bytes"))
    h.raw("</div>\n<div class=\"card\"><h3>Documents per shard</h3>\n")
    h.raw(svgShardColumns(stats.shards, value: { Double($0.documents) }, format: { formatShortCount($0.rounded()) }, what: "documents"))
    h.raw("</div>\n</div>\n<details><summary>Shard table (\(formatCount(stats.shards.count)))</summary><div class=\"scroll\"><table><thead><tr><th>shard</th><th class=\"r\">documents</th><th class=\"r\">JSONL</th><th class=\"r\">compressed</th><th class=\"r\">characters</th><th class=\"r\">words</th></tr></thead><tbody>\n")
    for s in stats.shards.prefix(2000) {
        h.raw("<tr><td>\(htmlEscape(s.path))</td><td class=\"r\">\(formatCount(s.documents))</td><td class=\"r\">\(formatBytes(s.bytes))</td><td class=\"r\">\(formatBytes(s.compressedBytes))</td><td class=\"r\">\(s.statistics.map { formatCount($0.characters) } ?? "-")</td><td class=\"r\">\(s.statistics.map { formatCount($0.words) } ?? "-")</td></tr>\n")
    }
    h.raw("</tbody></table></div>")
    if stats.shards.count > 2000 { h.raw("<p class=\"muted\">First 2,000 of \(formatCount(stats.shards.count)) shards.</p>") }
    h.raw("</details></section>\n")

    // Samples.
    h.raw("<section id=\"samples\"><h2>Example documents</h2>\n")
    if !samples.note.isEmpty { h.raw("<p class=\"muted\">\(htmlEscape(samples.note)) Texts are cut at 1,500 characters.</p>\n") }
    h.raw("<details open><summary>Kept (\(samples.kept.count))</summary>\n")
    for d in samples.kept { h.raw(documentHTML(d)) }
    if samples.kept.isEmpty { h.raw("<p class=\"muted\">No kept documents.</p>") }
    h.raw("</details>\n")
    for (n, group) in samples.dropped.enumerated() {
        // The first reasons are open: what a rule removed is what people come to see.
        h.raw("<details\(n < 4 && !group.documents.isEmpty ? " open" : "")><summary><span class=\"sw drop\"></span>Dropped by \(htmlEscape(group.stage)): \(htmlEscape(group.reason)) (\(group.documents.count) example\(group.documents.count == 1 ? "" : "s"))</summary>\n")
        for d in group.documents { h.raw(documentHTML(d)) }
        if group.documents.isEmpty {
            h.raw("<p class=\"muted\">No example found: the run did not keep its rejected documents (output.rejected: true keeps them), or none was found in the first rejected shards.</p>")
        }
        h.raw("</details>\n")
    }
    h.raw("</section>\n")

    if !stats.inputProblems.isEmpty {
        h.raw("<section id=\"problems\"><h2>Input problems (\(formatCount(stats.inputProblems.count)))</h2><ul>\n")
        for p in stats.inputProblems.prefix(200) { h.raw("<li><code>\(htmlEscape(p))</code></li>\n") }
        h.raw("</ul></section>\n")
    }
    h.raw("<footer class=\"muted small\">Distributions come from fixed log-scale histograms with 16 bins per doubling; quantiles are within 1/16 of the value. Generated by <code>sluice report</code>.</footer>\n")
    h.raw("</main>\n</body>\n</html>\n")
    return h.text
}

private struct HTMLBuilder {
    var text = ""
    mutating func raw(_ s: String) { text += s }
}

private func lastPathComponent(_ p: String) -> String {
    p.split(separator: "/").last.map(String.init) ?? p
}

private func histogramCaption(_ h: LogHistogram) -> String {
    guard h.total > 0 else { return "<p class=\"muted small\">No values.</p>" }
    let q = [0.1, 0.5, 0.9].map { formatStatistic(h.quantile($0) ?? 0, of: h) }
    return "<p class=\"small\">\(formatCount(h.total)) values · mean \(formatStatistic(h.mean, of: h)) · p10 \(q[0]) · <b>median \(q[1])</b> · p90 \(q[2]) · min \(formatValue(h.min)) · max \(formatValue(h.max))</p>\n"
}

private func documentHTML(_ d: FoundDocument) -> String {
    let doc = d.document
    var out = "<article class=\"doc\"><div class=\"dh\"><b>\(htmlEscape(doc.id))</b> <span class=\"muted\">\(htmlEscape(lastPathComponent(d.file))):\(d.line)</span></div>\n<dl>"
    var meta: [(String, String)] = [("source", doc.source)]
    func flatten(_ o: JSONObject, _ prefix: String) {
        for e in o {
            let key = prefix.isEmpty ? e.key : prefix + "." + e.key
            switch e.value {
            case .object(let child) where !child.isEmpty: flatten(child, key)
            case .string(let s): meta.append((key, s))
            default: meta.append((key, String(decoding: encodeJSON(e.value).prefix(200), as: UTF8.self)))
            }
        }
    }
    flatten(doc.metadata, "")
    let counts = countText(doc.text)
    meta.append(("length", "\(formatCount(counts.characters)) characters, \(formatCount(counts.words)) words, \(formatCount(counts.lines)) lines"))
    for (k, v) in meta.prefix(40) {
        let value = v.unicodeScalars.count > 300 ? String(String.UnicodeScalarView(v.unicodeScalars.prefix(300))) + "…" : v
        out += "<dt>\(htmlEscape(k))</dt><dd>\(htmlEscape(value))</dd>"
    }
    out += "</dl>\n"
    var text = doc.text
    if counts.characters > 1500 { text = String(String.UnicodeScalarView(doc.text.unicodeScalars.prefix(1500))) + "\n…" }
    out += "<pre>\(htmlEscape(text))</pre></article>\n"
    return out
}

// MARK: SVG charts

private let chartWidth = 480.0

private func svgOpen(height: Double, title: String) -> String {
    "<svg class=\"chart\" viewBox=\"0 0 \(Int(chartWidth)) \(Int(height.rounded(.up)))\" role=\"img\" aria-label=\"\(htmlEscape(title))\"><title>\(htmlEscape(title))</title>\n"
}

private func f(_ v: Double) -> String { formatFixed(v, digits: 1) }

/// Stages as horizontal bars scaled to the input: the kept part green, the dropped part red.
func svgFunnel(_ stages: [FunnelStage]) -> String {
    guard let input = stages.first?.stats.received, input > 0 else {
        return "<p class=\"muted\">No funnel statistics (no _stats/ files).</p>"
    }
    let rowHeight = 44.0
    let width = chartWidth - 8
    var out = svgOpen(height: Double(stages.count) * rowHeight + 4, title: "Documents received, kept and dropped per stage")
    for (i, s) in stages.enumerated() {
        let y = Double(i) * rowHeight + 4
        let st = s.stats
        let received = width * Double(st.received) / Double(input)
        let kept = width * Double(st.kept) / Double(input)
        let label = "\(s.id) · \(formatCount(st.kept)) of \(formatCount(st.received)) kept (\(formatPercent(Double(st.kept), of: Double(st.received))))"
        out += "<text class=\"lbl\" x=\"4\" y=\"\(f(y + 13))\">\(htmlEscape(label))</text>\n"
        out += "<rect class=\"track\" x=\"4\" y=\"\(f(y + 19))\" width=\"\(f(width))\" height=\"16\" rx=\"2\"/>\n"
        if kept > 0 {
            out += "<rect class=\"bar kept\" x=\"4\" y=\"\(f(y + 19))\" width=\"\(f(max(kept, 1)))\" height=\"16\" rx=\"2\"><title>\(htmlEscape(s.id)): \(formatCount(st.kept)) kept</title></rect>\n"
        }
        if received - kept > 0 {
            out += "<rect class=\"bar drop\" x=\"\(f(4 + kept))\" y=\"\(f(y + 19))\" width=\"\(f(max(received - kept, 1)))\" height=\"16\" rx=\"2\"><title>\(htmlEscape(s.id)): \(formatCount(st.droppedTotal)) dropped</title></rect>\n"
        }
    }
    return out + "</svg>\n"
}

/// Labelled horizontal bars in the given order: each row has its label and value on one line
/// and the bar under them, so long labels (domains, reasons) fit on a phone.
func svgHorizontalBars(_ items: [(label: String, value: Double, note: String)], cssClass: String, title: String,
                       certain: [Double]? = nil) -> String {
    guard let peak = items.map(\.value).max(), peak > 0 else { return "<p class=\"muted\">Nothing to show.</p>" }
    let rowHeight = 36.0
    let width = chartWidth - 8
    var out = svgOpen(height: Double(items.count) * rowHeight + 4, title: title)
    for (i, item) in items.enumerated() {
        let y = Double(i) * rowHeight + 2
        let w = max(1.5, width * item.value / peak)
        let value = "\(formatShortCount(item.value)) · \(item.note)"
        // About 7.5 units per character at the label size; keep clear of the value text.
        let room = max(8, Int((width - Double(value.unicodeScalars.count) * 7 - 16) / 7.5))
        let label = displayText(item.label, max: room)
        out += "<text class=\"lbl\" x=\"4\" y=\"\(f(y + 13))\">\(htmlEscape(label))<title>\(htmlEscape(item.label))</title></text>"
        out += "<text class=\"val\" x=\"\(f(4 + width))\" y=\"\(f(y + 13))\" text-anchor=\"end\">\(htmlEscape(value))</text>\n"
        out += "<rect class=\"track\" x=\"4\" y=\"\(f(y + 18))\" width=\"\(f(width))\" height=\"12\" rx=\"2\"/>"
        let isOther = item.label.hasPrefix("(") && item.label.hasSuffix(")")
        if isOther {
            out += "<rect class=\"bar other\" x=\"4\" y=\"\(f(y + 18))\" width=\"\(f(w))\" height=\"12\" rx=\"2\"><title>\(htmlEscape(item.label)): \(formatCount(Int(item.value)))</title></rect>\n"
        } else if let certain, i < certain.count, certain[i] < item.value {
            // The part of the count the sketch guarantees, solid; the possible excess, light.
            let sure = max(0, width * certain[i] / peak)
            out += "<rect class=\"bar \(cssClass) unsure\" x=\"4\" y=\"\(f(y + 18))\" width=\"\(f(w))\" height=\"12\" rx=\"2\"><title>\(htmlEscape(item.label)): at most \(formatCount(Int(item.value)))</title></rect>"
            if sure > 0 {
                out += "<rect class=\"bar \(cssClass)\" x=\"4\" y=\"\(f(y + 18))\" width=\"\(f(sure))\" height=\"12\" rx=\"2\"><title>\(htmlEscape(item.label)): at least \(formatCount(Int(certain[i])))</title></rect>"
            }
            out += "\n"
        } else {
            out += "<rect class=\"bar \(cssClass)\" x=\"4\" y=\"\(f(y + 18))\" width=\"\(f(w))\" height=\"12\" rx=\"2\"><title>\(htmlEscape(item.label)): \(formatCount(Int(item.value))) (\(htmlEscape(item.note)))</title></rect>\n"
        }
    }
    return out + "</svg>\n"
}

/// A histogram as columns over its display buckets, with a y axis, edge labels and the median.
func svgHistogram(_ h: LogHistogram, title: String) -> String {
    let (buckets, scale) = displayBuckets(h, maxBuckets: 24)
    guard !buckets.isEmpty, let peak = buckets.map(\.count).max(), peak > 0 else { return "<p class=\"muted\">No values.</p>" }
    let left = 44.0
    let right = 10.0
    let top = 10.0
    let bottom = 34.0
    let height = 210.0
    let plotW = chartWidth - left - right
    let plotH = height - top - bottom
    let colW = plotW / Double(buckets.count)
    var out = svgOpen(height: height, title: title + " histogram")
    for t in [0.0, 0.5, 1.0] {
        let y = top + plotH * (1 - t)
        out += "<line class=\"grid\" x1=\"\(f(left))\" x2=\"\(f(left + plotW))\" y1=\"\(f(y))\" y2=\"\(f(y))\"/>"
        out += "<text class=\"tick\" x=\"\(f(left - 4))\" y=\"\(f(y + 4))\" text-anchor=\"end\">\(formatShortCount((peak * t).rounded()))</text>\n"
    }
    for (i, b) in buckets.enumerated() where b.count > 0 {
        let hgt = max(1, plotH * b.count / peak)
        out += "<rect class=\"bar\" x=\"\(f(left + Double(i) * colW + 0.5))\" y=\"\(f(top + plotH - hgt))\" width=\"\(f(max(1, colW - 1)))\" height=\"\(f(hgt))\"><title>\(formatValue(b.low)) – \(formatValue(b.high)): \(formatCount(Int(b.count.rounded())))</title></rect>\n"
    }
    // Edge labels, as many as fit.
    let maxLabels = max(2, Int(plotW / 46))
    let every = max(1, Int((Double(buckets.count + 1) / Double(maxLabels)).rounded(.up)))
    for (n, i) in stride(from: 0, through: buckets.count, by: every).enumerated() {
        let v = i < buckets.count ? buckets[i].low : buckets[buckets.count - 1].high
        let x = left + Double(i) * colW
        let anchor = i == 0 ? "start" : (i == buckets.count ? "end" : "middle")
        out += "<line class=\"axis\" x1=\"\(f(x))\" x2=\"\(f(x))\" y1=\"\(f(top + plotH))\" y2=\"\(f(top + plotH + 4))\"/>"
        // Every other label is hidden on narrow screens, where the text is larger.
        out += "<text class=\"tick\(n % 2 == 1 ? " odd" : "")\" x=\"\(f(x))\" y=\"\(f(top + plotH + 16))\" text-anchor=\"\(anchor)\">\(tickLabel(v))</text>\n"
    }
    out += "<line class=\"axis\" x1=\"\(f(left))\" x2=\"\(f(left + plotW))\" y1=\"\(f(top + plotH))\" y2=\"\(f(top + plotH))\"/>\n"
    if let median = h.quantile(0.5) {
        var idx = buckets.lastIndex(where: { $0.low <= median }) ?? 0
        idx = min(idx, buckets.count - 1)
        let b = buckets[idx]
        var frac = 0.5
        if b.high > b.low {
            if scale == .logarithmic && b.low > 0 && median > 0 {
                frac = (log2(median) - log2(b.low)) / (log2(b.high) - log2(b.low))
            } else {
                frac = (median - b.low) / (b.high - b.low)
            }
        }
        let x = left + (Double(idx) + min(1, max(0, frac))) * colW
        out += "<line class=\"median\" x1=\"\(f(x))\" x2=\"\(f(x))\" y1=\"\(f(top))\" y2=\"\(f(top + plotH))\"/>"
        let anchor = x > left + plotW * 0.75 ? "end" : "start"
        out += "<text class=\"mlbl\" x=\"\(f(anchor == "end" ? x - 4 : x + 4))\" y=\"\(f(top + 10))\" text-anchor=\"\(anchor)\">median \(formatStatistic(median, of: h))</text>\n"
    }
    out += "<text class=\"tick\" x=\"\(f(left + plotW))\" y=\"\(f(height - 3))\" text-anchor=\"end\">\(scale == .logarithmic ? "log scale" : "linear scale")</text>\n"
    return out + "</svg>\n"
}

private func log2(_ x: Double) -> Double {
    // Natural log through the exponent and a short series is enough for positioning a marker.
    guard x > 0 else { return 0 }
    let e = Double(x.exponent)
    let m = x.significand  // [1, 2)
    let t = (m - 1) / (m + 1)
    let t2 = t * t
    let ln = 2 * t * (1 + t2 / 3 + t2 * t2 / 5 + t2 * t2 * t2 / 7 + t2 * t2 * t2 * t2 / 9)
    return e + ln / 0.693_147_180_559_945_3
}

private func tickLabel(_ v: Double) -> String { formatTick(v) }

/// One column per shard (or, for many shards, a histogram of the values).
func svgShardColumns(_ shards: [ShardEntry], value: (ShardEntry) -> Double, format: (Double) -> String, what: String) -> String {
    guard !shards.isEmpty else { return "<p class=\"muted\">No shards.</p>" }
    if shards.count > 240 {
        var hist = LogHistogram()
        for s in shards { hist.add(value(s)) }
        return svgHistogram(hist, title: "shards by \(what)") + "<p class=\"small\">\(formatCount(shards.count)) shards by \(what).</p>"
    }
    let left = 56.0
    let right = 10.0
    let top = 10.0
    let bottom = 28.0
    let height = 190.0
    let plotW = chartWidth - left - right
    let plotH = height - top - bottom
    let peak = max(1, shards.map(value).max() ?? 1)
    let colW = plotW / Double(shards.count)
    var out = svgOpen(height: height, title: "\(what) per shard")
    for t in [0.0, 0.5, 1.0] {
        let y = top + plotH * (1 - t)
        out += "<line class=\"grid\" x1=\"\(f(left))\" x2=\"\(f(left + plotW))\" y1=\"\(f(y))\" y2=\"\(f(y))\"/>"
        out += "<text class=\"tick\" x=\"\(f(left - 4))\" y=\"\(f(y + 4))\" text-anchor=\"end\">\(htmlEscape(format(peak * t)))</text>\n"
    }
    for (i, s) in shards.enumerated() {
        let v = value(s)
        let hgt = max(1, plotH * v / peak)
        let gap = colW > 3 ? 1.0 : 0
        out += "<rect class=\"bar\" x=\"\(f(left + Double(i) * colW + gap / 2))\" y=\"\(f(top + plotH - hgt))\" width=\"\(f(max(0.8, colW - gap)))\" height=\"\(f(hgt))\"><title>\(htmlEscape(s.path)): \(htmlEscape(format(v))) \(what), \(formatBytes(s.compressedBytes)) compressed, \(formatCount(s.documents)) documents</title></rect>\n"
    }
    out += "<line class=\"axis\" x1=\"\(f(left))\" x2=\"\(f(left + plotW))\" y1=\"\(f(top + plotH))\" y2=\"\(f(top + plotH))\"/>\n"
    out += "<text class=\"tick\" x=\"\(f(left))\" y=\"\(f(top + plotH + 16))\">\(htmlEscape(String(shards.first!.path.prefix(10))))</text>"
    if shards.count > 1 {
        out += "<text class=\"tick\" x=\"\(f(left + plotW))\" y=\"\(f(top + plotH + 16))\" text-anchor=\"end\">\(htmlEscape(String(shards.last!.path.prefix(10))))</text>"
    }
    return out + "\n</svg>\n"
}

private let reportCSS = """
:root{--fg:#1c2230;--muted:#5f6775;--bg:#f4f5f7;--card:#fff;--line:#e1e4e8;--bar:#3b5bdb;--kept:#2f9e44;--drop:#e03131;--track:#eceef1;--code:#f1f3f5}
@media (prefers-color-scheme:dark){:root{--fg:#e6e8eb;--muted:#9aa2ad;--bg:#15181d;--card:#1e2229;--line:#323844;--bar:#748ffc;--kept:#51cf66;--drop:#ff6b6b;--track:#2a2f38;--code:#262b33}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","DejaVu Sans",sans-serif}
main{max-width:1180px;margin:0 auto;padding:12px 14px 40px}
h1{font-size:1.45rem;margin:.4em 0 .1em;overflow-wrap:anywhere}
h2{font-size:1.15rem;margin:1.6em 0 .6em;padding-bottom:.2em;border-bottom:1px solid var(--line)}
h3{font-size:.98rem;margin:0 0 .5em}
p{margin:.4em 0}
nav{display:flex;flex-wrap:wrap;gap:.3em .9em;margin:.6em 0;font-size:.92rem}
nav a{color:var(--bar);text-decoration:none}
.muted{color:var(--muted)}
.small{font-size:.85rem}
.warn{background:#fff3bf;color:#5c4400;padding:.5em .8em;border-radius:6px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:10px}
.stat{background:var(--card);border-radius:10px;padding:10px 12px;box-shadow:0 1px 2px rgba(0,0,0,.08)}
.stat .v{font-size:1.35rem;font-weight:650}
.stat .l{color:var(--muted);font-size:.85rem}
.stat .n{font-size:.8rem;color:var(--muted)}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,430px),1fr));gap:14px;margin-bottom:12px}
.card{background:var(--card);border-radius:10px;padding:12px 14px;box-shadow:0 1px 2px rgba(0,0,0,.08);min-width:0}
svg.chart{display:block;width:100%;height:auto;font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif}
svg .bar{fill:var(--bar)} svg .unsure{opacity:.35} svg .bar.other{fill:var(--muted);opacity:.55} svg .kept{fill:var(--kept)} svg .drop{fill:var(--drop)} svg .track{fill:var(--track)}
svg .lbl{font-size:12.5px;fill:var(--fg)} svg .val,svg .tick{font-size:11px;fill:var(--muted)}
svg .grid{stroke:var(--line);stroke-width:1} svg .axis{stroke:var(--muted);stroke-width:1}
svg .median{stroke:var(--fg);stroke-width:1.2;stroke-dasharray:4 3} svg .mlbl{font-size:11.5px;fill:var(--fg);font-weight:600}
svg .mlbl,svg .val{paint-order:stroke;stroke:var(--card);stroke-width:3px;stroke-linejoin:round}
.legend{font-size:.85rem;color:var(--muted)}
.sw{display:inline-block;width:.8em;height:.8em;border-radius:2px;margin:0 .3em 0 .6em;vertical-align:-.05em}
.sw.kept{background:var(--kept)} .sw.drop{background:var(--drop)}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch}
table{border-collapse:collapse;width:100%;font-size:.88rem;background:var(--card)}
th,td{padding:.35em .6em;border-bottom:1px solid var(--line);text-align:left;white-space:nowrap}
.r{text-align:right;font-variant-numeric:tabular-nums}
tr.sub td{color:var(--muted);font-size:.84rem}
details{background:var(--card);border-radius:10px;padding:.5em .9em;margin:.6em 0;box-shadow:0 1px 2px rgba(0,0,0,.08)}
summary{cursor:pointer;font-weight:600}
article.doc{border-top:1px solid var(--line);padding:.7em 0;min-width:0}
.dh{overflow-wrap:anywhere;margin-bottom:.3em}
dl{display:grid;grid-template-columns:minmax(6em,max-content) 1fr;gap:.1em .8em;font-size:.84rem;margin:.3em 0}
dt{color:var(--muted);overflow-wrap:anywhere} dd{margin:0;overflow-wrap:anywhere}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:var(--code);padding:.6em .7em;border-radius:6px;font-size:.82rem;max-height:18em;overflow-y:auto;margin:.3em 0}
code{font-size:.88em;overflow-wrap:anywhere}
footer{margin-top:2em}
@media (max-width:520px){body{font-size:14px} main{padding:8px 8px 30px} .stat .v{font-size:1.15rem} .card{padding:10px}
svg .lbl{font-size:17px} svg .val,svg .tick,svg .mlbl{font-size:15.5px} svg .odd{display:none}}

"""
