import SluiceCore

/// C4's "bad words" rule, as datatrove 0.10's `C4BadWordsFilter`: drops documents that contain a
/// word of their language's list (the LDNOOBW lists C4 used), reason
/// `document_removed_with_badwords`.
///
/// YAML type `c4_badwords`. The lists come from files the user gives, one word or phrase per line
/// (blank lines are skipped), either per language with `word_lists: {en: lists/en, de: lists/de}`
/// or as a folder with `word_list_dir`, where the file for a language is named by its code
/// (`en` or `en.txt`). Relative paths are resolved from the working directory. Matching follows
/// datatrove exactly:
///
/// - the text is lower-cased (Unicode full lower-casing; ASCII text stays on a fast byte path);
/// - for Chinese, Japanese and Thai (`zh`, `ja`, `th`) a word matches anywhere;
/// - for every other language a word matches only between non-word characters (Python's `\W`)
///   or the ends of the text, so `ass` does not match in `class`;
/// - the words in `allow` are removed from every list (default, datatrove's allowlist:
///   `sm`, `グロ`, `女の子`, `性`, common pieces of words in languages without spaces).
///
/// A document's language is its `metadata.language` (normalised as in ``LanguageScope``, so
/// `en_Latn` uses the `en` list), or `default_language` when it has none. A language without a
/// list stops the run with an error when `fail_on_missing_language` is true (datatrove's
/// default); with `false` such documents pass, counted as `missing_word_list`.
///
/// With `keep_fraction` above 0, that share of the documents with bad words is kept, chosen by a
/// hash of the document id and `seed` (datatrove draws from a random generator instead, so its
/// choice depends on document order; Sluice's does not). Counters: `documents_with_badwords`,
/// `documents_with_badwords_<lang>`, `kept_with_badwords`.
///
/// ```yaml
/// - type: c4_badwords
///   word_lists: {en: lists/ldnoobw/en}
///   fail_on_missing_language: false
/// ```
public struct C4BadWords: Stage {
    public struct Configuration: Decodable, Sendable {
        public var wordLists: [String: String]
        public var wordListDir: String?
        public var keepFraction: Double
        public var seed: Int
        public var failOnMissingLanguage: Bool
        public var defaultLanguage: String
        public var allow: [String]
        public var languages: [String]?

        public static let datatroveAllowlist = ["sm", "グロ", "女の子", "性"]

        enum CodingKeys: String, CodingKey {
            case wordLists = "word_lists", wordListDir = "word_list_dir", keepFraction = "keep_fraction", seed
            case failOnMissingLanguage = "fail_on_missing_language", defaultLanguage = "default_language", allow, languages
        }

        public init(
            wordLists: [String: String] = [:], wordListDir: String? = nil, keepFraction: Double = 0, seed: Int = 0,
            failOnMissingLanguage: Bool = true, defaultLanguage: String = "en", allow: [String] = datatroveAllowlist,
            languages: [String]? = nil
        ) {
            self.wordLists = wordLists
            self.wordListDir = wordListDir
            self.keepFraction = keepFraction
            self.seed = seed
            self.failOnMissingLanguage = failOnMissingLanguage
            self.defaultLanguage = defaultLanguage
            self.allow = allow
            self.languages = languages
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            wordLists = try c.decodeIfPresent([String: String].self, forKey: .wordLists) ?? [:]
            wordListDir = try c.decodeIfPresent(String.self, forKey: .wordListDir)
            keepFraction = try c.decodeIfPresent(Double.self, forKey: .keepFraction) ?? 0
            seed = try c.decodeIfPresent(Int.self, forKey: .seed) ?? 0
            failOnMissingLanguage = try c.decodeIfPresent(Bool.self, forKey: .failOnMissingLanguage) ?? true
            defaultLanguage = try c.decodeIfPresent(String.self, forKey: .defaultLanguage) ?? "en"
            allow = try c.decodeIfPresent([String].self, forKey: .allow) ?? Self.datatroveAllowlist
            languages = try c.decodeLanguages(forKey: .languages, default: nil)
        }
    }

    public static let type = "c4_badwords"
    public static let summary = "C4 bad-words rule: drops documents containing a word of their language's list, as datatrove."
    public static let options: [StageOption] = [
        StageOption("word_lists", "{string: string}", default: "{}", help: "Word list file per language code, one word or phrase per line."),
        StageOption("word_list_dir", "string", default: "null", help: "Folder of word lists named by language code (en or en.txt)."),
        StageOption("keep_fraction", "number", default: "0", help: "Share of documents with bad words to keep anyway (by a hash of the id and seed)."),
        StageOption("seed", "int", default: "0", help: "Seed for keep_fraction."),
        StageOption("fail_on_missing_language", "bool", default: "true", help: "Stop the run on a document whose language has no list; false: pass it (counter missing_word_list)."),
        StageOption("default_language", "string", default: "en", help: "Language of documents without metadata.language."),
        StageOption("allow", "[string]", default: "[sm, グロ, 女の子, 性]", help: "Words removed from every list (datatrove's allowlist by default)."),
        LanguageOptionHelp.languages("null"),
    ]
    public static let dropReasons: [DropReason] = ["document_removed_with_badwords"]

    public let configuration: Configuration
    let lists: [String: BadWordList]
    let scope: LanguageScope

    public init(configuration c: Configuration) throws {
        guard c.keepFraction >= 0 && c.keepFraction <= 1 else {
            throw StageConfigurationError("keep_fraction must be between 0 and 1, got \(c.keepFraction)")
        }
        var files: [String: String] = [:]
        if let dir = c.wordListDir {
            for (code, path) in try listFolder(dir) { files[LanguageScope.normalize(code)] = path }
        }
        for (code, path) in c.wordLists { files[LanguageScope.normalize(code)] = path }
        guard !files.isEmpty else {
            throw StageConfigurationError("c4_badwords needs word lists: word_lists: {en: path/to/en} or word_list_dir: a folder of files named by language code")
        }
        let allow = Set(c.allow)
        var lists: [String: BadWordList] = [:]
        for (code, path) in files {
            let bytes = try readWholeFile(path, option: "word list for \(code)")
            var words: [String] = []
            for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false) {
                let w = String(line).trimmingPythonWhitespace()
                if !w.isEmpty && !allow.contains(w) { words.append(w) }
            }
            guard !words.isEmpty else { throw StageConfigurationError("the word list for \(code) (\(path)) has no words") }
            lists[code] = BadWordList(words: words, anywhere: ["ja", "th", "zh"].contains(code))
        }
        self.lists = lists
        configuration = c
        scope = try LanguageScope(languages: c.languages, defaultLanguage: c.defaultLanguage)
    }

    public func process(_ batch: inout DocumentBatch, stats: inout StageStats) throws {
        var counters: [String: Int] = [:]
        var missing: String? = nil
        var lowered: [UInt8] = []
        batch.retain { doc in
            let language = scope.language(of: doc)
            guard scope.applies(to: language) else {
                counters["skipped_language", default: 0] += 1
                return .keep
            }
            guard let list = lists[language] else {
                if configuration.failOnMissingLanguage {
                    if missing == nil { missing = language }
                } else {
                    counters["missing_word_list", default: 0] += 1
                }
                return .keep
            }
            guard list.found(in: doc.text, scratch: &lowered) else { return .keep }
            counters["documents_with_badwords", default: 0] += 1
            counters["documents_with_badwords_\(language)", default: 0] += 1
            if configuration.keepFraction > 0 && keepDraw(doc.id) < configuration.keepFraction {
                counters["kept_with_badwords", default: 0] += 1
                return .keep
            }
            return .drop("document_removed_with_badwords")
        }
        if let missing {
            throw StageConfigurationError(
                "c4_badwords has no word list for language '\(missing)'; add it to word_lists, or set fail_on_missing_language: false to let such documents pass")
        }
        for (k, v) in counters { stats.counters[k, default: 0] += v }
    }

    /// Whether `text` contains a bad word for `language` (nil when there is no list for it).
    public func containsBadWord(_ text: String, language: String) -> Bool? {
        var scratch: [UInt8] = []
        return lists[LanguageScope.normalize(language)]?.found(in: text, scratch: &scratch)
    }

    /// A number in [0, 1) from the document id and the seed.
    func keepDraw(_ id: String) -> Double {
        let h = XXH64.hash(id, seed: UInt64(bitPattern: Int64(configuration.seed)))
        return Double(h >> 11) / Double(1 << 53)
    }
}

/// One language's bad words, matched on lower-cased UTF-8 bytes.
struct BadWordList: Sendable {
    /// Words (lower-cased UTF-8) by first byte.
    let byFirst: [[[UInt8]]]
    /// Whether a word matches anywhere (languages without spaces) or only between non-word
    /// characters.
    let anywhere: Bool

    init(words: [String], anywhere: Bool) {
        var byFirst = [[[UInt8]]](repeating: [], count: 256)
        for w in Set(words) {
            let bytes = Array(w.utf8)
            byFirst[Int(bytes[0])].append(bytes)
        }
        for i in 0..<256 { byFirst[i].sort { $0.count != $1.count ? $0.count < $1.count : $0.lexicographicallyPrecedes($1) } }
        self.byFirst = byFirst
        self.anywhere = anywhere
    }

    func found(in text: String, scratch: inout [UInt8]) -> Bool {
        let isASCII = text.utf8.allSatisfy { $0 < 0x80 }
        if isASCII {
            scratch.removeAll(keepingCapacity: true)
            for b in text.utf8 { scratch.append(b >= 0x41 && b <= 0x5A ? b | 0x20 : b) }
            return scratch.withUnsafeBufferPointer { search($0) }
        }
        // Python's str.lower() is full Unicode lower-casing; so is Swift's.
        return text.lowercased().withUTF8Bytes { search($0) }
    }

    private func search(_ text: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let p = text.baseAddress else { return false }
        let n = text.count
        var i = 0
        var previousIsWord = false
        let classes = CharacterClasses.shared
        while i < n {
            let b = p[i]
            let length = b < 0x80 ? 1 : utf8Length(lead: b)
            if anywhere || !previousIsWord {
                for w in byFirst[Int(b)] where w.count <= n - i {
                    if memEqual(p + i, w, w.count) {
                        let after = i + w.count
                        if anywhere || after == n || !classes.has(decodeScalar(p, after).0, .wordChar) { return true }
                    }
                }
            }
            if !anywhere { previousIsWord = classes.has(decodeScalar(p, i).0, .wordChar) }
            i += length
        }
        return false
    }
}

extension String {
    /// Python's `str.strip()`: whitespace (`str.isspace`) removed from both ends.
    func trimmingPythonWhitespace() -> String {
        let scalars = unicodeScalars
        var lo = scalars.startIndex, hi = scalars.endIndex
        while lo < hi && isPythonSpace(scalars[lo].value) { lo = scalars.index(after: lo) }
        while hi > lo && isPythonSpace(scalars[scalars.index(before: hi)].value) { hi = scalars.index(before: hi) }
        return String(scalars[lo..<hi])
    }
}
