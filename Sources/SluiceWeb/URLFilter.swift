import SluiceCore
import SluiceIO

/// Drops documents by their URL: blocked domains (subdomains included) and URLs, banned words
/// and subwords, and too many soft-banned words, as datatrove's URL filter does, with lists the
/// user supplies (for example the UT1 blocklists' `domains` and `urls` files).
///
/// YAML type `url_filter`. Every list can be given inline and as files (one entry a line,
/// blank lines and `#` comments skipped, plain, `.gz` or `.zst`); entries are matched
/// case-insensitively.
///
/// - `domain_blocklist`, `domain_blocklist_files`: a domain blocks itself and every subdomain
///   (`example.com` blocks `www.example.com` and `a.b.example.com`). Reason `blocked_domain`.
/// - `url_blocklist`, `url_blocklist_files`: whole URLs, compared without scheme, `www.`,
///   fragment and trailing `/`. Reason `blocked_url`.
/// - `banned_words`, `banned_words_files`: a URL with any of these as a whole token (the URL
///   split at every non-alphanumeric character) is dropped. Reason `banned_word`.
/// - `banned_subwords`, `banned_subwords_files`: a host containing any of these anywhere
///   (`xxx` in `freexxxvideos.example`) is dropped. Reason `banned_subword`.
/// - `soft_banned_words`, `soft_banned_words_files`, `soft_banned_threshold` (default 2): a URL
///   with at least that many soft-banned tokens is dropped. Reason `soft_banned_words`.
/// - `allowed_domains`, `allowed_domains_files`: domains (and their subdomains) never dropped.
/// - `url_field` (default `url`): the metadata path holding the URL.
/// - `missing_url`: `keep` (default) or `drop` (reason `no_url`) for documents without one.
///
/// ```yaml
/// - type: url_filter
///   domain_blocklist_files: [blocklists/adult/domains]
///   banned_subwords: [porn, xxx]
///   soft_banned_words: [sex, hot, girls, cam]
/// ```
public struct URLFilter: FilterStage {
    public struct Configuration: Decodable, Sendable {
        public var domainBlocklist: [String] = []
        public var domainBlocklistFiles: [String] = []
        public var urlBlocklist: [String] = []
        public var urlBlocklistFiles: [String] = []
        public var bannedWords: [String] = []
        public var bannedWordsFiles: [String] = []
        public var bannedSubwords: [String] = []
        public var bannedSubwordsFiles: [String] = []
        public var softBannedWords: [String] = []
        public var softBannedWordsFiles: [String] = []
        public var softBannedThreshold: Int = 2
        public var allowedDomains: [String] = []
        public var allowedDomainsFiles: [String] = []
        public var urlField: String = "url"
        public var missingURL: String = "keep"

        enum CodingKeys: String, CodingKey {
            case domainBlocklist = "domain_blocklist", domainBlocklistFiles = "domain_blocklist_files"
            case urlBlocklist = "url_blocklist", urlBlocklistFiles = "url_blocklist_files"
            case bannedWords = "banned_words", bannedWordsFiles = "banned_words_files"
            case bannedSubwords = "banned_subwords", bannedSubwordsFiles = "banned_subwords_files"
            case softBannedWords = "soft_banned_words", softBannedWordsFiles = "soft_banned_words_files"
            case softBannedThreshold = "soft_banned_threshold"
            case allowedDomains = "allowed_domains", allowedDomainsFiles = "allowed_domains_files"
            case urlField = "url_field", missingURL = "missing_url"
        }

        public init() {}

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            func list(_ k: CodingKeys) throws -> [String] {
                if let one = try? c.decodeIfPresent(String.self, forKey: k) { return [one] }
                return try c.decodeIfPresent([String].self, forKey: k) ?? []
            }
            domainBlocklist = try list(.domainBlocklist)
            domainBlocklistFiles = try list(.domainBlocklistFiles)
            urlBlocklist = try list(.urlBlocklist)
            urlBlocklistFiles = try list(.urlBlocklistFiles)
            bannedWords = try list(.bannedWords)
            bannedWordsFiles = try list(.bannedWordsFiles)
            bannedSubwords = try list(.bannedSubwords)
            bannedSubwordsFiles = try list(.bannedSubwordsFiles)
            softBannedWords = try list(.softBannedWords)
            softBannedWordsFiles = try list(.softBannedWordsFiles)
            softBannedThreshold = try c.decodeIfPresent(Int.self, forKey: .softBannedThreshold) ?? 2
            allowedDomains = try list(.allowedDomains)
            allowedDomainsFiles = try list(.allowedDomainsFiles)
            urlField = try c.decodeIfPresent(String.self, forKey: .urlField) ?? "url"
            missingURL = try c.decodeIfPresent(String.self, forKey: .missingURL) ?? "keep"
        }
    }

    public static let type = "url_filter"
    public static let summary = "Drops documents whose URL has a blocked domain or URL, banned words or subwords, or too many soft-banned words."
    public static let options: [StageOption] = [
        StageOption("domain_blocklist", "[string]", default: "[]", help: "Blocked domains; subdomains are blocked too."),
        StageOption("domain_blocklist_files", "[string]", default: "[]", help: "Files of blocked domains, one a line (UT1 'domains' files work)."),
        StageOption("url_blocklist", "[string]", default: "[]", help: "Blocked URLs (compared without scheme, www., fragment and trailing /)."),
        StageOption("url_blocklist_files", "[string]", default: "[]", help: "Files of blocked URLs, one a line (UT1 'urls' files work)."),
        StageOption("banned_words", "[string]", default: "[]", help: "A URL with one of these as a whole token is dropped."),
        StageOption("banned_words_files", "[string]", default: "[]", help: "Files of banned words, one a line."),
        StageOption("banned_subwords", "[string]", default: "[]", help: "A host containing one of these anywhere is dropped."),
        StageOption("banned_subwords_files", "[string]", default: "[]", help: "Files of banned subwords, one a line."),
        StageOption("soft_banned_words", "[string]", default: "[]", help: "A URL with soft_banned_threshold or more of these tokens is dropped."),
        StageOption("soft_banned_words_files", "[string]", default: "[]", help: "Files of soft-banned words, one a line."),
        StageOption("soft_banned_threshold", "int", default: "2", help: "How many soft-banned tokens drop a URL."),
        StageOption("allowed_domains", "[string]", default: "[]", help: "Domains (with subdomains) that are never dropped."),
        StageOption("allowed_domains_files", "[string]", default: "[]", help: "Files of allowed domains, one a line."),
        StageOption("url_field", "string", default: "url", help: "The metadata path holding the URL."),
        StageOption("missing_url", "keep | drop", default: "keep", help: "What to do with documents that have no URL (drop reason no_url)."),
    ]
    public static let dropReasons: [DropReason] = [
        "blocked_domain", "blocked_url", "banned_word", "banned_subword", "soft_banned_words", "no_url",
    ]

    private let domains: Set<String>
    private let allowed: Set<String>
    private let urls: Set<String>
    private let bannedWords: Set<String>
    private let softWords: Set<String>
    private let softThreshold: Int
    private let subwords: AhoCorasick
    private let urlField: String
    private let dropMissing: Bool

    public init(configuration c: Configuration) throws {
        func load(_ inline: [String], _ files: [String], _ key: String) throws -> [String] {
            var out = inline.map { $0.trimmingCharacters(in: " \t\r").lowercased() }.filter { (e: String) in !e.isEmpty }
            for f in files {
                let whole: WholeFile
                do {
                    whole = try ByteSource.readWholeFile(path: f, maxBytes: 1 << 30)
                } catch {
                    throw StageConfigurationError("\(key): cannot read '\(f)': \(error)")
                }
                if let d = whole.damage { throw StageConfigurationError("\(key): '\(f)' is damaged: \(d)") }
                for line in whole.bytes.split(separator: 0x0A) {
                    let entry = String(decoding: line, as: UTF8.self).trimmingCharacters(in: " \t\r").lowercased()
                    if entry.isEmpty || entry.hasPrefix("#") { continue }
                    out.append(entry)
                }
            }
            return out
        }
        domains = Set(try load(c.domainBlocklist, c.domainBlocklistFiles, "domain_blocklist_files").map(normalizeDomain))
        allowed = Set(try load(c.allowedDomains, c.allowedDomainsFiles, "allowed_domains_files").map(normalizeDomain))
        urls = Set(try load(c.urlBlocklist, c.urlBlocklistFiles, "url_blocklist_files").map(normalizeURL))
        bannedWords = Set(try load(c.bannedWords, c.bannedWordsFiles, "banned_words_files"))
        softWords = Set(try load(c.softBannedWords, c.softBannedWordsFiles, "soft_banned_words_files"))
        subwords = AhoCorasick(try load(c.bannedSubwords, c.bannedSubwordsFiles, "banned_subwords_files"))
        guard c.softBannedThreshold >= 1 else {
            throw StageConfigurationError("soft_banned_threshold must be at least 1, got \(c.softBannedThreshold)")
        }
        softThreshold = c.softBannedThreshold
        guard c.missingURL == "keep" || c.missingURL == "drop" else {
            throw StageConfigurationError("missing_url must be 'keep' or 'drop', got '\(c.missingURL)'")
        }
        dropMissing = c.missingURL == "drop"
        urlField = c.urlField.hasPrefix("metadata.") ? String(c.urlField.dropFirst(9)) : c.urlField
        if domains.isEmpty && urls.isEmpty && bannedWords.isEmpty && softWords.isEmpty && subwords.isEmpty {
            throw StageConfigurationError(
                "url_filter needs at least one list: domain_blocklist, url_blocklist, banned_words, banned_subwords or soft_banned_words (or their _files)")
        }
    }

    public func filter(_ document: Document) -> Verdict {
        guard case .string(let url)? = document.metadata.value(atPath: urlField), !url.isEmpty else {
            return dropMissing ? .drop("no_url") : .keep
        }
        return verdict(forURL: url)
    }

    /// The verdict for one URL.
    public func verdict(forURL url: String) -> Verdict {
        let lower = url.lowercased()
        let host = hostOf(lower)
        if !allowed.isEmpty && matchesDomain(host, allowed) { return .keep }
        if !domains.isEmpty && matchesDomain(host, domains) { return .drop("blocked_domain") }
        if !urls.isEmpty && urls.contains(normalizeURL(lower)) { return .drop("blocked_url") }
        if !bannedWords.isEmpty || !softWords.isEmpty {
            var soft = 0
            for token in lower.utf8.split(whereSeparator: { !isAlnum($0) }) {
                let t = String(decoding: token, as: UTF8.self)
                if bannedWords.contains(t) { return .drop("banned_word") }
                if softWords.contains(t) {
                    soft += 1
                    if soft >= softThreshold { return .drop("soft_banned_words") }
                }
            }
        }
        if !subwords.isEmpty && subwords.matches(host.utf8) { return .drop("banned_subword") }
        return .keep
    }

    private func matchesDomain(_ host: String, _ set: Set<String>) -> Bool {
        var h = host[...]
        while !h.isEmpty {
            if set.contains(String(h)) { return true }
            guard let dot = h.firstIndex(of: ".") else { return false }
            h = h[h.index(after: dot)...]
        }
        return false
    }
}

@inline(__always) private func isAlnum(_ c: UInt8) -> Bool {
    (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39) || c >= 0x80
}

/// The host of a lowercased URL: after the scheme, before the path, without user info, port
/// and trailing dot.
func hostOf(_ url: String) -> String {
    var s = url[...]
    if let r = s.firstRange(of: "://") { s = s[r.upperBound...] }
    if let end = s.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) { s = s[..<end] }
    if let at = s.lastIndex(of: "@") { s = s[s.index(after: at)...] }
    if s.hasPrefix("[") {
        if let close = s.firstIndex(of: "]") { s = s[...close] }
    } else if let colon = s.lastIndex(of: ":") {
        s = s[..<colon]
    }
    while s.hasSuffix(".") { s = s.dropLast() }
    return String(s)
}

func normalizeDomain(_ entry: String) -> String {
    var d = hostOf(entry.contains("://") ? entry : "x://" + entry)
    if d.hasPrefix("www.") { d = String(d.dropFirst(4)) }
    return d
}

/// A URL without scheme, `www.`, fragment and trailing `/`, lowercased.
func normalizeURL(_ url: String) -> String {
    var s = url.lowercased()[...]
    if let r = s.firstRange(of: "://") { s = s[r.upperBound...] }
    if s.hasPrefix("www.") { s = s.dropFirst(4) }
    if let hash = s.firstIndex(of: "#") { s = s[..<hash] }
    while s.hasSuffix("/") { s = s.dropLast() }
    return String(s)
}

/// Finds whether any of a set of byte strings occurs in a text (Aho–Corasick automaton).
struct AhoCorasick: Sendable {
    private var transitions: [UInt64: Int32] = [:]
    private var fail: [Int32] = [0]
    private var terminal: [Bool] = [false]

    var isEmpty: Bool { terminal.count == 1 }

    init(_ words: [String]) {
        for w in words where !w.isEmpty {
            var node: Int32 = 0
            for c in w.utf8 {
                let key = UInt64(node) << 8 | UInt64(c)
                if let next = transitions[key] {
                    node = next
                } else {
                    let next = Int32(terminal.count)
                    terminal.append(false)
                    fail.append(0)
                    transitions[key] = next
                    node = next
                }
            }
            terminal[Int(node)] = true
        }
        // Breadth-first failure links.
        var children: [[(UInt8, Int32)]] = Array(repeating: [], count: terminal.count)
        for (key, next) in transitions { children[Int(key >> 8)].append((UInt8(key & 0xFF), next)) }
        var queue: [Int32] = []
        for (_, c) in children[0] {
            fail[Int(c)] = 0
            queue.append(c)
        }
        var head = 0
        while head < queue.count {
            let r = queue[head]
            head += 1
            for (byte, s) in children[Int(r)] {
                queue.append(s)
                var f = fail[Int(r)]
                while true {
                    if let t = transitions[UInt64(f) << 8 | UInt64(byte)], t != s {
                        fail[Int(s)] = t
                        break
                    }
                    if f == 0 {
                        fail[Int(s)] = 0
                        break
                    }
                    f = fail[Int(f)]
                }
                if terminal[Int(fail[Int(s)])] { terminal[Int(s)] = true }
            }
        }
    }

    func matches(_ text: some Sequence<UInt8>) -> Bool {
        var node: Int32 = 0
        for c in text {
            while true {
                if let t = transitions[UInt64(node) << 8 | UInt64(c)] {
                    node = t
                    break
                }
                if node == 0 { break }
                node = fail[Int(node)]
            }
            if terminal[Int(node)] { return true }
        }
        return false
    }
}
