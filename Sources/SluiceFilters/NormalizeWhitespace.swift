import SluiceCore

/// Normalises whitespace on the UTF-8 bytes of each document's text.
///
/// YAML type `normalize_whitespace`. In one pass it:
///
/// 1. turns every line break into `\n`: `\r\n`, a lone `\r`, vertical tab, form feed,
///    U+0085 NEXT LINE and U+2028 LINE SEPARATOR become one `\n`, and U+2029 PARAGRAPH SEPARATOR
///    becomes a paragraph break, `\n\n` (always on);
/// 2. with `unicode_spaces` (default `true`), turns tabs and the Unicode spaces (U+00A0,
///    U+1680, U+2000–U+200A, U+202F, U+205F, U+3000) into an ASCII space; when `false` they are
///    kept as they are, but still count as spaces for stripping;
/// 3. with `collapse_spaces` (default `true`), collapses runs of ASCII spaces into one;
/// 4. with `strip_lines` (default `true`), removes spaces at the start and end of every line;
/// 5. treats lines holding only spaces as blank lines and writes them empty, keeps at most
///    `max_blank_lines` (default 1) blank lines in a row, so paragraphs stay separated by
///    exactly one blank line, and removes blank lines and line breaks at the start and end of
///    the document (the text never ends with `\n`).
///
/// Zero-width characters (U+200B, U+FEFF) are not whitespace and are kept. Documents that end
/// up empty (including those that were empty) are dropped with `empty_after_normalization`.
/// The counter `documents_changed` counts kept documents whose text changed.
///
/// ```yaml
/// - type: normalize_whitespace
///   max_blank_lines: 1
///   strip_lines: true
/// ```
public struct NormalizeWhitespace: MapperStage {
    public struct Configuration: Decodable, Sendable {
        public var unicodeSpaces: Bool
        public var collapseSpaces: Bool
        public var stripLines: Bool
        public var maxBlankLines: Int

        enum CodingKeys: String, CodingKey {
            case unicodeSpaces = "unicode_spaces", collapseSpaces = "collapse_spaces"
            case stripLines = "strip_lines", maxBlankLines = "max_blank_lines"
        }

        public init(unicodeSpaces: Bool = true, collapseSpaces: Bool = true, stripLines: Bool = true, maxBlankLines: Int = 1) {
            self.unicodeSpaces = unicodeSpaces
            self.collapseSpaces = collapseSpaces
            self.stripLines = stripLines
            self.maxBlankLines = maxBlankLines
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            unicodeSpaces = try c.decodeIfPresent(Bool.self, forKey: .unicodeSpaces) ?? true
            collapseSpaces = try c.decodeIfPresent(Bool.self, forKey: .collapseSpaces) ?? true
            stripLines = try c.decodeIfPresent(Bool.self, forKey: .stripLines) ?? true
            maxBlankLines = try c.decodeIfPresent(Int.self, forKey: .maxBlankLines) ?? 1
        }
    }

    public static let type = "normalize_whitespace"
    public static let summary = "Normalises line breaks, spaces and blank lines; drops documents left empty."
    public static let options: [StageOption] = [
        StageOption("unicode_spaces", "bool", default: "true", help: "Turn tabs and Unicode spaces (U+00A0, U+2000-U+200A, U+3000, ...) into ASCII spaces."),
        StageOption("collapse_spaces", "bool", default: "true", help: "Collapse runs of spaces into one."),
        StageOption("strip_lines", "bool", default: "true", help: "Remove spaces at the start and end of every line."),
        StageOption("max_blank_lines", "int", default: "1", help: "Most blank lines kept in a row (0 joins paragraphs with a single line break)."),
    ]
    public static let dropReasons: [DropReason] = ["empty_after_normalization"]

    public let configuration: Configuration
    /// The most line breaks written in a row: `max_blank_lines + 1`.
    private let maxBreaks: Int

    public init(configuration: Configuration) throws {
        guard configuration.maxBlankLines >= 0 else {
            throw StageConfigurationError("max_blank_lines must not be negative, got \(configuration.maxBlankLines)")
        }
        self.configuration = configuration
        maxBreaks = configuration.maxBlankLines == Int.max ? Int.max : configuration.maxBlankLines + 1
    }

    /// Normalises a batch with one reused output buffer, and counts `documents_changed`.
    public func process(_ batch: inout DocumentBatch, stats: inout StageStats) throws {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(64 * 1024)
        var changed = 0
        batch.retain { apply(to: &$0, buffer: &buffer, changed: &changed) }
        stats.counters["documents_changed", default: 0] += changed
    }

    public func map(_ document: inout Document) -> Verdict {
        var buffer: [UInt8] = []
        var changed = 0
        return apply(to: &document, buffer: &buffer, changed: &changed)
    }

    /// The normalised form of `text` (empty when nothing but whitespace is left).
    public func normalize(_ text: String) -> String {
        var buffer: [UInt8] = []
        let length = text.withUTF8Bytes { normalize($0, buffer: &buffer) }
        return buffer.withUnsafeBufferPointer { String(decoding: UnsafeBufferPointer(rebasing: $0[..<length]), as: UTF8.self) }
    }

    private func apply(to document: inout Document, buffer: inout [UInt8], changed: inout Int) -> Verdict {
        var length = 0
        let unchanged = document.text.withUTF8Bytes { input -> Bool in
            length = normalize(input, buffer: &buffer)
            return length == input.count && buffer.withUnsafeBufferPointer { bytesEqual(UnsafeBufferPointer(rebasing: $0[..<length]), input) }
        }
        if length == 0 { return .drop("empty_after_normalization") }
        if !unchanged {
            document.text = buffer.withUnsafeBufferPointer {
                String(decoding: UnsafeBufferPointer(rebasing: $0[..<length]), as: UTF8.self)
            }
            changed += 1
        }
        return .keep
    }

    /// Normalises UTF-8 `input` into the start of `buffer`, growing it when needed but never
    /// shrinking it (so one buffer serves a whole batch), and returns the output length. The
    /// output is never longer than the input.
    public func normalize(_ input: UnsafeBufferPointer<UInt8>, buffer: inout [UInt8]) -> Int {
        if buffer.count < input.count {
            buffer.append(contentsOf: repeatElement(0, count: input.count - buffer.count))
        }
        return buffer.withUnsafeMutableBufferPointer { out in
            Self.byteClasses.withUnsafeBufferPointer { table in
                var normalizer = WhitespaceNormalizer(
                    input: input, output: out.baseAddress!, classes: table.baseAddress!,
                    unicodeSpaces: configuration.unicodeSpaces, collapse: configuration.collapseSpaces,
                    strip: configuration.stripLines, maxBreaks: maxBreaks)
                return normalizer.run()
            }
        }
    }

    // Byte classes: 0 content, 1 space or tab, 2 LF, 3 CR, 4 VT or FF, 5 a lead byte that may
    // start a Unicode space or line break.
    fileprivate static let byteClasses: [UInt8] = (0..<256).map { i -> UInt8 in
        switch UInt8(i) {
        case 0x20, 0x09: 1
        case 0x0A: 2
        case 0x0D: 3
        case 0x0B, 0x0C: 4
        case let b where UTF8Whitespace.mayStartNonASCIIWhitespace(b): 5
        default: 0
        }
    }
}

/// One normalisation pass: reads `input`, writes at most `input.count` bytes to `output`.
private struct WhitespaceNormalizer {
    let input: UnsafeBufferPointer<UInt8>
    let output: UnsafeMutablePointer<UInt8>
    let classes: UnsafePointer<UInt8>
    let unicodeSpaces: Bool
    let collapse: Bool
    let strip: Bool
    let maxBreaks: Int

    /// Bytes written.
    var written = 0
    /// Content written to the document yet (leading blank lines are dropped).
    var started = false
    /// Content written to the current line yet.
    var lineHasContent = false
    /// Line breaks since the last line with content.
    var pendingBreaks = 0
    /// Start of the pending run of spaces in `input`, or -1.
    var spaceStart = -1
    /// Whether the next content byte must first write pending breaks or spaces.
    var needsStart = true

    init(
        input: UnsafeBufferPointer<UInt8>, output: UnsafeMutablePointer<UInt8>, classes: UnsafePointer<UInt8>,
        unicodeSpaces: Bool, collapse: Bool, strip: Bool, maxBreaks: Int
    ) {
        self.input = input
        self.output = output
        self.classes = classes
        self.unicodeSpaces = unicodeSpaces
        self.collapse = collapse
        self.strip = strip
        self.maxBreaks = maxBreaks
    }

    mutating func run() -> Int {
        let n = input.count
        guard n > 0, let base = input.baseAddress else { return 0 }
        var i = 0
        while i < n {
            let b = base[i]
            let k = classes[Int(b)]
            if k == 0 {
                if needsStart { startContent(at: i) }
                // Copy a run of content, including single ASCII spaces between content bytes
                // (no option changes those), in a tight loop over locals.
                var w = written
                var j = i
                while true {
                    output[w] = base[j]
                    w &+= 1
                    j &+= 1
                    guard j < n else { break }
                    let next = base[j]
                    if classes[Int(next)] == 0 { continue }
                    if next == 0x20 && j + 1 < n && classes[Int(base[j + 1])] == 0 {
                        output[w] = 0x20
                        w &+= 1
                        j &+= 1
                        continue
                    }
                    break
                }
                written = w
                i = j
                continue
            }
            switch k {
            case 1:
                if spaceStart < 0 {
                    spaceStart = i
                    needsStart = true
                }
                i &+= 1
            case 2, 4:
                lineBreak(at: i, count: 1)
                i &+= 1
            case 3:
                lineBreak(at: i, count: 1)
                i &+= i + 1 < n && base[i + 1] == 0x0A ? 2 : 1
            default:
                if let ws = UTF8Whitespace.nonASCIIWhitespace(in: input, at: i) {
                    switch ws.scalar {
                    case 0x85, 0x2028: lineBreak(at: i, count: 1)
                    case 0x2029: lineBreak(at: i, count: 2)
                    default:
                        if spaceStart < 0 {
                            spaceStart = i
                            needsStart = true
                        }
                    }
                    i &+= ws.length
                } else {
                    if needsStart { startContent(at: i) }
                    output[written] = b
                    written &+= 1
                    i &+= 1
                }
            }
        }
        if lineHasContent && !strip && spaceStart >= 0 { writeSpaces(from: spaceStart, to: n) }
        return written
    }

    private mutating func startContent(at i: Int) {
        if !lineHasContent {
            if started {
                for _ in 0..<min(pendingBreaks, maxBreaks) {
                    output[written] = 0x0A
                    written &+= 1
                }
            }
            pendingBreaks = 0
            started = true
            lineHasContent = true
            if strip { spaceStart = -1 }
        }
        if spaceStart >= 0 {
            writeSpaces(from: spaceStart, to: i)
            spaceStart = -1
        }
        needsStart = false
    }

    private mutating func lineBreak(at i: Int, count: Int) {
        if lineHasContent && !strip && spaceStart >= 0 { writeSpaces(from: spaceStart, to: i) }
        spaceStart = -1
        lineHasContent = false
        needsStart = true
        if started { pendingBreaks &+= count }
    }

    /// Writes the run of spaces in input[from..<to], converting and collapsing as configured.
    private mutating func writeSpaces(from: Int, to: Int) {
        var p = from
        while p < to {
            let b = input[p]
            let length = b == 0x20 || b == 0x09 ? 1 : UTF8Whitespace.nonASCIIWhitespace(in: input, at: p)?.length ?? 1
            if b == 0x20 || unicodeSpaces {
                if !(collapse && written > 0 && output[written - 1] == 0x20) {
                    output[written] = 0x20
                    written &+= 1
                }
            } else {
                for q in p..<(p + length) {
                    output[written] = input[q]
                    written &+= 1
                }
            }
            p &+= length
        }
    }
}

/// Whether two byte buffers hold the same bytes, compared eight at a time.
private func bytesEqual(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
    let n = a.count
    guard n == b.count else { return false }
    guard n > 0, let pa = UnsafeRawPointer(a.baseAddress), let pb = UnsafeRawPointer(b.baseAddress) else { return true }
    var i = 0
    while i + 8 <= n {
        if pa.loadUnaligned(fromByteOffset: i, as: UInt64.self) != pb.loadUnaligned(fromByteOffset: i, as: UInt64.self) {
            return false
        }
        i += 8
    }
    while i < n {
        if a[i] != b[i] { return false }
        i += 1
    }
    return true
}
