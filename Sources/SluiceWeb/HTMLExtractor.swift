import SluiceCore

/// Main-content extraction from HTML: libxml2's HTML parser (through SAX, no DOM), then
/// boilerplate removal by structure, text and link density.
///
/// 1. **Blocks.** Text is cut into blocks at block-level elements (p, div, li, h1–h6, tr, pre,
///    …), whitespace collapsed (`pre` kept verbatim), `br` kept as a line break, table cells
///    joined with ` | `. Never text: script, style, noscript, template, svg, head, iframe, form
///    controls, media, comments, and hidden elements (`hidden`, `aria-hidden="true"`,
///    `display:none`, `visibility:hidden`).
/// 2. **The main region.** Each block weighs its characters times (1 − link density)²; blocks
///    under boilerplate containers (nav, aside, footer, header, form, ARIA landmark roles such as
///    navigation and contentinfo, class or id tokens such as sidebar, comments, share, cookie,
///    breadcrumb) weigh a twentieth. From the document root the walk descends into the child
///    element holding most of the weight while it holds at least 90% of it, stopping at a
///    `main` or `article` (or `role=main`) that holds most of the page.
///    An explicit main element (`main`, `article`, `role=main`) holding 40% or more of the text
///    outside boilerplate containers becomes the region when the walk ends inside or above it,
///    whatever its link density (index pages and tables of contents are lists of links).
/// 3. **Blocks kept.** Inside the region: every block except bare link lines (short blocks of
///    more than 90% link text) and blocks under boilerplate containers nested in the region. In an
///    explicit main element, link lines stay when they are entries of a list or table of six or
///    more, or 16 characters or longer ("Next" and "Share" still go).
///    Near the region (under its parent or grandparent): only paragraphs of 60+ characters with
///    under 30% link text,
///    and the heading just before the region. Headings are kept when content follows them. A
///    page where this finds almost nothing falls back to every low-link block outside
///    boilerplate containers (short pages).
/// 4. **Text.** Blocks are separated by blank lines; list items and table rows of one list or
///    table by single newlines. The Markdown form adds `#` headings, `- ` items, `| ` rows,
///    `> ` quotes and fenced `pre` blocks.
///
/// Not `Sendable`: one per worker (it reuses its buffers).
public final class HTMLExtractor {
    public struct Configuration: Sendable {
        public var markdown: Bool = false
        /// Pages over this many bytes are not parsed.
        public var maxBytes: Int = 32 << 20
        /// Pages nested deeper are abandoned.
        public var maxDepth: Int = 2000
        /// Time budget per page in nanoseconds (0: none).
        public var timeBudgetNanoseconds: UInt64 = 5_000_000_000
        public init() {}
    }

    /// What came out of one page.
    public enum Outcome: Sendable, Equatable {
        case extracted(text: String, title: String?)
        case tooLarge
        case tooDeep
        case timedOut
        case noContent(title: String?)
    }

    public var configuration: Configuration
    private let builder = HTMLBlockBuilder()
    private var out: [UInt8] = []
    private var agg: [Float] = []
    private var best: [Int32] = []
    private var negInside: [Bool] = []
    private var keep: [Bool] = []

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// Extracts the main text of `html`.
    public func extract(_ html: String) -> Outcome {
        var html = html
        return html.withUTF8 { extract(UnsafeRawBufferPointer($0)) }
    }

    /// Extracts the main text of UTF-8 `html`.
    public func extract(_ html: UnsafeRawBufferPointer) -> Outcome {
        if html.count > configuration.maxBytes || html.count > Int(Int32.max) - 1 { return .tooLarge }
        builder.state.reset()
        builder.state.maxDepth = configuration.maxDepth
        builder.state.deadline = configuration.timeBudgetNanoseconds == 0 ? .max : monotonicNow() &+ configuration.timeBudgetNanoseconds
        LibXML2SAX.parse(html, into: builder)
        if builder.state.tooDeep { return .tooDeep }
        if builder.state.timedOut { return .timedOut }
        builder.state.finish()
        let title = builder.state.title.isEmpty ? nil : String(decoding: trimmed(builder.state.title), as: UTF8.self)
        selectBlocks()
        render()
        if out.isEmpty { return .noContent(title: title) }
        return .extracted(text: String(decoding: out, as: UTF8.self), title: title)
    }

    private func trimmed(_ bytes: [UInt8]) -> ArraySlice<UInt8> {
        var s = 0
        var e = bytes.count
        while s < e && bytes[s] == 0x20 { s += 1 }
        while e > s && bytes[e - 1] == 0x20 { e -= 1 }
        return bytes[s..<e]
    }

    // MARK: Selection

    @inline(__always) private func linkDensity(_ b: Block) -> Float {
        b.chars > 0 ? Float(b.linkChars) / Float(b.chars) : 0
    }

    private func selectBlocks() {
        let nodes = builder.state.nodes
        let blocks = builder.state.blocks
        let n = nodes.count
        keep = Array(repeating: false, count: blocks.count)
        guard !blocks.isEmpty else { return }

        // Inherited boilerplate flag, for the weights.
        var negAbove = [Bool](repeating: false, count: n)
        for i in 1..<n {
            let p = Int(nodes[i].parent)
            negAbove[i] = nodes[i].negative || (p >= 0 && negAbove[p])
        }
        // Weights, aggregated bottom-up (nodes are in document order, parents first).
        agg = [Float](repeating: 0, count: n)
        best = [Int32](repeating: -1, count: n)
        for b in blocks {
            let ld = linkDensity(b)
            var w = Float(b.chars) * (1 - ld) * (1 - ld)
            if b.chars < 20 { w *= 0.3 }
            if negAbove[Int(b.node)] { w *= 0.05 }
            agg[Int(b.node)] += w
        }
        for i in stride(from: n - 1, through: 1, by: -1) {
            let p = Int(nodes[i].parent)
            guard p >= 0 else { continue }
            var wi = agg[i]
            if nodes[i].positive { wi *= 1.25 }
            agg[p] += wi
            if best[p] < 0 || agg[i] > agg[Int(best[p])] { best[p] = Int32(i) }
        }
        let total = agg[0]
        // Descend to the main region.
        var region = 0
        while true {
            let c = best[region]
            if c < 0 { break }
            if nodes[region].isMain && agg[region] >= 0.5 * total { break }
            if agg[Int(c)] >= 0.9 * agg[region] && agg[Int(c)] > 0 {
                region = Int(c)
            } else {
                break
            }
        }
        // Never settle on a single paragraph when its container holds more.
        if nodes[region].info.kind != .container && nodes[region].info.kind != .list && nodes[region].info.kind != .table, region > 0 {
            region = Int(nodes[region].parent)
        }
        // An explicit main element (main, article, role=main) that holds most of the page's text
        // outside boilerplate containers is the region, whatever its link density: index pages and
        // tables of contents are lists of links and still the page's content.
        var explicitMain = false
        if let m = explicitMainNode(nodes: nodes, blocks: blocks, negAbove: negAbove),
           m != region, (region < m && Int(nodes[region].end) >= Int(nodes[m].end)) || (m < region && region < Int(nodes[m].end))
        {
            region = m
            explicitMain = true
        } else if nodes[region].isMain {
            explicitMain = true
        }
        let regionEnd = Int(nodes[region].end)
        // Boilerplate containers nested inside the region.
        negInside = [Bool](repeating: false, count: n)
        if region + 1 < regionEnd {
            for i in (region + 1)..<regionEnd {
                let p = Int(nodes[i].parent)
                negInside[i] = nodes[i].negative || (p != region && p >= 0 && negInside[p])
            }
        }
        // Near the region: its parent and grandparent.
        var near = region
        for _ in 0..<2 where near > 0 { near = Int(nodes[near].parent) }
        let nearEnd = Int(nodes[near].end)

        var groupSizes: [Int: Int] = [:]
        if explicitMain {
            for b in blocks where b.group >= 0 && Int(b.node) >= region && Int(b.node) < regionEnd {
                groupSizes[Int(b.group), default: 0] += 1
            }
        }
        var keptChars = 0
        var firstInRegion = -1
        for (k, b) in blocks.enumerated() {
            let node = Int(b.node)
            let ld = linkDensity(b)
            if node >= region && node < regionEnd {
                // Inside the main region only bare link lines go ("Next", "Share", "Tweet").
                if firstInRegion < 0 { firstInRegion = k }
                if negInside[node] { continue }
                if ld > 0.9 && b.chars < 100 {
                    // Inside an explicit main element, link lines stay when they are entries of a
                    // long list or table (an index) or not short; "Next", "Share" and the like go.
                    guard explicitMain, b.chars >= linkLineMax || (b.group >= 0 && groupSizes[Int(b.group), default: 0] >= 6) else {
                        continue
                    }
                }
                keep[k] = true
            } else if node >= near && node < nearEnd && !negAbove[node] {
                if b.kind != .heading && b.chars >= 60 && ld < 0.3 { keep[k] = true }
            }
            if keep[k] { keptChars += Int(b.chars) }
        }
        // The heading just before the region (the page's title heading).
        if firstInRegion > 0 {
            var k = firstInRegion - 1
            var steps = 0
            while k >= 0 && steps < 3 {
                let b = blocks[k]
                let node = Int(b.node)
                if b.kind == .heading && node >= near && node < nearEnd && !negAbove[node] && linkDensity(b) < 0.5 {
                    keep[k] = true
                    break
                }
                if keep[k] { break }
                k -= 1
                steps += 1
            }
        }
        // Fallback for pages where the region holds almost nothing.
        if keptChars < 50 {
            keptChars = 0
            for (k, b) in blocks.enumerated() {
                keep[k] = !negAbove[Int(b.node)] && linkDensity(b) < 0.5
                if keep[k] { keptChars += Int(b.chars) }
            }
            if keptChars == 0 {
                for (k, b) in blocks.enumerated() { keep[k] = linkDensity(b) < 0.5 && b.chars >= 1 }
            }
        }
        // Headings need content after them (before the next heading of the same or higher rank).
        var k = blocks.count - 1
        var contentFollows = false
        while k >= 0 {
            let b = blocks[k]
            if b.kind == .heading {
                if keep[k] && !contentFollows { keep[k] = false }
                if keep[k] { contentFollows = true }
            } else if keep[k] {
                contentFollows = true
            }
            k -= 1
        }
    }

    /// Link lines shorter than this are dropped even inside an explicit main element ("Next",
    /// "Share", "Edit on GitHub").
    private var linkLineMax: Int32 { 16 }

    /// The main/article/role=main element holding the most characters outside boilerplate
    /// containers, when that is at least 40% of them; nil otherwise. Linear in the page.
    private func explicitMainNode(nodes: [Node], blocks: [Block], negAbove: [Bool]) -> Int? {
        guard nodes.contains(where: { $0.isMain }) else { return nil }
        var chars = [Int](repeating: 0, count: nodes.count)
        for b in blocks where !negAbove[Int(b.node)] { chars[Int(b.node)] += Int(b.chars) }
        for i in stride(from: nodes.count - 1, through: 1, by: -1) {
            let p = Int(nodes[i].parent)
            if p >= 0 { chars[p] += chars[i] }
        }
        var bestNode: Int?
        var bestChars = 0
        for i in 0..<nodes.count where nodes[i].isMain && chars[i] > bestChars {
            bestChars = chars[i]
            bestNode = i
        }
        guard let m = bestNode, chars[0] > 0, bestChars * 10 >= chars[0] * 4 else { return nil }
        return m
    }

    // MARK: Rendering

    private func render() {
        out.removeAll(keepingCapacity: true)
        let blocks = builder.state.blocks
        let md = configuration.markdown
        var prev: Block?
        var inFence = false
        builder.state.text.withUnsafeBufferPointer { text in
            for (k, b) in blocks.enumerated() where keep[k] {
                if let p = prev {
                    let sameGroup = b.group >= 0 && b.group == p.group && b.kind == p.kind
                    if md && inFence && !(b.kind == .pre && p.kind == .pre && b.node == p.node) {
                        out.append(contentsOf: [0x0A, 0x60, 0x60, 0x60])
                        inFence = false
                    }
                    out.append(0x0A)
                    if !sameGroup { out.append(0x0A) }
                }
                let body = UnsafeBufferPointer(rebasing: text[Int(b.start)..<Int(b.end)])
                if md {
                    switch b.kind {
                    case .heading:
                        out.append(contentsOf: repeatElement(UInt8(ascii: "#"), count: Int(max(1, min(6, b.level)))))
                        out.append(0x20)
                    case .listItem:
                        out.append(contentsOf: [0x2D, 0x20])
                    case .blockquote:
                        out.append(contentsOf: [0x3E, 0x20])
                    case .row:
                        out.append(contentsOf: [0x7C, 0x20])
                    case .pre:
                        if !inFence {
                            out.append(contentsOf: [0x60, 0x60, 0x60, 0x0A])
                            inFence = true
                        }
                    default: break
                    }
                }
                out.append(contentsOf: body)
                if md && b.kind == .row { out.append(contentsOf: [0x20, 0x7C]) }
                prev = b
            }
        }
        if inFence { out.append(contentsOf: [0x0A, 0x60, 0x60, 0x60]) }
    }
}
