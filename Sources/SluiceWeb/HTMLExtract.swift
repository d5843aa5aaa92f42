import SluiceCore

/// Replaces each HTML document's `text` with its main content as plain text (or Markdown) and
/// sets `metadata.title`.
///
/// YAML type `html_extract`. Options:
///
/// - `format`: `text` (default) or `markdown`. Text keeps the page's structure: headings and
///   paragraphs separated by blank lines, list items and table rows on their own lines (cells
///   joined by ` | `), `pre` blocks verbatim. Markdown adds `#` headings, `- ` items, table
///   rows, `> ` quotes and fenced code.
/// - `max_bytes` (default 32MiB): larger pages are dropped as `too_large` before parsing.
/// - `max_depth` (default 2000): pages nested deeper are dropped as `too_deep` (real pages stay
///   under a few hundred; a deeper one is broken or hostile).
/// - `time_budget_ms` (default 5000): a page still being parsed after this is dropped as
///   `timeout`, so no page stalls a worker. 0 turns the budget off.
///
/// Documents whose `metadata.content_type` is set and is not an HTML or XML type (WET text,
/// plain-text resources) pass through unchanged and are counted as `not_html_passed`. Pages with
/// no main text are dropped as `no_content`.
///
/// The text must be the page decoded to UTF-8 (the `warc` reader does this); libxml2 parses it
/// as UTF-8 whatever its `<meta charset>` says. See ``HTMLExtractor`` for the method.
///
/// ```yaml
/// - type: html_extract
///   format: text
///   max_bytes: 16MiB
///   time_budget_ms: 2000
/// ```
public struct HTMLExtract: Stage {
    public struct Configuration: Decodable, Sendable {
        public var format: String
        public var maxBytes: ByteSize
        public var maxDepth: Int
        public var timeBudgetMilliseconds: Int

        enum CodingKeys: String, CodingKey {
            case format, maxBytes = "max_bytes", maxDepth = "max_depth", timeBudgetMilliseconds = "time_budget_ms"
        }

        public init(format: String = "text", maxBytes: ByteSize = ByteSize(bytes: 32 << 20), maxDepth: Int = 2000,
                    timeBudgetMilliseconds: Int = 5000) {
            self.format = format
            self.maxBytes = maxBytes
            self.maxDepth = maxDepth
            self.timeBudgetMilliseconds = timeBudgetMilliseconds
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            format = try c.decodeIfPresent(String.self, forKey: .format) ?? "text"
            maxBytes = try c.decodeIfPresent(ByteSize.self, forKey: .maxBytes) ?? ByteSize(bytes: 32 << 20)
            maxDepth = try c.decodeIfPresent(Int.self, forKey: .maxDepth) ?? 2000
            timeBudgetMilliseconds = try c.decodeIfPresent(Int.self, forKey: .timeBudgetMilliseconds) ?? 5000
        }
    }

    public static let type = "html_extract"
    public static let summary = "Extracts the main text of HTML pages (libxml2, boilerplate removed); sets metadata.title."
    public static let options: [StageOption] = [
        StageOption("format", "text | markdown", default: "text", help: "Plain text with paragraphs and lines kept, or Markdown."),
        StageOption("max_bytes", "size", default: "32MiB", help: "Larger pages are dropped as too_large without being parsed."),
        StageOption("max_depth", "int", default: "2000", help: "Pages nested deeper than this are dropped as too_deep."),
        StageOption("time_budget_ms", "int", default: "5000", help: "A page still parsing after this many milliseconds is dropped as timeout; 0 for no limit."),
    ]
    public static let dropReasons: [DropReason] = ["too_large", "too_deep", "timeout", "no_content"]

    public let configuration: HTMLExtractor.Configuration

    public init(configuration c: Configuration) throws {
        var x = HTMLExtractor.Configuration()
        switch c.format {
        case "text": x.markdown = false
        case "markdown": x.markdown = true
        default: throw StageConfigurationError("format must be 'text' or 'markdown', got '\(c.format)'")
        }
        guard c.maxBytes.bytes >= 1 else { throw StageConfigurationError("max_bytes must be at least 1 byte") }
        guard c.maxDepth >= 1 else { throw StageConfigurationError("max_depth must be at least 1, got \(c.maxDepth)") }
        guard c.timeBudgetMilliseconds >= 0 else {
            throw StageConfigurationError("time_budget_ms must not be negative, got \(c.timeBudgetMilliseconds)")
        }
        x.maxBytes = c.maxBytes.bytes
        x.maxDepth = c.maxDepth
        x.timeBudgetNanoseconds = UInt64(c.timeBudgetMilliseconds) * 1_000_000
        configuration = x
    }

    public func process(_ batch: inout DocumentBatch, stats: inout StageStats) throws {
        let extractor = HTMLExtractor(configuration: configuration)
        var passed = 0
        batch.retain { doc in
            if case .string(let ct)? = doc.metadata["content_type"], !ct.isEmpty, !ct.contains("html"), !ct.contains("xml") {
                passed += 1
                return .keep
            }
            switch extractor.extract(doc.text) {
            case .extracted(let text, let title):
                doc.text = text
                if let title { doc.metadata["title"] = .string(title) }
                return .keep
            case .tooLarge: return .drop("too_large")
            case .tooDeep: return .drop("too_deep")
            case .timedOut: return .drop("timeout")
            case .noContent(let title):
                doc.text = ""
                if let title { doc.metadata["title"] = .string(title) }
                return .drop("no_content")
            }
        }
        if passed > 0 { stats.counters["not_html_passed", default: 0] += passed }
    }
}
