import Glibc

/// What an element is to extraction.
enum TagKind: UInt8 {
    /// Inline markup (span, b, em, code, …) and unknown elements: text flows through.
    case inline
    /// An anchor: its text counts as link text when it has an `href`.
    case link
    /// A block container (div, section, article, body, …): starts and ends blocks.
    case container
    case paragraph
    case heading
    case listItem
    case list
    case pre
    case blockquote
    case table
    case row
    case cell
    case lineBreak
    case rule
    case title
    /// Never text: script, style, head, svg, iframe, form controls, media.
    case skip
}

struct TagInfo {
    var kind: TagKind
    /// Heading level for h1–h6.
    var level: UInt8 = 0
    /// Semantic boilerplate (nav, aside, footer, header, form): its blocks are dropped unless the
    /// main content lies inside it.
    var softNegative = false
    /// Semantic main content (main, article).
    var semanticMain = false
    /// An element of the row-building table structure.
    var opensBlock: Bool {
        switch kind {
        case .inline, .link, .lineBreak, .cell, .title, .skip: false
        default: true
        }
    }
}

/// Packs up to 8 ASCII bytes (a lowercase tag name or class token) into a `UInt64`; longer
/// strings are hashed with the top bit set so they never equal a packed short one.
@inline(__always)
func packKey(_ p: UnsafePointer<UInt8>, _ n: Int) -> UInt64 {
    if n <= 8 {
        var k: UInt64 = 0
        for i in 0..<n { k |= UInt64(p[i]) << (8 * UInt64(i)) }
        return k
    }
    var h: UInt64 = 0xCBF2_9CE4_8422_2325
    for i in 0..<n { h = (h ^ UInt64(p[i])) &* 0x100_0000_01B3 }
    return h | (1 << 63)
}

func packKey(_ s: String) -> UInt64 {
    var a = Array(s.utf8)
    return a.withUnsafeMutableBufferPointer { packKey($0.baseAddress!, $0.count) }
}

/// A small open-addressing map from packed keys to values: cheaper than `Dictionary`'s
/// seeded hashing on the per-element path.
struct KeyMap<Value>: @unchecked Sendable {
    private var keys: [UInt64]
    private var values: [Value?]
    private let mask: Int

    init(_ pairs: [(UInt64, Value)]) {
        var size = 16
        while size < pairs.count * 4 { size *= 2 }
        mask = size - 1
        keys = Array(repeating: 0, count: size)
        values = Array(repeating: nil, count: size)
        for (k, v) in pairs {
            var i = Self.slot(k, mask)
            while values[i] != nil && keys[i] != k { i = (i + 1) & mask }
            keys[i] = k
            values[i] = v
        }
    }

    @inline(__always) private static func slot(_ k: UInt64, _ mask: Int) -> Int {
        Int(truncatingIfNeeded: (k &* 0x9E37_79B9_7F4A_7C15) >> 40) & mask
    }

    @inline(__always) subscript(_ k: UInt64) -> Value? {
        var i = Self.slot(k, mask)
        while true {
            guard let v = values[i] else { return nil }
            if keys[i] == k { return v }
            i = (i + 1) & mask
        }
    }

    @inline(__always) func contains(_ k: UInt64) -> Bool { self[k] != nil }
}

let tagTable: KeyMap<TagInfo> = {
    var t: [(UInt64, TagInfo)] = []
    func add(_ names: [String], _ info: TagInfo) { for n in names { t.append((packKey(n), info)) } }
    add(["a"], TagInfo(kind: .link))
    add(["div", "section", "body", "html", "center", "figure", "figcaption", "details", "summary", "address",
         "dl", "fieldset", "legend", "hgroup", "caption", "tbody", "thead", "tfoot", "dialog", "search", "noframes"],
        TagInfo(kind: .container))
    add(["main", "article"], TagInfo(kind: .container, semanticMain: true))
    add(["nav", "aside", "footer", "header", "form", "menu"], TagInfo(kind: .container, softNegative: true))
    add(["p", "dt", "dd"], TagInfo(kind: .paragraph))
    for l in 1...6 { add(["h\(l)"], TagInfo(kind: .heading, level: UInt8(l))) }
    add(["li"], TagInfo(kind: .listItem))
    add(["ul", "ol", "dir"], TagInfo(kind: .list))
    add(["pre", "listing", "xmp", "plaintext"], TagInfo(kind: .pre))
    add(["blockquote"], TagInfo(kind: .blockquote))
    add(["table"], TagInfo(kind: .table))
    add(["tr"], TagInfo(kind: .row))
    add(["td", "th"], TagInfo(kind: .cell))
    add(["br"], TagInfo(kind: .lineBreak))
    add(["hr"], TagInfo(kind: .rule))
    add(["title"], TagInfo(kind: .title))
    add(["script", "style", "noscript", "template", "svg", "math", "head", "iframe", "object", "embed", "canvas",
         "select", "textarea", "button", "option", "optgroup", "datalist", "audio", "video", "map", "applet",
         "frameset", "frame", "input", "label", "output", "meter", "progress", "picture", "source", "track", "param",
         "img", "area", "meta", "link", "base", "slot"],
        TagInfo(kind: .skip))
    return KeyMap(t)
}()

/// Class and id tokens that mark boilerplate containers (exact tokens).
let negativeTokens = KeyMap<Bool>([
    "nav", "navbar", "navigation", "navheader", "navfooter", "navlinks", "menu", "menubar", "mainmenu", "submenu",
    "breadcrumb", "breadcrumbs", "crumbs", "footer", "sidebar", "sidenav", "comment", "comments", "share", "sharing",
    "social", "related", "cookie", "cookies", "consent", "banner", "advert", "advertisement", "ads", "ad", "adsense",
    "sponsored", "sponsor", "promo", "promotion", "newsletter", "subscribe", "subscription", "popup", "modal",
    "pagination", "pager", "masthead", "toolbar", "widget", "widgets", "skiplink", "skip", "signup", "login",
    "disqus", "outbrain", "taboola", "tags", "tagcloud", "byline", "author", "meta", "postmeta", "copyright",
    "legal", "sitemap", "topbar", "header", "logo", "searchbox", "search", "toc", "rss", "feed", "print",
    "hidden", "sr", "offscreen", "visually", "shoutbox", "recommended", "trending", "popular", "relatedposts",
].map { (packKey($0), true) })

/// Stems matched at the start or end of a class or id token (`sitefooter`, `commentlist`).
let negativeStems: [[UInt8]] = [
    "footer", "sidebar", "comment", "breadcrumb", "cookie", "navigation", "newsletter", "advert", "sharing",
    "social", "subscribe", "related", "pagination", "widget", "banner", "sponsor", "promo", "popup", "navbar",
    "menu",
].map { Array($0.utf8) }

/// Class and id tokens that mark main content.
let positiveTokens = KeyMap<Bool>([
    "article", "content", "main", "post", "entry", "story", "text", "body", "blog", "prose", "markdown", "document",
    "maincontent", "postbody", "articlebody", "entrycontent", "postcontent", "storybody", "page",
].map { (packKey($0), true) })

struct Node {
    var parent: Int32
    var end: Int32 = 0
    var info: TagInfo
    /// This element's own class/id/role say boilerplate, or it is nav/aside/footer/header/form.
    var negative: Bool
    var positive: Bool
    /// main, article, or role="main"/"article".
    var isMain: Bool = false
}

struct Block {
    var start: Int32
    var end: Int32
    var node: Int32
    var kind: TagKind
    var level: UInt8
    var chars: Int32
    var linkChars: Int32
    /// The node of the list or table the item or row belongs to (for single-line separation).
    var group: Int32
}

struct Frame {
    var key: UInt64
    var kind: TagKind
    /// The node this element opened, or -1.
    var node: Int32
    var isLink: Bool
    var startsSkip: Bool
    var cellHasBlocks: Bool = false
}

/// Turns SAX events into blocks of whitespace-normalised text with the element tree around them
/// (only block-level elements become nodes). ``HTMLExtractor`` then picks the main content.
///
/// The SAX callbacks reach it through ``HTMLBlockBuilder`` with one access per event, so the
/// per-byte work inside runs on a value with static exclusivity.
struct BlockState {
    // Guards.
    var maxDepth = 10_000
    var deadline: UInt64 = .max
    private var eventCount = 0

    // Outcome.
    var stopRequested = false
    var tooDeep = false
    var timedOut = false

    // Results.
    var text: [UInt8] = []
    var blocks: [Block] = []
    var nodes: [Node] = []
    var title: [UInt8] = []

    // State.
    private var stack: [Frame] = []
    /// Stack depth at which a skipped subtree started, or Int.max.
    private var skipFrom = Int.max
    /// The element that started the skipped subtree.
    private var skipKey: UInt64 = 0
    private let headKey = packKey("head")
    private var inTitle = false
    private var titleDone = false
    private var linkDepth = 0
    private var preDepth = 0
    private var currentNode: Int32 = 0
    // The block being built.
    private var blockOpen = false
    private var blockStart = 0
    private var blockChars = 0
    private var blockLinkChars = 0
    private var blockKind = TagKind.paragraph
    private var blockLevel: UInt8 = 0
    private var blockNode: Int32 = 0
    private var blockGroup: Int32 = -1
    private var pendingSpace = false
    private var rowCells = 0

    mutating func reset() {
        stopRequested = false
        tooDeep = false
        timedOut = false
        eventCount = 0
        text.removeAll(keepingCapacity: true)
        blocks.removeAll(keepingCapacity: true)
        nodes.removeAll(keepingCapacity: true)
        title.removeAll(keepingCapacity: true)
        stack.removeAll(keepingCapacity: true)
        skipFrom = Int.max
        inTitle = false
        titleDone = false
        linkDepth = 0
        preDepth = 0
        blockOpen = false
        pendingSpace = false
        rowCells = 0
        // Node 0: the document.
        nodes.append(Node(parent: -1, info: TagInfo(kind: .container), negative: false, positive: false))
        currentNode = 0
    }

    mutating func finish() {
        flushBlock()
        for i in nodes.indices where nodes[i].end == 0 { nodes[i].end = Int32(nodes.count) }
        nodes[0].end = Int32(nodes.count)
    }

    /// Checks the time budget; true (and stop requested) when it is spent.
    mutating func checkBudgetNow() -> Bool {
        if deadline != .max && monotonicNow() > deadline {
            timedOut = true
            stopRequested = true
        }
        return stopRequested
    }

    @inline(__always) private mutating func tick() {
        eventCount &+= 1
        if eventCount & 255 == 0 { _ = checkBudgetNow() }
    }

    // MARK: Events

    mutating func startElement(_ name: UnsafePointer<UInt8>, _ atts: UnsafeMutablePointer<UnsafePointer<UInt8>?>?) {
        tick()
        if stack.count >= maxDepth {
            tooDeep = true
            stopRequested = true
            return
        }
        let n = strlen(UnsafeRawPointer(name).assumingMemoryBound(to: CChar.self))
        let key = packKey(name, n)
        let info = tagTable[key] ?? TagInfo(kind: .inline)
        if info.kind == .title && !titleDone && (stack.count < skipFrom || skipKey == headKey) {
            stack.append(Frame(key: key, kind: .title, node: -1, isLink: false, startsSkip: false))
            inTitle = true
            return
        }
        if stack.count >= skipFrom {
            stack.append(Frame(key: key, kind: info.kind, node: -1, isLink: false, startsSkip: false))
            return
        }
        if info.kind == .title {
            stack.append(Frame(key: key, kind: .title, node: -1, isLink: false, startsSkip: true))
            skipFrom = stack.count - 1
            skipKey = key
            return
        }
        // Attributes: hidden elements and class/id/role hints.
        var hidden = false
        var negative = info.softNegative
        var positive = info.semanticMain
        var hasHref = false
        var isMain = info.semanticMain
        if let atts {
            var i = 0
            while let an = atts[i] {
                let av = atts[i + 1]
                i += 2
                let len = strlen(UnsafeRawPointer(an).assumingMemoryBound(to: CChar.self))
                switch len {
                case 2 where an[0] == UInt8(ascii: "i") && an[1] == UInt8(ascii: "d"):
                    if let av { classify(av, &negative, &positive) }
                case 4 where an[0] == UInt8(ascii: "h") && an[1] == UInt8(ascii: "r"):
                    hasHref = true
                case 4 where an[0] == UInt8(ascii: "r") && an[1] == UInt8(ascii: "o"):
                    if let av { role(av, &negative, &positive, &isMain) }
                case 5 where an[0] == UInt8(ascii: "c") && an[1] == UInt8(ascii: "l"):
                    if let av { classify(av, &negative, &positive) }
                case 5 where an[0] == UInt8(ascii: "s") && an[1] == UInt8(ascii: "t"):
                    if let av, styleHides(av) { hidden = true }
                case 6 where an[0] == UInt8(ascii: "h") && an[1] == UInt8(ascii: "i"):
                    hidden = true
                case 11 where an[0] == UInt8(ascii: "a") && an[5] == UInt8(ascii: "h"):
                    if let av, av[0] == UInt8(ascii: "t") { hidden = true }
                default: break
                }
            }
        }
        if info.kind == .skip || hidden {
            stack.append(Frame(key: key, kind: info.kind, node: -1, isLink: false, startsSkip: true))
            skipFrom = stack.count - 1
            skipKey = key
            return
        }
        switch info.kind {
        case .inline:
            stack.append(Frame(key: key, kind: .inline, node: -1, isLink: false, startsSkip: false))
            return
        case .link:
            let isLink = hasHref
            if isLink { linkDepth += 1 }
            stack.append(Frame(key: key, kind: .link, node: -1, isLink: isLink, startsSkip: false))
            return
        case .lineBreak:
            stack.append(Frame(key: key, kind: .lineBreak, node: -1, isLink: false, startsSkip: false))
            if blockOpen && blockChars > 0 {
                // A line break inside a block.
                if text.last == 0x20 { text.removeLast() }
                text.append(0x0A)
                pendingSpace = false
            }
            return
        case .cell:
            stack.append(Frame(key: key, kind: .cell, node: -1, isLink: false, startsSkip: false))
            if blockOpen && blockKind == .row {
                if rowCells > 0 && blockChars > 0 {
                    if text.last == 0x20 { text.removeLast() }
                    text.append(contentsOf: [0x20, 0x7C, 0x20])  // " | "
                    pendingSpace = false
                }
                rowCells += 1
            }
            return
        default:
            break
        }
        // A block-level element: a new node.
        if let top = stack.last, top.kind == .cell, blockOpen, blockKind == .row {
            // A layout cell with block content: the row stops being a row.
            flushBlock()
        }
        flushBlock()
        let node = Int32(nodes.count)
        nodes.append(Node(parent: currentNode, info: info, negative: negative, positive: positive, isMain: isMain))
        stack.append(Frame(key: key, kind: info.kind, node: node, isLink: false, startsSkip: false))
        currentNode = node
        switch info.kind {
        case .pre: preDepth += 1
        case .row:
            openBlock(kind: .row, level: 0, group: nodes[Int(node)].parent)
            rowCells = 0
        default: break
        }
    }

    mutating func endElement(_ name: UnsafePointer<UInt8>) {
        tick()
        guard !stack.isEmpty else { return }
        let n = strlen(UnsafeRawPointer(name).assumingMemoryBound(to: CChar.self))
        let key = packKey(name, n)
        if stack[stack.count - 1].key != key {
            // Not the innermost element: close down to it if it is near, else ignore.
            var k = stack.count - 2
            while k >= 0 && k >= stack.count - 8 && stack[k].key != key { k -= 1 }
            if k < 0 || k < stack.count - 8 { return }
            while stack.count > k + 1 { pop() }
        }
        pop()
    }

    private mutating func pop() {
        let f = stack.removeLast()
        if f.kind == .title && inTitle {
            inTitle = false
            titleDone = true
            return
        }
        let depth = stack.count
        if depth > skipFrom { return }
        if depth == skipFrom {
            skipFrom = Int.max
            return
        }
        if f.isLink { linkDepth -= 1 }
        if f.node >= 0 {
            flushBlock()
            nodes[Int(f.node)].end = Int32(nodes.count)
            if f.kind == .pre { preDepth -= 1 }
            currentNode = nodes[Int(f.node)].parent
        }
    }

    mutating func characters(_ ch: UnsafePointer<UInt8>, _ len: Int) {
        tick()
        if inTitle {
            Self.appendCollapsed(ch, len, into: &title)
            return
        }
        if stack.count > skipFrom { return }
        if !blockOpen {
            // Skip pure whitespace outside blocks.
            var i = 0
            while i < len && (ch[i] == 0x20 || ch[i] == 0x0A || ch[i] == 0x09 || ch[i] == 0x0D || ch[i] == 0x0C) { i += 1 }
            if i == len { return }
            openBlock(kind: blockKindForCurrent(), level: headingLevel(), group: groupForCurrent())
        }
        if preDepth > 0 {
            var added = 0
            var i = 0
            while i < len {
                let c = ch[i]
                i += 1
                if c == 0x0D { continue }
                if c == 0x0A && text.count == blockStart { continue }  // the newline after <pre> is not content
                text.append(c)
                if c & 0xC0 != 0x80 && c != 0x20 && c != 0x0A && c != 0x09 { added += 1 }
            }
            blockChars += added
            if linkDepth > 0 { blockLinkChars += added }
            return
        }
        var added = 0
        var i = 0
        while i < len {
            let c = ch[i]
            if c == 0x20 || c == 0x0A || c == 0x09 || c == 0x0D || c == 0x0C {
                pendingSpace = true
                i += 1
                continue
            }
            if c == 0xC2 && i + 1 < len && ch[i + 1] == 0xA0 {  // no-break space
                pendingSpace = true
                i += 2
                continue
            }
            if pendingSpace {
                if blockChars + added > 0 && text.last != 0x0A { text.append(0x20) }
                pendingSpace = false
            }
            // A run of non-space bytes, appended at once.
            var j = i
            var chars = 0
            while j < len {
                let d = ch[j]
                if d == 0x20 || d == 0x0A || d == 0x09 || d == 0x0D || d == 0x0C { break }
                if d == 0xC2 && j + 1 < len && ch[j + 1] == 0xA0 { break }
                if d & 0xC0 != 0x80 { chars += 1 }
                j += 1
            }
            text.append(contentsOf: UnsafeBufferPointer(start: ch + i, count: j - i))
            added += chars
            i = j
        }
        blockChars += added
        if linkDepth > 0 { blockLinkChars += added }
    }

    // MARK: Blocks

    private func blockKindForCurrent() -> TagKind {
        // The innermost block-level element decides the block kind.
        var k = stack.count - 1
        while k >= 0 {
            let f = stack[k]
            if f.node >= 0 {
                switch f.kind {
                case .paragraph, .heading, .listItem, .pre, .blockquote, .row: return f.kind
                case .table: return .row
                default: return .paragraph
                }
            }
            k -= 1
        }
        return .paragraph
    }

    private func headingLevel() -> UInt8 {
        var k = stack.count - 1
        while k >= 0 {
            if stack[k].node >= 0 { return nodes[Int(stack[k].node)].info.level }
            k -= 1
        }
        return 0
    }

    private func groupForCurrent() -> Int32 {
        // List items and rows: the list or table they belong to.
        var k = stack.count - 1
        while k >= 0 {
            if stack[k].node >= 0 {
                let kind = stack[k].kind
                if kind == .listItem || kind == .row { return nodes[Int(stack[k].node)].parent }
                return -1
            }
            k -= 1
        }
        return -1
    }

    private mutating func openBlock(kind: TagKind, level: UInt8, group: Int32) {
        blockOpen = true
        blockStart = text.count
        blockChars = 0
        blockLinkChars = 0
        blockKind = kind
        blockLevel = level
        blockNode = currentNode
        blockGroup = group
        pendingSpace = false
    }

    private mutating func flushBlock() {
        guard blockOpen else { return }
        blockOpen = false
        pendingSpace = false
        // Trim trailing whitespace.
        while text.count > blockStart, let l = text.last, l == 0x20 || l == 0x0A || l == 0x09 { text.removeLast() }
        if blockKind == .row {
            // Drop a trailing cell separator.
            while text.count >= blockStart + 3 && text[text.count - 1] == 0x20 && text[text.count - 2] == 0x7C { text.removeLast(3) }
        }
        guard blockChars > 0, text.count > blockStart else {
            text.removeSubrange(blockStart...)
            return
        }
        blocks.append(Block(
            start: Int32(blockStart), end: Int32(text.count), node: blockNode, kind: blockKind, level: blockLevel,
            chars: Int32(blockChars), linkChars: Int32(min(blockLinkChars, blockChars)), group: blockGroup))
    }

    private static func appendCollapsed(_ ch: UnsafePointer<UInt8>, _ len: Int, into out: inout [UInt8]) {
        guard out.count < 4096 else { return }
        for i in 0..<len {
            let c = ch[i]
            if c == 0x20 || c == 0x0A || c == 0x09 || c == 0x0D {
                if let l = out.last, l != 0x20 { out.append(0x20) }
            } else {
                out.append(c)
            }
        }
    }

    // MARK: Attribute hints

    private func classify(_ value: UnsafePointer<UInt8>, _ negative: inout Bool, _ positive: inout Bool) {
        // Split into lowercase alphanumeric tokens (in place, in a small stack buffer).
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 64) { token in
            var n = 0
            var i = 0
            while true {
                let c = value[i]
                var lc = c
                if c >= 0x41 && c <= 0x5A { lc = c | 0x20 }
                let isAlnum = (lc >= 0x61 && lc <= 0x7A) || (lc >= 0x30 && lc <= 0x39)
                if isAlnum {
                    if n < 64 { token[n] = lc }
                    n += 1
                } else {
                    if n > 0 && n <= 64 {
                        judge(UnsafeBufferPointer(rebasing: token[0..<n]), &negative, &positive)
                    }
                    n = 0
                    if c == 0 || i > 512 { break }
                }
                i += 1
            }
        }
    }

    private func judge(_ token: UnsafeBufferPointer<UInt8>, _ negative: inout Bool, _ positive: inout Bool) {
        let key = packKey(token.baseAddress!, token.count)
        if negativeTokens.contains(key) {
            negative = true
            return
        }
        if positiveTokens.contains(key) {
            positive = true
            return
        }
        if token.count >= 6 {
            for stem in negativeStems where token.count > stem.count {
                if token.starts(with: stem) || token.suffix(stem.count).elementsEqual(stem) {
                    negative = true
                    return
                }
            }
        }
    }

    private func role(_ value: UnsafePointer<UInt8>, _ negative: inout Bool, _ positive: inout Bool, _ isMain: inout Bool) {
        let n = strlen(UnsafeRawPointer(value).assumingMemoryBound(to: CChar.self))
        let key = packKey(value, n)
        if roleNegative.contains(key) { negative = true }
        if roleMain.contains(key) {
            positive = true
            isMain = true
        }
    }

    private func styleHides(_ value: UnsafePointer<UInt8>) -> Bool {
        // display:none or visibility:hidden, spaces ignored, case-insensitive.
        var compact = [UInt8]()
        var i = 0
        while value[i] != 0 && i < 512 {
            let c = value[i]
            if c != 0x20 && c != 0x09 && c != 0x0A { compact.append(c >= 0x41 && c <= 0x5A ? c | 0x20 : c) }
            i += 1
        }
        return findCaseInsensitive(compact, "display:none", from: 0) != nil
            || findCaseInsensitive(compact, "visibility:hidden", from: 0) != nil
    }
}

/// One per worker, reused from page to page (its buffers keep their capacity).
final class HTMLBlockBuilder {
    var state = BlockState()
    var parserFailed = false
    /// The libxml2 context while parsing (owned by ``LibXML2SAX``).
    var parserContext: UnsafeMutableRawPointer?
}

private let roleNegative = KeyMap<Bool>(
    ["navigation", "banner", "contentinfo", "complementary", "search", "menu", "menubar", "dialog", "alertdialog", "toolbar"].map { (packKey($0), true) })
private let roleMain = KeyMap<Bool>(["main", "article"].map { (packKey($0), true) })

@inline(__always) func monotonicNow() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}
