/// The compression of a byte stream: none, gzip (RFC 1952, possibly several members) or zstd.
public enum CompressionFormat: String, Sendable, Hashable, CustomStringConvertible {
    case plain
    case gzip
    case zstd

    public var description: String { rawValue }

    /// The format implied by a file name's extension: `.gz`/`.gzip` is gzip, `.zst`/`.zstd` is
    /// zstd; anything else returns `nil` (the caller then sniffs the magic bytes).
    public static func fromExtension(of path: String) -> CompressionFormat? {
        let name = path.utf8
        func hasSuffix(_ suffix: String) -> Bool {
            let s = suffix.utf8
            return name.count >= s.count && name.suffix(s.count).elementsEqual(s)
        }
        if hasSuffix(".gz") || hasSuffix(".gzip") { return .gzip }
        if hasSuffix(".zst") || hasSuffix(".zstd") { return .zstd }
        return nil
    }

    /// The format implied by the first bytes of a stream: `1f 8b` is gzip, `28 b5 2f fd` is zstd,
    /// anything else (including too few bytes) is plain.
    public static func sniff(_ prefix: UnsafeRawBufferPointer) -> CompressionFormat {
        if prefix.count >= 2 && prefix[0] == 0x1f && prefix[1] == 0x8b { return .gzip }
        if prefix.count >= 4 && prefix[0] == 0x28 && prefix[1] == 0xb5 && prefix[2] == 0x2f
            && prefix[3] == 0xfd
        {
            return .zstd
        }
        return .plain
    }
}

/// A compressed stream that cannot be decoded: it ends inside a frame or member (`truncated`) or
/// holds bytes the decoder rejects (`corrupt`, which includes checksum mismatches).
public struct DecompressionError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable {
        /// The input ended before the last zstd frame or gzip member was complete.
        case truncated
        /// The decoder rejected the data (bad header, bad block, checksum mismatch, …).
        case corrupt
    }

    public let kind: Kind
    public let format: CompressionFormat
    /// Where in the compressed input the damage was found. For zstd it is within one block
    /// (≤ 128 KiB) of the bad byte, usually the start of the damaged block; for gzip it is where
    /// inflate stopped (a bad checksum is found only at the end of its member).
    public let compressedOffset: Int
    /// The library's own words, e.g. "Data corruption detected" or "invalid block type".
    public let detail: String

    public init(kind: Kind, format: CompressionFormat, compressedOffset: Int, detail: String = "") {
        self.kind = kind
        self.format = format
        self.compressedOffset = compressedOffset
        self.detail = detail
    }

    /// "truncated zstd stream" or "corrupt gzip data (invalid block type)".
    public var message: String {
        switch kind {
        case .truncated: return "truncated \(format) stream"
        case .corrupt: return detail.isEmpty ? "corrupt \(format) data" : "corrupt \(format) data (\(detail))"
        }
    }

    public var description: String { "\(message) at compressed byte \(compressedOffset)" }
}

/// An input file that is damaged: its bytes up to the damage were delivered, the rest is lost.
/// Readers report this as a value, not a thrown job failure: the caller counts the loss
/// (`truncated_record`) and goes on with the next file.
public struct InputDamage: Error, Sendable, Hashable, CustomStringConvertible {
    /// The damaged file.
    public let path: String
    /// The compressed byte offset at which the damage was found (see
    /// ``DecompressionError/compressedOffset`` for its precision).
    public let compressedOffset: Int
    /// What is wrong, e.g. "truncated zstd stream".
    public let message: String
    /// Truncated or corrupt.
    public let kind: DecompressionError.Kind

    public init(path: String, compressedOffset: Int, message: String, kind: DecompressionError.Kind) {
        self.path = path
        self.compressedOffset = compressedOffset
        self.message = message
        self.kind = kind
    }

    public init(path: String, _ error: DecompressionError) {
        self.init(path: path, compressedOffset: error.compressedOffset, message: error.message, kind: error.kind)
    }

    /// "FILE: truncated zstd stream at compressed byte 12345".
    public var description: String { "\(path): \(message) at compressed byte \(compressedOffset)" }
}

/// A compressor that could not be set up or failed (bad level, out of memory, no
/// multithreading in the library).
public struct CompressionError: Error, Sendable, Hashable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
