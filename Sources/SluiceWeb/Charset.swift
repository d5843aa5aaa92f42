import Glibc

/// A character encoding of the WHATWG Encoding Standard, by its canonical name, with the name
/// glibc's iconv knows it by.
public struct WebEncoding: Sendable, Hashable, CustomStringConvertible {
    /// The WHATWG name, lowercased (`utf-8`, `windows-1252`, `gbk`, `shift_jis`, …): what
    /// documents record in `metadata.charset`.
    public let name: String
    /// iconv names to try, in order (the first that glibc accepts is used).
    let iconvNames: [String]

    init(_ name: String, _ iconvNames: [String]) {
        self.name = name
        self.iconvNames = iconvNames
    }

    public var description: String { name }

    public static func == (a: WebEncoding, b: WebEncoding) -> Bool { a.name == b.name }
    public func hash(into h: inout Hasher) { h.combine(name) }

    public static let utf8 = WebEncoding("utf-8", ["UTF-8"])
    public static let utf16LE = WebEncoding("utf-16le", ["UTF-16LE"])
    public static let utf16BE = WebEncoding("utf-16be", ["UTF-16BE"])
    public static let windows1252 = WebEncoding("windows-1252", ["WINDOWS-1252", "CP1252"])
    /// WHATWG's "replacement" encoding (ISO-2022-KR, HZ, …): the content cannot be decoded safely.
    public static let replacement = WebEncoding("replacement", [])

    /// The encoding for a label (`Content-Type` charset or `<meta charset>`), by the WHATWG
    /// label table: case-insensitive, surrounding whitespace ignored. `gb2312` is GBK (decoded
    /// as GB18030, its superset), `iso-8859-1` and `us-ascii` are windows-1252, `euc-kr` is
    /// windows-949, `shift_jis` is windows-31j. Nil for an unknown label.
    public static func forLabel(_ label: String) -> WebEncoding? {
        var key = label.utf8.filter { !($0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0C || $0 == 0x0D || $0 == 0x22 || $0 == 0x27) }
        for i in key.indices where key[i] >= 0x41 && key[i] <= 0x5A { key[i] |= 0x20 }
        return labelTable[String(decoding: key, as: UTF8.self)]
    }

    private static let labelTable: [String: WebEncoding] = {
        var t: [String: WebEncoding] = [:]
        func add(_ name: String, _ iconv: [String], _ labels: [String]) {
            let e = WebEncoding(name, iconv)
            for l in labels { t[l] = e }
            t[name] = e
        }
        add("utf-8", ["UTF-8"], ["unicode-1-1-utf-8", "unicode11utf8", "unicode20utf8", "utf-8", "utf8", "x-unicode20utf8"])
        add("ibm866", ["IBM866", "CP866"], ["866", "cp866", "csibm866", "ibm866"])
        add("iso-8859-2", ["ISO-8859-2"], ["csisolatin2", "iso-8859-2", "iso-ir-101", "iso8859-2", "iso88592", "iso_8859-2", "iso_8859-2:1987", "l2", "latin2"])
        add("iso-8859-3", ["ISO-8859-3"], ["csisolatin3", "iso-8859-3", "iso-ir-109", "iso8859-3", "iso88593", "iso_8859-3", "iso_8859-3:1988", "l3", "latin3"])
        add("iso-8859-4", ["ISO-8859-4"], ["csisolatin4", "iso-8859-4", "iso-ir-110", "iso8859-4", "iso88594", "iso_8859-4", "iso_8859-4:1988", "l4", "latin4"])
        add("iso-8859-5", ["ISO-8859-5"], ["csisolatincyrillic", "cyrillic", "iso-8859-5", "iso-ir-144", "iso8859-5", "iso88595", "iso_8859-5", "iso_8859-5:1988"])
        add("iso-8859-6", ["ISO-8859-6"], ["arabic", "asmo-708", "csiso88596e", "csiso88596i", "csisolatinarabic", "ecma-114", "iso-8859-6", "iso-8859-6-e", "iso-8859-6-i", "iso-ir-127", "iso8859-6", "iso88596", "iso_8859-6", "iso_8859-6:1987"])
        add("iso-8859-7", ["ISO-8859-7"], ["csisolatingreek", "ecma-118", "elot_928", "greek", "greek8", "iso-8859-7", "iso-ir-126", "iso8859-7", "iso88597", "iso_8859-7", "iso_8859-7:1987", "sun_eu_greek"])
        add("iso-8859-8", ["ISO-8859-8"], ["csiso88598e", "csisolatinhebrew", "hebrew", "iso-8859-8", "iso-8859-8-e", "iso-ir-138", "iso8859-8", "iso88598", "iso_8859-8", "iso_8859-8:1988", "visual"])
        add("iso-8859-8-i", ["ISO-8859-8"], ["csiso88598i", "iso-8859-8-i", "logical"])
        add("iso-8859-10", ["ISO-8859-10"], ["csisolatin6", "iso-8859-10", "iso-ir-157", "iso8859-10", "iso885910", "l6", "latin6"])
        add("iso-8859-13", ["ISO-8859-13"], ["iso-8859-13", "iso8859-13", "iso885913"])
        add("iso-8859-14", ["ISO-8859-14"], ["iso-8859-14", "iso8859-14", "iso885914"])
        add("iso-8859-15", ["ISO-8859-15"], ["csisolatin9", "iso-8859-15", "iso8859-15", "iso885915", "iso_8859-15", "l9"])
        add("iso-8859-16", ["ISO-8859-16"], ["iso-8859-16"])
        add("koi8-r", ["KOI8-R"], ["cskoi8r", "koi", "koi8", "koi8-r", "koi8_r"])
        add("koi8-u", ["KOI8-U", "KOI8-RU"], ["koi8-ru", "koi8-u"])
        add("macintosh", ["MACINTOSH", "MAC"], ["csmacintosh", "mac", "macintosh", "x-mac-roman"])
        add("windows-874", ["WINDOWS-874", "CP874", "TIS-620"], ["dos-874", "iso-8859-11", "iso8859-11", "iso885911", "tis-620", "windows-874"])
        add("windows-1250", ["WINDOWS-1250", "CP1250"], ["cp1250", "windows-1250", "x-cp1250"])
        add("windows-1251", ["WINDOWS-1251", "CP1251"], ["cp1251", "windows-1251", "x-cp1251"])
        add("windows-1252", ["WINDOWS-1252", "CP1252"], ["ansi_x3.4-1968", "ascii", "cp1252", "cp819", "csisolatin1", "ibm819", "iso-8859-1", "iso-ir-100", "iso8859-1", "iso88591", "iso_8859-1", "iso_8859-1:1987", "l1", "latin1", "us-ascii", "windows-1252", "x-cp1252"])
        add("windows-1253", ["WINDOWS-1253", "CP1253"], ["cp1253", "windows-1253", "x-cp1253"])
        add("windows-1254", ["WINDOWS-1254", "CP1254"], ["cp1254", "csisolatin5", "iso-8859-9", "iso-ir-148", "iso8859-9", "iso88599", "iso_8859-9", "iso_8859-9:1989", "l5", "latin5", "windows-1254", "x-cp1254"])
        add("windows-1255", ["WINDOWS-1255", "CP1255"], ["cp1255", "windows-1255", "x-cp1255"])
        add("windows-1256", ["WINDOWS-1256", "CP1256"], ["cp1256", "windows-1256", "x-cp1256"])
        add("windows-1257", ["WINDOWS-1257", "CP1257"], ["cp1257", "windows-1257", "x-cp1257"])
        add("windows-1258", ["WINDOWS-1258", "CP1258"], ["cp1258", "windows-1258", "x-cp1258"])
        add("x-mac-cyrillic", ["MAC-CYRILLIC", "MACCYRILLIC"], ["x-mac-cyrillic", "x-mac-ukrainian"])
        add("gbk", ["GB18030"], ["chinese", "csgb2312", "csiso58gb231280", "gb2312", "gb_2312", "gb_2312-80", "gbk", "iso-ir-58", "x-gbk"])
        add("gb18030", ["GB18030"], ["gb18030"])
        add("big5", ["BIG5-HKSCS", "BIG5"], ["big5", "big5-hkscs", "cn-big5", "csbig5", "x-x-big5"])
        add("euc-jp", ["EUC-JP-MS", "EUC-JP"], ["cseucpkdfmtjapanese", "euc-jp", "x-euc-jp"])
        add("iso-2022-jp", ["ISO-2022-JP-3", "ISO-2022-JP"], ["csiso2022jp", "iso-2022-jp"])
        add("shift_jis", ["CP932", "WINDOWS-31J", "SHIFT_JIS"], ["csshiftjis", "ms932", "ms_kanji", "shift-jis", "shift_jis", "sjis", "windows-31j", "x-sjis"])
        add("euc-kr", ["CP949", "UHC", "EUC-KR"], ["cseuckr", "csksc56011987", "euc-kr", "iso-ir-149", "korean", "ks_c_5601-1987", "ks_c_5601-1989", "ksc5601", "ksc_5601", "windows-949"])
        for l in ["csiso2022kr", "hz-gb-2312", "iso-2022-cn", "iso-2022-cn-ext", "iso-2022-kr", "replacement"] {
            t[l] = .replacement
        }
        add("utf-16be", ["UTF-16BE"], ["unicodefffe", "utf-16be"])
        add("utf-16le", ["UTF-16LE"], ["csunicode", "iso-10646-ucs-2", "ucs-2", "unicode", "unicodefeff", "utf-16", "utf-16le"])
        add("x-user-defined", ["WINDOWS-1252"], ["x-user-defined"])
        return t
    }()

    /// The encodings tried when a page declares nothing and is not UTF-8, in order of preference
    /// when two score the same.
    static let sniffCandidates: [WebEncoding] = [
        "windows-1252", "gbk", "shift_jis", "euc-kr", "windows-1251", "big5", "euc-jp", "koi8-r", "windows-1250",
        "windows-1253", "windows-1254", "windows-1256", "windows-1255", "windows-874", "windows-1257", "ibm866",
    ].compactMap { forLabel($0) }
}

/// How the charset of a document was chosen.
public enum CharsetSource: String, Sendable {
    /// A byte-order mark.
    case bom
    /// The HTTP `Content-Type` header.
    case http
    /// `<meta charset>` or `<meta http-equiv="Content-Type">` near the start of the page.
    case meta
    /// Nothing usable was declared (or the declaration was wrong): detected from the bytes.
    case sniffed
}

/// Text decoded to UTF-8.
public struct DecodedText: Sendable {
    /// Valid UTF-8.
    public var utf8: [UInt8]
    /// The encoding used.
    public var encoding: WebEncoding
    public var source: CharsetSource
    /// Invalid sequences replaced by U+FFFD.
    public var replacements: Int
}

// MARK: - Declarations

/// The `charset` parameter of a MIME type such as `text/html; charset="UTF-8"`, or nil.
public func charsetParameter(ofContentType value: some Collection<UInt8>) -> String? {
    let bytes = Array(value)
    guard let r = findCaseInsensitive(bytes, "charset", from: 0) else { return nil }
    var i = r + 7
    while i < bytes.count && (bytes[i] == 0x20 || bytes[i] == 0x09) { i += 1 }
    guard i < bytes.count && bytes[i] == UInt8(ascii: "=") else { return nil }
    i += 1
    while i < bytes.count && (bytes[i] == 0x20 || bytes[i] == 0x09) { i += 1 }
    var quote: UInt8 = 0
    if i < bytes.count && (bytes[i] == 0x22 || bytes[i] == 0x27) {
        quote = bytes[i]
        i += 1
    }
    let start = i
    while i < bytes.count {
        let c = bytes[i]
        if quote != 0 ? c == quote : (c == 0x3B || c == 0x20 || c == 0x09 || c == 0x2C || c == 0x22 || c == 0x27) { break }
        i += 1
    }
    guard i > start else { return nil }
    return String(decoding: bytes[start..<i], as: UTF8.self)
}

/// The charset declared by a `<meta charset=…>` or `<meta http-equiv="Content-Type"
/// content="…; charset=…">` in the first `limit` bytes of an HTML page (comments skipped), or
/// nil. A simplified form of the HTML standard's prescan.
public func declaredMetaCharset(_ html: UnsafeRawBufferPointer, limit: Int = 4096) -> String? {
    let n = min(html.count, limit)
    var i = 0
    while i + 5 < n {
        guard html[i] == UInt8(ascii: "<") else {
            i += 1
            continue
        }
        if html[i + 1] == UInt8(ascii: "!") && i + 3 < n && html[i + 2] == UInt8(ascii: "-") && html[i + 3] == UInt8(ascii: "-") {
            // Skip a comment.
            var j = i + 4
            while j + 2 < n && !(html[j] == UInt8(ascii: "-") && html[j + 1] == UInt8(ascii: "-") && html[j + 2] == UInt8(ascii: ">")) { j += 1 }
            i = j + 3
            continue
        }
        if (html[i + 1] | 0x20) == UInt8(ascii: "m") && (html[i + 2] | 0x20) == UInt8(ascii: "e")
            && (html[i + 3] | 0x20) == UInt8(ascii: "t") && (html[i + 4] | 0x20) == UInt8(ascii: "a")
            && (html[i + 5] == 0x20 || html[i + 5] == 0x09 || html[i + 5] == 0x0A || html[i + 5] == 0x0D || html[i + 5] == 0x2F)
        {
            var j = i + 5
            while j < n && html[j] != UInt8(ascii: ">") { j += 1 }
            let tag = Array(UnsafeRawBufferPointer(rebasing: html[(i + 5)..<j]))
            if let label = metaTagCharset(tag) { return label }
            i = j
            continue
        }
        i += 1
    }
    return nil
}

/// The charset in the attributes of one `<meta …>` tag.
private func metaTagCharset(_ attrs: [UInt8]) -> String? {
    // <meta charset="x">
    if let r = findCaseInsensitive(attrs, "charset", from: 0) {
        var i = r + 7
        while i < attrs.count && attrs[i] == 0x20 { i += 1 }
        if i < attrs.count && attrs[i] == UInt8(ascii: "=") {
            // Either the charset attribute itself, or "charset=" inside content="...".
            if let v = charsetParameter(ofContentType: attrs[r...]) { return v }
        }
    }
    return nil
}

/// The index of the first case-insensitive occurrence of ASCII `needle` in `bytes[from...]`.
func findCaseInsensitive(_ bytes: [UInt8], _ needle: String, from: Int) -> Int? {
    let n = Array(needle.utf8)
    guard !n.isEmpty, bytes.count >= n.count else { return nil }
    var i = from
    let first = n[0]
    while i + n.count <= bytes.count {
        if bytes[i] | 0x20 == first {
            var k = 1
            while k < n.count && (bytes[i + k] | 0x20) == n[k] { k += 1 }
            if k == n.count { return i }
        }
        i += 1
    }
    return nil
}

// MARK: - UTF-8

/// Checks UTF-8 validity (no overlongs, no surrogates, nothing past U+10FFFF). Returns the number
/// of invalid sequences (0 for valid text) and whether any non-ASCII byte occurs.
public func utf8Check(_ bytes: UnsafeRawBufferPointer, stopAfter: Int = Int.max) -> (invalid: Int, nonASCII: Int) {
    let n = bytes.count
    guard let base = bytes.baseAddress else { return (0, 0) }
    var i = 0
    var invalid = 0
    var nonASCII = 0
    while i < n {
        // ASCII fast path, 8 bytes at a time.
        while i + 8 <= n {
            let w = base.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            if w & 0x8080_8080_8080_8080 != 0 { break }
            i += 8
        }
        if i >= n { break }
        let c = base.load(fromByteOffset: i, as: UInt8.self)
        if c < 0x80 {
            i += 1
            continue
        }
        nonASCII += 1
        let len = utf8SequenceLength(base, i, n)
        if len == 0 {
            invalid += 1
            if invalid >= stopAfter { return (invalid, nonASCII) }
            i += 1
        } else {
            i += len
        }
    }
    return (invalid, nonASCII)
}

/// The length of the valid UTF-8 sequence starting at `i` (which holds a byte ≥ 0x80), or 0.
@inline(__always)
func utf8SequenceLength(_ base: UnsafeRawPointer, _ i: Int, _ n: Int) -> Int {
    let c = base.load(fromByteOffset: i, as: UInt8.self)
    @inline(__always) func cont(_ k: Int) -> UInt8? {
        i + k < n ? base.load(fromByteOffset: i + k, as: UInt8.self) : nil
    }
    if c >= 0xC2 && c <= 0xDF {
        if let b = cont(1), b & 0xC0 == 0x80 { return 2 }
        return 0
    }
    if c >= 0xE0 && c <= 0xEF {
        guard let b1 = cont(1), let b2 = cont(2), b2 & 0xC0 == 0x80 else { return 0 }
        let lo: UInt8 = c == 0xE0 ? 0xA0 : 0x80
        let hi: UInt8 = c == 0xED ? 0x9F : 0xBF
        return b1 >= lo && b1 <= hi ? 3 : 0
    }
    if c >= 0xF0 && c <= 0xF4 {
        guard let b1 = cont(1), let b2 = cont(2), let b3 = cont(3), b2 & 0xC0 == 0x80, b3 & 0xC0 == 0x80 else { return 0 }
        let lo: UInt8 = c == 0xF0 ? 0x90 : 0x80
        let hi: UInt8 = c == 0xF4 ? 0x8F : 0xBF
        return b1 >= lo && b1 <= hi ? 4 : 0
    }
    return 0
}

/// Appends `bytes` as UTF-8, replacing each invalid sequence with U+FFFD; returns the count.
func appendUTF8Replacing(_ bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) -> Int {
    guard let base = bytes.baseAddress else { return 0 }
    let n = bytes.count
    var i = 0
    var runStart = 0
    var replaced = 0
    while i < n {
        let c = base.load(fromByteOffset: i, as: UInt8.self)
        if c < 0x80 {
            i += 1
            continue
        }
        let len = utf8SequenceLength(base, i, n)
        if len > 0 {
            i += len
            continue
        }
        out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[runStart..<i]))
        out.append(contentsOf: [0xEF, 0xBF, 0xBD])
        replaced += 1
        i += 1
        runStart = i
    }
    out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[runStart..<n]))
    return replaced
}

// MARK: - Decoding

/// Decodes web pages to UTF-8: chooses the charset (BOM, then the HTTP header, then `<meta>`,
/// then detection), transcodes with built-in tables (UTF-8, UTF-16, windows-1252) or glibc's
/// iconv, and records what it did.
///
/// Declarations are checked against the bytes: a page declared as a legacy charset whose bytes
/// are valid, non-ASCII UTF-8 is read as UTF-8, and a page declared UTF-8 that is not (beyond a
/// few stray bytes) is detected afresh. Detection of undeclared legacy pages scores each
/// candidate encoding's decoding by how plausible its letters are (scripts not mixed within a
/// word, lowercase Cyrillic, frequent Chinese, Japanese and Korean characters, no C1 controls or
/// private-use characters).
///
/// One per reader thread (it caches iconv descriptors; not `Sendable`).
public final class CharsetDecoder {
    private var converters: [String: iconv_t?] = [:]

    public init() {}

    deinit {
        for case let cd?? in converters.values { iconv_close(cd) }
    }

    /// Decodes `bytes`, an HTML page when `isHTML` (its `<meta>` is consulted) or plain text.
    /// - Parameter declared: the charset label from the HTTP `Content-Type`, if any.
    /// - Returns: nil when the page's declared encoding is WHATWG's "replacement" or nothing can
    ///   decode it without mostly replacement characters (a `bad_charset` drop).
    public func decode(_ bytes: UnsafeRawBufferPointer, declared: String?, isHTML: Bool) -> DecodedText? {
        // 1. Byte-order mark.
        if bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF {
            var out: [UInt8] = []
            out.reserveCapacity(bytes.count)
            let r = appendUTF8Replacing(UnsafeRawBufferPointer(rebasing: bytes[3...]), to: &out)
            return DecodedText(utf8: out, encoding: .utf8, source: .bom, replacements: r)
        }
        if bytes.count >= 2 && ((bytes[0] == 0xFF && bytes[1] == 0xFE) || (bytes[0] == 0xFE && bytes[1] == 0xFF)) {
            let le = bytes[0] == 0xFF
            let (out, r) = decodeUTF16(UnsafeRawBufferPointer(rebasing: bytes[2...]), littleEndian: le)
            return DecodedText(utf8: out, encoding: le ? .utf16LE : .utf16BE, source: .bom, replacements: r)
        }
        // 2. Declarations.
        var declaredEncoding: WebEncoding?
        var source = CharsetSource.sniffed
        if let declared, let e = WebEncoding.forLabel(declared) {
            declaredEncoding = e
            source = .http
        } else if isHTML, let label = declaredMetaCharset(bytes), let e = WebEncoding.forLabel(label) {
            // A page cannot declare UTF-16 in its own ASCII-compatible bytes: WHATWG reads it as UTF-8.
            declaredEncoding = (e == .utf16LE || e == .utf16BE) ? .utf8 : e
            source = .meta
        }
        if declaredEncoding == .replacement { return nil }

        let check = utf8Check(bytes)
        if check.invalid == 0 {
            // Valid UTF-8: take it unless a legacy declaration explains pure-ASCII or the bytes.
            if let d = declaredEncoding, d != .utf8, check.nonASCII == 0 {
                return DecodedText(utf8: Array(bytes), encoding: d, source: source, replacements: 0)
            }
            let src: CharsetSource = declaredEncoding == .utf8 ? source : .sniffed
            return DecodedText(utf8: Array(bytes), encoding: .utf8, source: declaredEncoding == nil && check.nonASCII == 0 ? .sniffed : src, replacements: 0)
        }
        if let d = declaredEncoding {
            if d == .utf8 || d == .utf16LE || d == .utf16BE {
                // Declared UTF-8 with a few bad bytes: replace them; many: the declaration is wrong.
                if check.invalid * 50 <= check.nonASCII {
                    var out: [UInt8] = []
                    out.reserveCapacity(bytes.count + check.invalid * 2)
                    let r = appendUTF8Replacing(bytes, to: &out)
                    return DecodedText(utf8: out, encoding: .utf8, source: source, replacements: r)
                }
            } else if let decoded = transcode(bytes, from: d) {
                let chars = max(1, check.nonASCII / (d.isMultiByte ? 2 : 1))
                if decoded.replacements * 100 <= chars {
                    return DecodedText(utf8: decoded.utf8, encoding: d, source: source, replacements: decoded.replacements)
                }
            }
        }
        // 3. Detection.
        guard let best = sniff(bytes) else { return nil }
        guard let decoded = transcode(bytes, from: best) else { return nil }
        if decoded.replacements * 4 > max(1, check.nonASCII) { return nil }
        return DecodedText(utf8: decoded.utf8, encoding: best, source: .sniffed, replacements: decoded.replacements)
    }

    /// Decodes text known to be in `encoding` (replacing invalid sequences); nil when glibc has
    /// no converter for it.
    public func transcode(_ bytes: UnsafeRawBufferPointer, from encoding: WebEncoding) -> (utf8: [UInt8], replacements: Int)? {
        if encoding == .utf8 {
            var out: [UInt8] = []
            out.reserveCapacity(bytes.count)
            let r = appendUTF8Replacing(bytes, to: &out)
            return (out, r)
        }
        if encoding == .utf16LE || encoding == .utf16BE {
            return decodeUTF16(bytes, littleEndian: encoding == .utf16LE)
        }
        if encoding == .windows1252 || encoding.name == "x-user-defined" {
            return (decodeWindows1252(bytes), 0)
        }
        guard let cd = converter(for: encoding) else { return nil }
        return iconvDecode(cd, bytes)
    }

    /// The most plausible legacy encoding for bytes that are not UTF-8.
    public func sniff(_ bytes: UnsafeRawBufferPointer) -> WebEncoding? {
        // Score a sample: 16 KB from just before the first non-ASCII byte is enough.
        var start = 0
        let sampleSize = 16384
        if bytes.count > sampleSize {
            if let firstHigh = bytes.firstIndex(where: { $0 >= 0x80 }) { start = max(0, min(firstHigh - 256, bytes.count - sampleSize)) }
        }
        var end = min(bytes.count, start + sampleSize)
        // Do not cut a multi-byte character in two at the end.
        while end > start && end < bytes.count && bytes[end - 1] >= 0x80 { end -= 1 }
        let sample = UnsafeRawBufferPointer(rebasing: bytes[start..<end])
        var best: WebEncoding?
        var bestScore = -Double.infinity
        for candidate in WebEncoding.sniffCandidates {
            guard let decoded = transcode(sample, from: candidate) else { continue }
            // windows-1252 is by far the most common undeclared legacy charset: others must do
            // clearly better.
            let prior = candidate == .windows1252 ? 0.75 : 0
            let score = plausibility(decoded.utf8, replacements: decoded.replacements) + prior
            if score > bestScore + 1e-9 {
                bestScore = score
                best = candidate
            }
        }
        return best
    }

    private func converter(for encoding: WebEncoding) -> iconv_t? {
        if let cached = converters[encoding.name] { return cached }
        var found: iconv_t?
        for name in encoding.iconvNames {
            let cd = iconv_open("UTF-8", name)
            if Int(bitPattern: cd) != -1 {
                found = cd
                break
            }
        }
        converters[encoding.name] = .some(found)
        return found
    }

    private func iconvDecode(_ cd: iconv_t, _ bytes: UnsafeRawBufferPointer) -> (utf8: [UInt8], replacements: Int) {
        iconv(cd, nil, nil, nil, nil)  // reset shift state
        var out = [UInt8](repeating: 0, count: bytes.count * 3 + 16)
        var replacements = 0
        var produced = 0
        guard let inBase = bytes.baseAddress else { return ([], 0) }
        var inPos = 0
        out.withUnsafeMutableBytes { outBuf in
            let outBase = outBuf.baseAddress!
            while inPos < bytes.count {
                var inPtr: UnsafeMutablePointer<CChar>? = UnsafeMutableRawPointer(mutating: inBase + inPos).assumingMemoryBound(to: CChar.self)
                var inLeft = bytes.count - inPos
                var outPtr: UnsafeMutablePointer<CChar>? = (outBase + produced).assumingMemoryBound(to: CChar.self)
                var outLeft = outBuf.count - produced - 4
                let r = iconv(cd, &inPtr, &inLeft, &outPtr, &outLeft)
                let consumed = (bytes.count - inPos) - inLeft
                produced = outBuf.count - 4 - outLeft
                inPos += consumed
                if r == -1 {
                    let e = errno
                    if e == E2BIG { break }  // cannot happen with 3× room; stop safely
                    // EILSEQ or EINVAL: one bad byte becomes U+FFFD.
                    outBase.storeBytes(of: 0xEF, toByteOffset: produced, as: UInt8.self)
                    outBase.storeBytes(of: 0xBF, toByteOffset: produced + 1, as: UInt8.self)
                    outBase.storeBytes(of: 0xBD, toByteOffset: produced + 2, as: UInt8.self)
                    produced += 3
                    replacements += 1
                    inPos += 1
                    iconv(cd, nil, nil, nil, nil)
                }
            }
        }
        out.removeSubrange(produced...)
        return (out, replacements)
    }
}

extension WebEncoding {
    var isMultiByte: Bool {
        ["gbk", "gb18030", "big5", "euc-jp", "iso-2022-jp", "shift_jis", "euc-kr"].contains(name)
    }
}

private let windows1252High: [UInt16] = [
    0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D, 0x017D, 0x008F,
    0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,
]

@inline(__always)
func appendScalar(_ v: UInt32, to out: inout [UInt8]) {
    if v < 0x80 {
        out.append(UInt8(v))
    } else if v < 0x800 {
        out.append(UInt8(0xC0 | (v >> 6)))
        out.append(UInt8(0x80 | (v & 0x3F)))
    } else if v < 0x10000 {
        out.append(UInt8(0xE0 | (v >> 12)))
        out.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
        out.append(UInt8(0x80 | (v & 0x3F)))
    } else {
        out.append(UInt8(0xF0 | (v >> 18)))
        out.append(UInt8(0x80 | ((v >> 12) & 0x3F)))
        out.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
        out.append(UInt8(0x80 | (v & 0x3F)))
    }
}

func decodeWindows1252(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count + bytes.count / 8)
    for b in bytes {
        if b < 0x80 {
            out.append(b)
        } else if b < 0xA0 {
            appendScalar(UInt32(windows1252High[Int(b - 0x80)]), to: &out)
        } else {
            appendScalar(UInt32(b), to: &out)
        }
    }
    return out
}

func decodeUTF16(_ bytes: UnsafeRawBufferPointer, littleEndian: Bool) -> ([UInt8], Int) {
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count * 3 / 2)
    var replaced = 0
    var i = 0
    @inline(__always) func unit(_ k: Int) -> UInt32 {
        littleEndian ? UInt32(bytes[k]) | UInt32(bytes[k + 1]) << 8 : UInt32(bytes[k]) << 8 | UInt32(bytes[k + 1])
    }
    while i + 1 < bytes.count {
        let u = unit(i)
        i += 2
        if u >= 0xD800 && u <= 0xDBFF {
            if i + 1 < bytes.count {
                let l = unit(i)
                if l >= 0xDC00 && l <= 0xDFFF {
                    i += 2
                    appendScalar(0x10000 + ((u - 0xD800) << 10) + (l - 0xDC00), to: &out)
                    continue
                }
            }
            appendScalar(0xFFFD, to: &out)
            replaced += 1
        } else if u >= 0xDC00 && u <= 0xDFFF {
            appendScalar(0xFFFD, to: &out)
            replaced += 1
        } else {
            appendScalar(u, to: &out)
        }
    }
    if i < bytes.count {
        appendScalar(0xFFFD, to: &out)
        replaced += 1
    }
    return (out, replaced)
}

// MARK: - Plausibility scoring

private let frequentHan: Set<UInt32> = {
    let simplified = "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过家学对可她里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本见经头面公同三已老从动两长知民样现分将外但身些与高意进把法此实回二理美点月明其种声全工己话儿者向情部正名定女问力机给等几很业最间新什打便位因重被走电四第门相次东政海口使教西再平真听世气信北少关并内加化由却代军产入先山五太水万市眼体别处总才场师书比住员九笑性通目华报立马命张活难神数件安表原车白应路期叫死常提感金何更反合放做系计或司利受光王果亲界及今京务制解各任至清物台象记边共风战干接它许八特觉望直服毛林题建南度统色字请交爱让认算论百吃义科怎元社术结六功指思非流每青管夫连远资队跟带花快条院变联言权往展该领传近留红治决周保达办运武半候七必城父强步完革深区即求品士转量空甚众技轻程告江语英基派满式李息写呢识极令黄德收脸钱党倒未持取设始版双历越史商千片容研像找友孩站广改议形委早房音火际则首单据导影失拿网香似斯专石若兵弟谁校读志飞观争究包组造落视济喜离虽坏兴切团脑阿件软档录库器帮页链载删览输"
    let traditional = "這來個國們為說時過學對裡後麼沒發還當經頭從動兩長樣現將實點種聲話兒機給幾業間電門東聽氣關內軍產萬體別處總場師書員華報馬張難數車應親邊風戰許覺統請愛讓認論義術結連遠資隊帶條變聯權該領傳紅決達辦強區轉眾輕語滿寫識極黃臉錢黨設雙歷廣議際則單據導網專誰讀飛觀爭組視濟離雖壞興團腦軟檔錄庫幫頁鏈載刪覽輸"
    let japanese = "日本人大年一中十出上子国会月生分時行見事自社者地業方新場員立開手力問代明動京目通言理体田主題意不作用度強公持野以思家世多正安院心界教文元重近考画海売知道集別物使品計死特私始朝運終台広住無真有口少町料工建空急止送切転研足究楽起着店病質待試族銀早映親験英医仕去味写字答夜音注帰古歌買悪図週室歩風紙黒花春赤青館屋色走秋夏習駅洋旅服夕借曜飲肉貸堂鳥飯勉冬昼茶弟牛魚兄犬妹姉漢設定場合表示説明機能確認変更削除追加情報選択参照記事続"
    var s = Set<UInt32>()
    for str in [simplified, traditional, japanese] { for u in str.unicodeScalars { s.insert(u.value) } }
    return s
}()

private let frequentHangul: Set<UInt32> = {
    let k = "이다는의에고하을가한로서지기은리사수있도를대자부들으인그정일시해어나국상전라적만것주생학아장년제구게면보성경내요회원과동위우문방진여중재습니없되었않할까요를관용등및설치파일경우다음사용합니다"
    return Set(k.unicodeScalars.map(\.value))
}()

private let commonLatin: Set<UInt32> = {
    let s = "éèàçüöäßñáíóúâêîôûëïãõåøæœąęłżśćńźčřšžýůěğşıİőűÉÈÀÇÜÖÄÑÁÍÓÚÂÊÎÔÛËÏÃÕÅØÆŒĄĘŁŻŚĆŃŹČŘŠŽÝŮĚĞŞŐŰ"
    return Set(s.unicodeScalars.map(\.value))
}()

private enum Script { case none, latin, cyrillic, greek, other }

/// How plausible decoded text is as natural language: higher is better. Each non-ASCII
/// character scores by its kind; letters are also judged by their word.
func plausibility(_ utf8: [UInt8], replacements: Int) -> Double {
    var score = -5.0 * Double(replacements)
    var nonASCII = replacements
    // Word state.
    var wordScript = Script.none
    var wordMixed = false
    var wordLetters = 0
    var wordHigh = 0
    var prevLowerCyr = false
    func endWord() {
        if wordMixed { score -= 3.0 * Double(wordHigh) }
        if wordScript == .latin && wordLetters >= 3 && wordHigh * 2 > wordLetters { score -= 2.5 * Double(wordHigh) }
        // A lone letter of another script among Latin text is usually a symbol misread.
        if wordLetters == 1 && wordHigh == 1 && wordScript != .latin { score -= 1.5 }
        wordScript = .none
        wordMixed = false
        wordLetters = 0
        wordHigh = 0
        prevLowerCyr = false
    }
    func letter(_ s: Script, high: Bool) {
        if wordScript == .none {
            wordScript = s
        } else if wordScript != s {
            wordMixed = true
        }
        wordLetters += 1
        if high { wordHigh += 1 }
    }
    var i = 0
    let n = utf8.count
    while i < n {
        let c = utf8[i]
        if c < 0x80 {
            if (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7A {
                letter(.latin, high: false)
            } else {
                endWord()
            }
            i += 1
            continue
        }
        // Decode one scalar (the input is valid UTF-8).
        var v: UInt32
        if c < 0xE0 {
            v = UInt32(c & 0x1F) << 6 | UInt32(utf8[i + 1] & 0x3F)
            i += 2
        } else if c < 0xF0 {
            v = UInt32(c & 0x0F) << 12 | UInt32(utf8[i + 1] & 0x3F) << 6 | UInt32(utf8[i + 2] & 0x3F)
            i += 3
        } else {
            v = UInt32(c & 0x07) << 18 | UInt32(utf8[i + 1] & 0x3F) << 12 | UInt32(utf8[i + 2] & 0x3F) << 6 | UInt32(utf8[i + 3] & 0x3F)
            i += 4
        }
        nonASCII += 1
        switch v {
        case 0xFFFD, 0x80...0x9F, 0xE000...0xF8FF:
            score -= 5
            endWord()
        case 0xA0, 0xA9, 0xAE, 0xB0, 0xB1, 0xB7, 0xAB, 0xBB, 0xA7, 0xB6, 0xBF, 0xA1:
            endWord()
        case 0xA2...0xBF:
            score -= 1
            endWord()
        case 0xC0...0x24F:
            if v == 0xD7 || v == 0xF7 {
                score -= 0.5
                endWord()
            } else {
                score += commonLatin.contains(v) ? 1 : 0.2
                letter(.latin, high: true)
            }
        case 0x370...0x3FF:
            score += 1.5
            letter(.greek, high: true)
        case 0x400...0x4FF:
            let lower = (v >= 0x430 && v <= 0x45F)
            if lower {
                score += 1.5
            } else {
                score -= 0.3
                if prevLowerCyr { score -= 2 }
            }
            letter(.cyrillic, high: true)
            prevLowerCyr = lower
        case 0x590...0x6FF, 0xE00...0xE7F:
            score += 1.5
            letter(.other, high: true)
        case 0x2010...0x2027, 0x20AC, 0x2122:
            score += 0.5
            endWord()
        case 0x3000...0x303F, 0xFF01...0xFF5E:
            score += 1
            endWord()
        case 0x3040...0x30FF:
            score += 2
            endWord()
        case 0x4E00...0x9FFF:
            score += frequentHan.contains(v) ? 2 : 0.3
            endWord()
        case 0xAC00...0xD7A3:
            score += frequentHangul.contains(v) ? 2 : 0.4
            endWord()
        case 0xFF61...0xFF9F:
            score -= 1
            endWord()
        case 0x3400...0x4DBF, 0xF900...0xFAFF, 0x20000...0x3FFFF:
            score -= 2
            endWord()
        default:
            score -= 0.5
            endWord()
        }
    }
    endWord()
    return score / Double(max(1, nonASCII))
}
