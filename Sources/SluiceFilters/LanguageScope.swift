import SluiceCore

/// Which documents a language-specific stage applies to, read from `metadata.language`.
///
/// Options (shared by every heuristic filter):
///
/// - `languages`: a list of language codes; the stage filters documents whose language is in
///   the list and passes every other document untouched, counted as `skipped_language` in the
///   stage's counters, so nothing is skipped silently. `null` applies the stage to every
///   document. A code matches the document's language exactly or by its first subtag,
///   case-insensitively: `en` matches `en`, `EN`, `en-US` and `en_Latn`; the ISO 639-3 codes
///   of common languages (`eng`, `zho`/`cmn`, `jpn`, `tha`, `kor`, `deu`, `fra`, `spa`, `rus`,
///   ...) are read as their two-letter codes. Defaults: `[en]` for the English-tuned filters
///   (`gopher_quality`, `c4_quality`, `c4_paragraph`, `fineweb_quality`), `null` for
///   `gopher_repetition` and `c4_badwords` (whose word lists are per language anyway).
/// - `default_language` (default `en`, as in datatrove): the language assumed for documents
///   without `metadata.language` (absent, null, empty or not a string). One exception keeps
///   English rules from wiping out untagged Chinese or Japanese: when, in the first 16 KB of such
///   a document, Han, kana, Thai, Lao, Khmer, Myanmar or Tibetan letters number more than a
///   sixth of the other letters (one of them carries about as much as a Latin word; Chinese
///   manual pages full of ASCII options still qualify), its language is taken from that script:
///   `ja` if it has kana, else `zh`, `th`, `lo`, `km`, `my` or `bo`.
///
/// The document's language also picks the word rule: Chinese, Japanese, Thai, Lao, Khmer,
/// Burmese and Tibetan (`zh`, `ja`, `th`, `lo`, `km`, `my`, `bo`, also `yue`, `wuu`) use
/// ``WordSplitter/Mode-swift.enum/noSpaceCharacters``; every other language uses the English
/// rules (datatrove uses spaCy's rules of each language, which differ from English mostly in
/// their exception lists).
struct LanguageScope: Sendable {
    /// Normalised codes, or nil for every language.
    let languages: Set<String>?
    let defaultLanguage: String

    init(languages: [String]?, defaultLanguage: String) throws {
        if let languages {
            guard !languages.isEmpty else {
                throw StageConfigurationError("languages: the list is empty, so no document would be filtered; give codes such as [en] or null for every language")
            }
            self.languages = Set(languages.map(Self.normalize))
        } else {
            self.languages = nil
        }
        guard !defaultLanguage.isEmpty else {
            throw StageConfigurationError("default_language must not be empty; use a code such as en")
        }
        self.defaultLanguage = Self.normalize(defaultLanguage)
    }

    /// The normalised language of a document: its `metadata.language`, or the default (or the
    /// script's language) when it has none.
    func language(of document: Document) -> String {
        if case .string(let code)? = document.metadata["language"], !code.isEmpty {
            return Self.normalize(code)
        }
        return document.text.withUTF8Bytes { Self.scriptLanguage($0) } ?? defaultLanguage
    }

    /// Whether the stage applies to a document of this (normalised) language.
    func applies(to language: String) -> Bool {
        languages?.contains(language) ?? true
    }

    /// The word rule for a normalised language.
    static func splitterMode(for language: String) -> WordSplitter.Mode {
        noSpaceLanguages.contains(language) ? .noSpaceCharacters : .english
    }

    static let noSpaceLanguages: Set<String> = ["zh", "ja", "th", "lo", "km", "my", "bo", "yue", "wuu"]

    private static let threeLetter: [String: String] = [
        "eng": "en", "zho": "zh", "cmn": "zh", "chi": "zh", "jpn": "ja", "tha": "th", "lao": "lo", "khm": "km",
        "mya": "my", "bur": "my", "bod": "bo", "tib": "bo", "kor": "ko", "deu": "de", "ger": "de", "fra": "fr",
        "fre": "fr", "spa": "es", "ita": "it", "por": "pt", "rus": "ru", "nld": "nl", "dut": "nl", "pol": "pl",
        "ces": "cs", "cze": "cs", "slk": "sk", "slo": "sk", "ukr": "uk", "ara": "ar", "hin": "hi", "vie": "vi",
        "ind": "id", "tur": "tr", "swe": "sv", "dan": "da", "fin": "fi", "nor": "no", "nob": "nb", "ell": "el",
        "gre": "el", "heb": "he", "hun": "hu", "ron": "ro", "rum": "ro", "fas": "fa", "per": "fa", "cat": "ca",
    ]

    /// Lower-cases, keeps the first subtag and maps common ISO 639-3 codes to ISO 639-1.
    static func normalize(_ code: String) -> String {
        var base = Substring(code)
        if let cut = base.firstIndex(where: { $0 == "_" || $0 == "-" }) { base = base[..<cut] }
        let lower = base.lowercased()
        return threeLetter[lower] ?? lower
    }

    /// How much of an untagged text is looked at to guess its script.
    static let sniffBytes = 16 * 1024

    /// The language of a script without spaces when its letters in the first 16 KB of `text`
    /// number more than a sixth of the other letters; nil otherwise.
    static func scriptLanguage(_ text: UnsafeBufferPointer<UInt8>) -> String? {
        guard let base = text.baseAddress else { return nil }
        let n = min(text.count, sniffBytes)
        // Letters of these scripts are 3- or 4-byte sequences: unless there are more of those
        // than a sixth of the ASCII letters, the full count is not worth doing.
        // (8 bytes at a time: lead bytes 111xxxxx, and ASCII bytes 01xxxxxx, which holds every
        // letter and a few symbols.)
        var wide = 0, ascii = 0
        var i = 0
        let raw = UnsafeRawPointer(base)
        while i + 8 <= n {
            let x = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            wide &+= (x & (x << 1) & (x << 2) & 0x8080_8080_8080_8080).nonzeroBitCount
            ascii &+= (~x & (x << 1) & 0x8080_8080_8080_8080).nonzeroBitCount
            i &+= 8
        }
        while i < n {
            let b = base[i]
            wide &+= b >= 0xE0 ? 1 : 0
            ascii &+= b & 0xC0 == 0x40 ? 1 : 0
            i &+= 1
        }
        guard wide * 6 > ascii else { return nil }
        let classes = CharacterClasses.shared
        var letters = 0, noSpace = 0, kana = 0, han = 0
        var thai = 0, lao = 0, khmer = 0, myanmar = 0, tibetan = 0
        i = 0
        while i < n {
            let b = base[i]
            if b < 0x80 {
                if (b | 0x20) >= 0x61 && (b | 0x20) <= 0x7A { letters += 1 }
                i += 1
                continue
            }
            let (s, len) = decodeScalar(base, i)
            i += len
            let f = classes.flags(s)
            guard f & WordFlag.letterOrMark.rawValue != 0 else { continue }
            letters += 1
            guard f & WordFlag.noSpaceScript.rawValue != 0 else { continue }
            noSpace += 1
            switch s {
            case 0x3040...0x30FF, 0x31F0...0x31FF, 0xFF66...0xFF9F: kana += 1
            case 0x0E00...0x0E7F: thai += 1
            case 0x0E80...0x0EFF: lao += 1
            case 0x1780...0x17FF: khmer += 1
            case 0x1000...0x109F: myanmar += 1
            case 0x0F00...0x0FFF: tibetan += 1
            default: han += 1
            }
        }
        guard noSpace * 6 > letters - noSpace else { return nil }
        if kana > 0 { return "ja" }
        let scripts = [(han, "zh"), (thai, "th"), (lao, "lo"), (khmer, "km"), (myanmar, "my"), (tibetan, "bo")]
        return scripts.max { $0.0 < $1.0 }!.1
    }
}

// MARK: - Option decoding helpers shared by the filters

extension KeyedDecodingContainer {
    /// A threshold that may be turned off: absent gives `defaultValue`, `null` gives nil (off).
    func decodeThreshold<T: Decodable>(_ type: T.Type, forKey key: Key, default defaultValue: T?) throws -> T? {
        guard contains(key) else { return defaultValue }
        if try decodeNil(forKey: key) { return nil }
        return try decode(T.self, forKey: key)
    }

    /// The `languages` option: absent gives `defaultValue`, `null` gives nil (every language).
    func decodeLanguages(forKey key: Key, default defaultValue: [String]?) throws -> [String]? {
        guard contains(key) else { return defaultValue }
        if try decodeNil(forKey: key) { return nil }
        return try decode([String].self, forKey: key)
    }
}

/// Help text for the shared language options.
enum LanguageOptionHelp {
    static func languages(_ defaultValue: String) -> StageOption {
        StageOption(
            "languages", "[string] | null", default: defaultValue,
            help: "Filter only documents whose metadata.language is listed (en matches en, en-US, en_Latn); others pass untouched (counter skipped_language). null: every document.")
    }

    static let defaultLanguage = StageOption(
        "default_language", "string", default: "en",
        help: "Language assumed for documents without metadata.language; untagged text mostly in Han, kana, Thai, ... script is taken as zh, ja, th, ... instead.")
}

/// Throws unless `value` is a finite number at least `minimum` (and at most `maximum`).
func validate(_ value: Double?, _ name: String, minimum: Double = 0, maximum: Double? = nil) throws {
    guard let value else { return }
    guard value.isFinite, value >= minimum else {
        throw StageConfigurationError("\(name) must be a number ≥ \(minimum), got \(value)")
    }
    if let maximum, value > maximum {
        throw StageConfigurationError("\(name) must be at most \(maximum), got \(value)")
    }
}

/// The per-batch state the word-based filters share: splitter buffers and the splitters for
/// both word rules.
struct FilterScratch {
    let words = WordScratch()
    let english = WordSplitter(mode: .english)
    let noSpace = WordSplitter(mode: .noSpaceCharacters)

    func splitter(for language: String) -> WordSplitter {
        LanguageScope.splitterMode(for: language) == .english ? english : noSpace
    }
}
