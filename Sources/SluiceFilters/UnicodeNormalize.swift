import Foundation
import SluiceCore

/// Puts each document's text in a Unicode normalisation form.
///
/// YAML type `unicode_normalize`. Option `form`: `nfc` (default: canonical composition, `e` +
/// U+0301 becomes `é`), `nfkc` (compatibility composition as well: `ﬁ` → `fi`, `①` → `1`,
/// full-width `Ａ` → `A`, `…` → `...`), `nfd` or `nfkd` (the decomposed forms).
///
/// Text that is pure ASCII is already in every form, so it is passed over after one byte scan
/// (8 bytes at a time) and never converted. Other text goes through Foundation's normalisation
/// (`precomposedStringWithCanonicalMapping` and friends) once, and keeps its original `String`
/// when the result is the same. The counter `documents_changed` counts documents whose text
/// changed. Normalisation never drops a document.
///
/// ```yaml
/// - type: unicode_normalize
///   form: nfkc
/// ```
public struct UnicodeNormalize: Stage {
    public struct Configuration: Decodable, Sendable {
        /// `nfc`, `nfkc`, `nfd` or `nfkd`.
        public var form: String

        enum CodingKeys: String, CodingKey { case form }

        public init(form: String = "nfc") { self.form = form }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            form = try decodeChoice(c, .form, allowed: ["nfc", "nfkc", "nfd", "nfkd"], default: "nfc")
        }
    }

    public static let type = "unicode_normalize"
    public static let summary = "Puts text in Unicode NFC (default), NFKC, NFD or NFKD; ASCII text is skipped."
    public static let options: [StageOption] = [
        StageOption("form", "nfc | nfkc | nfd | nfkd", default: "nfc", help: "The normalisation form."),
    ]

    public enum Form: String, Sendable { case nfc, nfkc, nfd, nfkd }
    public let form: Form

    public init(configuration: Configuration) throws {
        guard let form = Form(rawValue: configuration.form) else {
            throw StageConfigurationError("form: '\(configuration.form)' is not allowed; use one of nfc, nfkc, nfd, nfkd")
        }
        self.form = form
    }

    public func process(_ batch: inout DocumentBatch, stats: inout StageStats) throws {
        var changed = 0
        batch.retain { doc in
            if let text = normalized(doc.text) {
                doc.text = text
                changed += 1
            }
            return .keep
        }
        if changed > 0 { stats.counters["documents_changed", default: 0] += changed }
    }

    /// The normalised text, or nil when `text` is already normalised.
    public func normalized(_ text: String) -> String? {
        if text.withUTF8Bytes(isASCII) { return nil }
        let out: String
        switch form {
        case .nfc: out = text.precomposedStringWithCanonicalMapping
        case .nfkc: out = text.precomposedStringWithCompatibilityMapping
        case .nfd: out = text.decomposedStringWithCanonicalMapping
        case .nfkd: out = text.decomposedStringWithCompatibilityMapping
        }
        // Compare bytes: String's == compares canonically equivalent strings as equal.
        return out.utf8.elementsEqual(text.utf8) ? nil : out
    }
}

/// Whether every byte is ASCII, 8 bytes at a time.
func isASCII(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
    let n = bytes.count
    guard n > 0, let base = bytes.baseAddress else { return true }
    let raw = UnsafeRawPointer(base)
    var i = 0
    var acc: UInt64 = 0
    while i + 8 <= n {
        acc |= raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
        i += 8
    }
    while i < n {
        acc |= UInt64(base[i])
        i += 1
    }
    return acc & 0x8080_8080_8080_8080 == 0
}
