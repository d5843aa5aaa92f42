import SluiceCore

/// Text normalisation and word tokenisation exactly as datatrove's MinHash does it, on UTF-8
/// bytes, so that Sluice's signatures match datatrove's removal for removal.
///
/// `simplify` reproduces datatrove's `simplify_text` with its default `TextNormConfig`:
/// Python's `lower()`; every run of decimal digits (optionally with one `.`, `,`, `،`, `٫`,
/// `⎖`, `⎗` or `⎘` and more digits) becomes `0`; every character of datatrove's punctuation
/// set becomes a space; whitespace runs become one space and the ends are trimmed; then NFD
/// with every nonspacing mark (category Mn) removed.
///
/// `tokenize` reproduces spaCy's English rule-based tokenizer (`spacy.blank("en")`, which
/// datatrove uses) on that simplified text: split at spaces, then spaCy's special cases
/// (`cannot` → `can not`, `dont` → `do nt`, …), prefixes and suffixes (`‘`, `¡`, `©`, box
/// drawing and other symbols, units such as `km` or `mb` after a digit) and infixes (symbols).
/// The character classes and word lists come from ``DatatroveTables``, generated from the peer.
///
/// A value holds scratch buffers reused from document to document: use one per thread.
public struct DatatroveText {
    /// The simplified text of the last ``simplify(_:)``, UTF-8.
    public private(set) var simplified: [UInt8] = []
    /// The words of the last ``tokenize()``, joined by single spaces.
    public private(set) var words: [UInt8] = []
    /// Start and end offsets in ``words`` of each word.
    public private(set) var wordStarts: [Int] = []
    public private(set) var wordEnds: [Int] = []

    private var scalars: [UInt32] = []
    private var decoded: [UInt32] = []
    private var middle: [UInt32] = []
    private var tokenScalars: [UInt32] = []
    private let tables = DatatroveCharacterTables.shared

    public init() {}

    public var wordCount: Int { wordStarts.count }

    /// The words as strings (for tests and tools; hot paths read ``words`` directly).
    public var wordStrings: [String] {
        (0..<wordStarts.count).map { String(decoding: words[wordStarts[$0]..<wordEnds[$0]], as: UTF8.self) }
    }

    /// Simplifies `text` into ``simplified``.
    public mutating func simplify(_ text: String) {
        text.withUTF8Bytes { simplify($0) }
    }

    /// Simplifies UTF-8 text (valid UTF-8 is assumed, as in a Swift `String`).
    public mutating func simplify(_ text: UnsafeBufferPointer<UInt8>) {
        simplified.removeAll(keepingCapacity: true)
        var ascii = true
        for b in text where b >= 0x80 {
            ascii = false
            break
        }
        if ascii { simplifyASCII(text) } else { simplifyGeneral(text) }
    }

    /// Splits ``simplified`` into words (``words``, ``wordStarts``, ``wordEnds``).
    @_optimize(speed)
    public mutating func tokenize() {
        words.removeAll(keepingCapacity: true)
        wordStarts.removeAll(keepingCapacity: true)
        wordEnds.removeAll(keepingCapacity: true)
        words.reserveCapacity(simplified.count + 16)
        let text = simplified
        text.withUnsafeBufferPointer { buf in
            let n = buf.count
            var i = 0
            while i < n {
                while i < n && buf[i] == 0x20 { i += 1 }
                if i >= n { break }
                var j = i
                var plain = true
                var zeroBeforeEnd = false
                while j < n && buf[j] != 0x20 {
                    let b = buf[j]
                    // Letters and digits only: punctuation can come back through NFD (≠ is = and a mark).
                    if !((b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39)) { plain = false }
                    if b == 0x30 && j + 1 < n && buf[j + 1] != 0x20 { zeroBeforeEnd = true }
                    j += 1
                }
                if !plain {
                    tokenizeGeneral(i, j)
                } else if !zeroBeforeEnd && !tables.mayBeSpecial(buf, i, j) {
                    emitWord(UnsafeBufferPointer(rebasing: buf[i..<j]))
                } else {
                    tokenizeASCII(i, j)
                }
                i = j
            }
        }
    }

    // MARK: Simplification

    @_optimize(speed)
    private mutating func simplifyASCII(_ text: UnsafeBufferPointer<UInt8>) {
        let n = text.count
        let map = Self.asciiMap
        simplified = [UInt8](unsafeUninitializedCapacity: n) { out, count in
            map.withUnsafeBufferPointer { map in
                var o = 0
                var pendingSpace = false
                var i = 0
                while i < n {
                    let b = text[i]
                    let m = map[Int(b)]
                    if m == 0 {
                        // Whitespace, or in datatrove's punctuation set: every other ASCII byte.
                        pendingSpace = true
                        i += 1
                        continue
                    }
                    if pendingSpace && o > 0 {
                        out[o] = 0x20
                        o += 1
                    }
                    pendingSpace = false
                    if m != 0x30 {
                        out[o] = m
                        o += 1
                        i += 1
                        continue
                    }
                    // A number: digits, optionally one separator and more digits.
                    i += 1
                    while i < n && text[i] >= 0x30 && text[i] <= 0x39 { i += 1 }
                    if i + 1 < n && (text[i] == 0x2E || text[i] == 0x2C) && text[i + 1] >= 0x30 && text[i + 1] <= 0x39 {
                        i += 2
                        while i < n && text[i] >= 0x30 && text[i] <= 0x39 { i += 1 }
                    }
                    out[o] = 0x30
                    o += 1
                }
                count = o
            }
        }
    }

    /// For each ASCII byte: its lowercase letter, `0` for a digit, or 0 for a separator.
    private static let asciiMap: [UInt8] = (0..<256).map { b -> UInt8 in
        if b >= 0x61 && b <= 0x7A { return UInt8(b) }
        if b >= 0x41 && b <= 0x5A { return UInt8(b | 0x20) }
        if b >= 0x30 && b <= 0x39 { return 0x30 }
        return 0
    }

    private mutating func simplifyGeneral(_ text: UnsafeBufferPointer<UInt8>) {
        // 1. Decode and lowercase (Python's str.lower(), with the final-sigma rule).
        scalars.removeAll(keepingCapacity: true)
        decoded.removeAll(keepingCapacity: true)
        var i = 0
        let n = text.count
        while i < n {
            let (s, len) = decodeScalar(text, i)
            decoded.append(s)
            i += len
        }
        for (k, s) in decoded.enumerated() {
            if s < 0x80 {
                scalars.append(s >= 0x41 && s <= 0x5A ? s | 0x20 : s)
            } else if s == 0x3A3 {
                scalars.append(isFinalSigma(decoded, k) ? 0x3C2 : 0x3C3)
            } else if let lower = tables.lowercase(s) {
                scalars.append(contentsOf: lower)
            } else {
                scalars.append(s)
            }
        }
        // 2. Numbers to 0, punctuation to space, whitespace collapsed.
        middle.removeAll(keepingCapacity: true)
        var pendingSpace = false
        var k = 0
        let m = scalars.count
        while k < m {
            let s = scalars[k]
            if tables.isDigit(s) {
                k += 1
                while k < m && tables.isDigit(scalars[k]) { k += 1 }
                if k + 1 < m && isDecimalSeparator(scalars[k]) && tables.isDigit(scalars[k + 1]) {
                    k += 2
                    while k < m && tables.isDigit(scalars[k]) { k += 1 }
                }
                if pendingSpace && !middle.isEmpty { middle.append(0x20) }
                pendingSpace = false
                middle.append(0x30)
                continue
            }
            if tables.isPunctuation(s) || tables.isWhitespace(s) {
                pendingSpace = true
            } else {
                if pendingSpace && !middle.isEmpty { middle.append(0x20) }
                pendingSpace = false
                middle.append(s)
            }
            k += 1
        }
        // 3. NFD without nonspacing marks, then trim whitespace at the ends.
        scalars.removeAll(keepingCapacity: true)
        for s in middle {
            if s < 0xC0 {
                scalars.append(s)
            } else if s >= 0xAC00 && s <= 0xD7A3 {
                let sIndex = s - 0xAC00
                scalars.append(0x1100 + sIndex / 588)
                scalars.append(0x1161 + (sIndex % 588) / 28)
                let t = sIndex % 28
                if t != 0 { scalars.append(0x11A7 + t) }
            } else if let d = tables.nfdWithoutMarks(s) {
                scalars.append(contentsOf: d)
            } else {
                scalars.append(s)
            }
        }
        var lo = 0
        var hi = scalars.count
        while lo < hi && tables.isWhitespace(scalars[lo]) { lo += 1 }
        while hi > lo && tables.isWhitespace(scalars[hi - 1]) { hi -= 1 }
        for s in scalars[lo..<hi] { appendUTF8(s, to: &simplified) }
    }

    /// Python's Final_Sigma condition: a cased letter before (skipping case-ignorable ones) and
    /// none after.
    private func isFinalSigma(_ s: [UInt32], _ k: Int) -> Bool {
        var j = k - 1
        var casedBefore = false
        while j >= 0 {
            let p = Unicode.Scalar(s[j])!.properties
            if p.isCaseIgnorable { j -= 1; continue }
            casedBefore = p.isCased
            break
        }
        guard casedBefore else { return false }
        j = k + 1
        while j < s.count {
            let p = Unicode.Scalar(s[j])!.properties
            if p.isCaseIgnorable { j += 1; continue }
            return !p.isCased
        }
        return true
    }

    @inline(__always) private func isDecimalSeparator(_ s: UInt32) -> Bool {
        s == 0x2E || s == 0x2C || s == 0x60C || s == 0x66B || s == 0x2396 || s == 0x2397 || s == 0x2398
    }

    // MARK: Tokenisation

    @_optimize(speed)
    private mutating func emitWord(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard !bytes.isEmpty else { return }
        if !wordStarts.isEmpty { words.append(0x20) }
        wordStarts.append(words.count)
        words.append(contentsOf: bytes)
        wordEnds.append(words.count)
    }

    private mutating func emitWord(_ bytes: ArraySlice<UInt8>) {
        guard !bytes.isEmpty else { return }
        if !wordStarts.isEmpty { words.append(0x20) }
        wordStarts.append(words.count)
        words.append(contentsOf: bytes)
        wordEnds.append(words.count)
    }

    private mutating func emitWord(scalars token: ArraySlice<UInt32>) {
        guard !token.isEmpty else { return }
        if !wordStarts.isEmpty { words.append(0x20) }
        wordStarts.append(words.count)
        for s in token { appendUTF8(s, to: &words) }
        wordEnds.append(words.count)
    }

    /// A token of ASCII letters and digits `simplified[start..<end]`: none is a spaCy prefix,
    /// suffix or infix, so only special cases and units after a digit can split it.
    @_optimize(speed)
    private mutating func tokenizeASCII(_ start: Int, _ end: Int) {
        let lo = start
        var hi = end
        var suffixes: [Range<Int>] = []
        var lastSize = 0
        // spaCy's affix loop, reduced to what ASCII text can meet: special cases and units.
        while hi > lo && hi - lo != lastSize {
            if tables.special(simplified[lo..<hi]) != nil { break }
            lastSize = hi - lo
            guard let suf = asciiUnitSuffix(lo, hi) else { break }
            suffixes.append((hi - suf)..<hi)
            hi -= suf
            if hi > lo && tables.special(simplified[lo..<hi]) != nil { break }
        }
        if hi > lo {
            if let parts = tables.special(simplified[lo..<hi]) {
                for p in parts { emitWord(p[...]) }
            } else {
                emitWord(simplified[lo..<hi])
            }
        }
        for r in suffixes.reversed() { emitWord(simplified[r]) }
    }

    /// The length of a unit suffix (`km`, `mb`, …) right after a `0` in `simplified[start..<end]`:
    /// the leftmost match, as a regular expression search finds it.
    private func asciiUnitSuffix(_ start: Int, _ end: Int) -> Int? {
        var i = start + 1
        while i < end {
            if simplified[i - 1] == 0x30 && tables.isAfterDigitSuffix(simplified[i..<end]) { return end - i }
            i += 1
        }
        return nil
    }

    private mutating func tokenizeGeneral(_ start: Int, _ end: Int) {
        tokenScalars.removeAll(keepingCapacity: true)
        var i = start
        simplified.withUnsafeBufferPointer { buf in
            while i < end {
                let (s, len) = decodeScalar(buf, i)
                tokenScalars.append(s)
                i += len
            }
        }
        let token = tokenScalars
        if let parts = tables.special(scalars: token[...]) {
            for p in parts { emitWord(p[...]) }
            return
        }
        var str = token[...]
        var prefixes: [ArraySlice<UInt32>] = []
        var suffixes: [ArraySlice<UInt32>] = []
        var lastSize = 0
        while !str.isEmpty && str.count != lastSize {
            if tables.special(scalars: str) != nil { break }
            lastSize = str.count
            let pre = tables.isPrefix(str.first!) ? 1 : 0
            if pre != 0 {
                let minusPre = str.dropFirst()
                if !minusPre.isEmpty && tables.special(scalars: minusPre) != nil {
                    prefixes.append(str.prefix(1))
                    str = minusPre
                    break
                }
            }
            let suf = findSuffix(str.dropFirst(pre))
            if suf != 0 {
                let minusSuf = str.dropLast(suf)
                if !minusSuf.isEmpty && tables.special(scalars: minusSuf) != nil {
                    suffixes.append(str.suffix(suf))
                    str = minusSuf
                    break
                }
            }
            if pre != 0 && suf != 0 && pre + suf <= str.count {
                prefixes.append(str.prefix(pre))
                suffixes.append(str.suffix(suf))
                str = str.dropFirst(pre).dropLast(suf)
            } else if pre != 0 {
                prefixes.append(str.prefix(pre))
                str = str.dropFirst(pre)
            } else if suf != 0 {
                suffixes.append(str.suffix(suf))
                str = str.dropLast(suf)
            }
        }
        for p in prefixes { emitWord(scalars: p) }
        if !str.isEmpty {
            if let parts = tables.special(scalars: str) {
                for p in parts { emitWord(p[...]) }
            } else {
                // Infixes: every symbol splits the token; one at the very start does not; `:<>=/`
                // split between a letter or digit and a letter.
                let base = str.startIndex
                var spanStart = base
                func isInfix(_ k: Int) -> Bool {
                    let c = str[k]
                    if tables.isInfix(c) { return true }
                    guard c == 0x3A || c == 0x3C || c == 0x3D || c == 0x3E || c == 0x2F, k > base, k + 1 < str.endIndex else {
                        return false
                    }
                    let before = str[k - 1]
                    return (isLetter(before) || (before >= 0x30 && before <= 0x39)) && isLetter(str[k + 1])
                }
                for k in str.indices where isInfix(k) {
                    if k == base { continue }
                    if k != spanStart { emitWord(scalars: str[spanStart..<k]) }
                    emitWord(scalars: str[k...k])
                    spanStart = k + 1
                }
                if spanStart < str.endIndex { emitWord(scalars: str[spanStart...]) }
            }
        }
        for s in suffixes.reversed() { emitWord(scalars: s) }
    }

    private func isLetter(_ s: UInt32) -> Bool {
        Unicode.Scalar(s)?.properties.isAlphabetic ?? false
    }

    /// spaCy's suffix search: the leftmost position from which the rest is a suffix (a
    /// one-character suffix at the end, or a unit or currency right after a `0`).
    private func findSuffix(_ s: ArraySlice<UInt32>) -> Int {
        let n = s.count
        guard n > 0 else { return 0 }
        let base = s.startIndex
        for off in 0..<n {
            let i = base + off
            if off > 0 && s[i - 1] == 0x30 && tables.isAfterDigitSuffix(scalars: s[i...]) { return n - off }
            if off == n - 1 && tables.isSuffix(s[i]) { return 1 }
        }
        return 0
    }
}

// MARK: - UTF-8 helpers

@inline(__always)
func decodeScalar(_ b: UnsafeBufferPointer<UInt8>, _ i: Int) -> (UInt32, Int) {
    let b0 = UInt32(b[i])
    if b0 < 0x80 { return (b0, 1) }
    let n = b.count
    if b0 < 0xE0, i + 1 < n { return (((b0 & 0x1F) << 6) | (UInt32(b[i + 1]) & 0x3F), 2) }
    if b0 < 0xF0, i + 2 < n {
        return (((b0 & 0x0F) << 12) | ((UInt32(b[i + 1]) & 0x3F) << 6) | (UInt32(b[i + 2]) & 0x3F), 3)
    }
    if i + 3 < n {
        return (
            ((b0 & 0x07) << 18) | ((UInt32(b[i + 1]) & 0x3F) << 12) | ((UInt32(b[i + 2]) & 0x3F) << 6)
                | (UInt32(b[i + 3]) & 0x3F), 4
        )
    }
    return (0xFFFD, 1)
}

@inline(__always)
func appendUTF8(_ s: UInt32, to out: inout [UInt8]) {
    if s < 0x80 {
        out.append(UInt8(s))
    } else if s < 0x800 {
        out.append(UInt8(0xC0 | (s >> 6)))
        out.append(UInt8(0x80 | (s & 0x3F)))
    } else if s < 0x10000 {
        out.append(UInt8(0xE0 | (s >> 12)))
        out.append(UInt8(0x80 | ((s >> 6) & 0x3F)))
        out.append(UInt8(0x80 | (s & 0x3F)))
    } else {
        out.append(UInt8(0xF0 | (s >> 18)))
        out.append(UInt8(0x80 | ((s >> 12) & 0x3F)))
        out.append(UInt8(0x80 | ((s >> 6) & 0x3F)))
        out.append(UInt8(0x80 | (s & 0x3F)))
    }
}

// MARK: - Tables, parsed once

/// ``DatatroveTables`` parsed into lookup structures: a flag per BMP scalar and sets and maps
/// for the rest.
final class DatatroveCharacterTables: Sendable {
    static let shared = DatatroveCharacterTables()

    private static let punct: UInt8 = 1
    private static let space: UInt8 = 2
    private static let digit: UInt8 = 4
    private static let prefix: UInt8 = 8
    private static let suffix: UInt8 = 16
    private static let infix: UInt8 = 32
    private static let lower: UInt8 = 64
    private static let nfd: UInt8 = 128

    private let bmp: [UInt8]
    private let astral: [UInt32: UInt8]
    private let lowerMap: [UInt32: [UInt32]]
    private let nfdMap: [UInt32: [UInt32]]
    private let afterDigit: Set<[UInt32]>
    private let afterDigitMaxLength: Int
    /// Special cases: FNV-1a hash of the key's UTF-8 → index into `specialKeys` / `specialParts`.
    private let specialIndex: [UInt64: Int]
    private let specialKeys: [[UInt8]]
    private let specialParts: [[[UInt8]]]
    private let specialMaxBytes: Int
    /// For ASCII keys: by (first letter, last letter), a mask of the key lengths (< 32).
    private let specialPrefilter: [UInt32]

    private init() {
        var bmp = [UInt8](repeating: 0, count: 0x10000)
        var astral: [UInt32: UInt8] = [:]
        func mark(_ ranges: String, _ flag: UInt8) {
            for part in ranges.split(separator: ",") {
                let ends = part.split(separator: "-").map { UInt32($0, radix: 16)! }
                for s in ends[0]...(ends.count > 1 ? ends[1] : ends[0]) {
                    if s < 0x10000 { bmp[Int(s)] |= flag } else { astral[s, default: 0] |= flag }
                }
            }
        }
        func parseMap(_ text: String, _ flag: UInt8) -> [UInt32: [UInt32]] {
            var map: [UInt32: [UInt32]] = [:]
            for entry in text.split(separator: ";") {
                let halves = entry.split(separator: ":", omittingEmptySubsequences: false)
                let from = UInt32(halves[0], radix: 16)!
                let to = halves.count > 1 ? halves[1].split(separator: " ").map { UInt32($0, radix: 16)! } : []
                map[from] = to
                if from < 0x10000 { bmp[Int(from)] |= flag } else { astral[from, default: 0] |= flag }
            }
            return map
        }
        mark(DatatroveTables.punctuation, Self.punct)
        mark(DatatroveTables.whitespace, Self.space)
        mark(DatatroveTables.decimalDigits, Self.digit)
        mark(DatatroveTables.spacyPrefixes, Self.prefix)
        mark(DatatroveTables.spacySuffixes, Self.suffix)
        mark(DatatroveTables.spacyInfixes, Self.infix)
        lowerMap = parseMap(DatatroveTables.lowercase, Self.lower)
        nfdMap = parseMap(DatatroveTables.nfdWithoutMarks, Self.nfd)
        let units = DatatroveTables.spacyAfterDigitSuffixes.split(separator: ";").map { $0.unicodeScalars.map(\.value) }
        afterDigit = Set(units)
        afterDigitMaxLength = units.map(\.count).max() ?? 0
        var index: [UInt64: Int] = [:]
        var keys: [[UInt8]] = []
        var parts: [[[UInt8]]] = []
        for entry in DatatroveTables.spacySpecialCases.split(separator: ";") {
            let kv = entry.split(separator: "=", maxSplits: 1)
            guard kv.count == 2 else { continue }
            let key = Array(kv[0].utf8)
            var h = FNV1a()
            for b in key { h.add(b) }
            precondition(index[h.value] == nil, "special-case hash collision")
            index[h.value] = keys.count
            keys.append(key)
            parts.append(kv[1].split(separator: " ").map { Array($0.utf8) })
        }
        var prefilter = [UInt32](repeating: 0, count: 1024)
        for k in keys {
            let slot = Int(k[0] & 31) << 5 | Int(k[k.count - 1] & 31)
            prefilter[slot] |= k.count < 32 ? UInt32(1) << UInt32(k.count) : 0
        }
        specialPrefilter = prefilter
        specialIndex = index
        specialKeys = keys
        specialParts = parts
        specialMaxBytes = keys.map(\.count).max() ?? 0
        self.bmp = bmp
        self.astral = astral
    }

    @inline(__always) private func flags(_ s: UInt32) -> UInt8 {
        s < 0x10000 ? bmp[Int(s)] : (astral[s] ?? 0)
    }

    @inline(__always) func isPunctuation(_ s: UInt32) -> Bool { flags(s) & Self.punct != 0 }
    @inline(__always) func isWhitespace(_ s: UInt32) -> Bool { flags(s) & Self.space != 0 }
    @inline(__always) func isDigit(_ s: UInt32) -> Bool { flags(s) & Self.digit != 0 }
    @inline(__always) func isPrefix(_ s: UInt32) -> Bool { flags(s) & Self.prefix != 0 }
    @inline(__always) func isSuffix(_ s: UInt32) -> Bool { flags(s) & Self.suffix != 0 }
    @inline(__always) func isInfix(_ s: UInt32) -> Bool { flags(s) & Self.infix != 0 }

    @inline(__always) func lowercase(_ s: UInt32) -> [UInt32]? {
        flags(s) & Self.lower != 0 ? lowerMap[s] : nil
    }

    @inline(__always) func nfdWithoutMarks(_ s: UInt32) -> [UInt32]? {
        flags(s) & Self.nfd != 0 ? nfdMap[s] : nil
    }

    func isAfterDigitSuffix(_ bytes: ArraySlice<UInt8>) -> Bool {
        guard bytes.count <= afterDigitMaxLength * 4 else { return false }
        return afterDigit.contains(bytes.map { UInt32($0) })
    }

    func isAfterDigitSuffix(scalars s: ArraySlice<UInt32>) -> Bool {
        s.count <= afterDigitMaxLength && afterDigit.contains(Array(s))
    }

    /// False when no special case can be `buf[start..<end]` (lowercase ASCII): most words.
    @inline(__always) func mayBeSpecial(_ buf: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Bool {
        let length = end - start
        guard length < 32 else { return false }
        let slot = Int(buf[start] & 31) << 5 | Int(buf[end - 1] & 31)
        return specialPrefilter[slot] & (UInt32(1) << UInt32(length)) != 0
    }

    func special(_ bytes: ArraySlice<UInt8>) -> [[UInt8]]? {
        guard bytes.count <= specialMaxBytes else { return nil }
        var h = FNV1a()
        for b in bytes { h.add(b) }
        guard let i = specialIndex[h.value], specialKeys[i].elementsEqual(bytes) else { return nil }
        return specialParts[i]
    }

    func special(scalars s: ArraySlice<UInt32>) -> [[UInt8]]? {
        guard s.count <= specialMaxBytes else { return nil }
        var bytes: [UInt8] = []
        for x in s { appendUTF8(x, to: &bytes) }
        return special(bytes[...])
    }
}

/// 64-bit FNV-1a, for small in-memory lookups.
struct FNV1a {
    private(set) var value: UInt64 = 0xCBF2_9CE4_8422_2325
    @inline(__always) mutating func add(_ b: UInt8) {
        value = (value ^ UInt64(b)) &* 0x0000_0100_0000_01B3
    }
}
