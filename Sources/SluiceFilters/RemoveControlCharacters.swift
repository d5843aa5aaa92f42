import SluiceCore

/// Removes control characters and terminal escapes from each document's text.
///
/// YAML type `remove_control_characters`. In one pass over the bytes:
///
/// - C0 controls other than tab, line feed, vertical tab, form feed and carriage return
///   (U+0000–U+0008, U+000E–U+001F), DEL (U+007F) and the C1 controls (U+0080–U+009F) are
///   removed; line breaks are left to `normalize_whitespace`;
/// - with `ansi_escapes` (default `true`), terminal escape sequences are removed whole
///   (`ESC [ 33 m`, `ESC ] … BEL`, and two-character `ESC x`), not just their ESC byte;
/// - with `backspaces` (default `true`), a character followed by a backspace is removed with it,
///   so the overstrikes of formatted manual pages (`_\bx`, `x\bx`) read as `x`;
/// - with `format_characters` (default `false`), the invisible format characters U+00AD soft
///   hyphen, U+200B zero-width space, U+200E/U+200F direction marks, U+2060 word joiner and
///   U+FEFF byte-order mark are removed too (U+200C/U+200D are kept: they shape Indic and
///   Arabic scripts and emoji).
///
/// Documents left empty are kept (use a length filter to drop them). Counters:
/// `documents_changed`, `control_characters_removed`.
///
/// ```yaml
/// - type: remove_control_characters
///   format_characters: true
/// ```
public struct RemoveControlCharacters: Stage {
    public struct Configuration: Decodable, Sendable {
        public var ansiEscapes: Bool
        public var backspaces: Bool
        public var formatCharacters: Bool

        enum CodingKeys: String, CodingKey {
            case ansiEscapes = "ansi_escapes", backspaces, formatCharacters = "format_characters"
        }

        public init(ansiEscapes: Bool = true, backspaces: Bool = true, formatCharacters: Bool = false) {
            self.ansiEscapes = ansiEscapes
            self.backspaces = backspaces
            self.formatCharacters = formatCharacters
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            ansiEscapes = try c.decodeIfPresent(Bool.self, forKey: .ansiEscapes) ?? true
            backspaces = try c.decodeIfPresent(Bool.self, forKey: .backspaces) ?? true
            formatCharacters = try c.decodeIfPresent(Bool.self, forKey: .formatCharacters) ?? false
        }
    }

    public static let type = "remove_control_characters"
    public static let summary = "Removes control characters, terminal escapes and backspace overstrikes (optionally invisible format characters)."
    public static let options: [StageOption] = [
        StageOption("ansi_escapes", "bool", default: "true", help: "Remove terminal escape sequences whole (ESC [ 33 m)."),
        StageOption("backspaces", "bool", default: "true", help: "Remove a character together with the backspace after it (overstrikes)."),
        StageOption("format_characters", "bool", default: "false", help: "Also remove soft hyphens, zero-width spaces, direction marks, word joiners and BOMs."),
    ]

    public let configuration: Configuration

    public init(configuration: Configuration) throws { self.configuration = configuration }

    public func process(_ batch: inout DocumentBatch, stats: inout StageStats) throws {
        var buffer: [UInt8] = []
        var changed = 0, removed = 0
        batch.retain { doc in
            let n = doc.text.withUTF8Bytes { clean($0, into: &buffer) }
            if n > 0 {
                doc.text = String(decoding: buffer, as: UTF8.self)
                changed += 1
                removed += n
            }
            return .keep
        }
        if changed > 0 {
            stats.counters["documents_changed", default: 0] += changed
            stats.counters["control_characters_removed", default: 0] += removed
        }
    }

    /// The cleaned text, or nil when there was nothing to remove.
    public func cleaned(_ text: String) -> String? {
        var buffer: [UInt8] = []
        let n = text.withUTF8Bytes { clean($0, into: &buffer) }
        return n > 0 ? String(decoding: buffer, as: UTF8.self) : nil
    }

    /// Writes the cleaned `text` to `out` and returns the number of characters removed (0 leaves
    /// `out` undefined).
    func clean(_ text: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) -> Int {
        guard let p = text.baseAddress else { return 0 }
        let n = text.count
        var removed = 0
        var copied = 0
        var i = 0
        let c = configuration
        func cut(_ from: Int, _ to: Int, _ characters: Int) {
            if removed == 0 {
                out.removeAll(keepingCapacity: true)
                out.reserveCapacity(n)
            }
            out.append(contentsOf: UnsafeBufferPointer(start: p + copied, count: from - copied))
            copied = to
            removed += characters
        }
        while i < n {
            let b = p[i]
            if b >= 0x20 && b < 0x7F {
                i += 1
                continue
            }
            if b < 0x20 || b == 0x7F {
                switch b {
                case 0x09, 0x0A, 0x0B, 0x0C, 0x0D:
                    i += 1
                case 0x08 where c.backspaces:
                    // drop the backspace, then the character written before it
                    cut(i, i + 1, 1)
                    if let last = lastScalarStart(out), out[last] != 0x0A {
                        out.removeSubrange(last...)
                        removed += 1
                    }
                    i += 1
                case 0x1B where c.ansiEscapes:
                    let end = escapeEnd(p, i, n)
                    cut(i, end, 1)
                    i = end
                default:
                    cut(i, i + 1, 1)
                    i += 1
                }
                continue
            }
            // non-ASCII
            let (s, len) = decodeScalar(p, i)
            if (s >= 0x80 && s <= 0x9F)
                || (c.formatCharacters && (s == 0xAD || s == 0x200B || s == 0x200E || s == 0x200F || s == 0x2060 || s == 0xFEFF))
            {
                cut(i, i + len, 1)
            }
            i += len
        }
        if removed > 0 { out.append(contentsOf: UnsafeBufferPointer(start: p + copied, count: n - copied)) }
        return removed
    }

    /// The end of the escape sequence starting with ESC at `i`: CSI (`ESC [` parameters, a final
    /// byte 0x40–0x7E), OSC (`ESC ]` up to BEL or `ESC \`), or `ESC` and one more character.
    private func escapeEnd(_ p: UnsafePointer<UInt8>, _ i: Int, _ n: Int) -> Int {
        guard i + 1 < n else { return i + 1 }
        let next = p[i + 1]
        if next == 0x5B {  // CSI
            var j = i + 2
            while j < n && p[j] >= 0x20 && p[j] <= 0x3F { j += 1 }
            if j < n && p[j] >= 0x40 && p[j] <= 0x7E { return j + 1 }
            return i + 1  // not a complete sequence: only ESC goes
        }
        if next == 0x5D {  // OSC
            var j = i + 2
            while j < n && j - i < 512 {
                if p[j] == 0x07 { return j + 1 }
                if p[j] == 0x1B && j + 1 < n && p[j + 1] == 0x5C { return j + 2 }
                j += 1
            }
            return i + 1
        }
        if next >= 0x40 && next <= 0x5F { return i + 2 }
        return i + 1
    }

    private func lastScalarStart(_ out: [UInt8]) -> Int? {
        guard !out.isEmpty else { return nil }
        var k = out.count - 1
        while k > 0 && out[k] & 0xC0 == 0x80 { k -= 1 }
        return k
    }
}
