import SluiceCore
import SluiceIO

/// The decoded bytes of one WARC file (plain, gzip or zstd), with where each gzip member or zstd
/// frame starts and where the stream was damaged.
///
/// A damaged member (bad header, bad data, bad checksum, cut short) is recorded as a
/// ``Damage`` at the decoded offset where decoding stopped; reading then resumes at the next
/// plausible member start (`1f 8b 08` for gzip, `28 b5 2f fd` for zstd), searched from just after
/// the damaged member's start, so one bad member costs its own records only.
final class WARCByteInput {
    enum Format: String { case plain, gzip, zstd }

    /// Where a member (or, for plain files, the file) starts: decoded and on-disk offsets.
    struct Boundary {
        var decoded: Int
        var compressed: Int
    }

    /// A place where the stream was damaged.
    struct Damage {
        /// Decoded offset where decoding stopped (bytes after it come from the next good member).
        var decoded: Int
        /// On-disk offset of the damaged member's start (or of the damage in a plain file).
        var compressed: Int
        var message: String
        /// Bytes the damaged member decoded before the damage (0: it was not a member at all).
        var produced: Int
    }

    let path: String
    private(set) var format: Format = .plain
    private let source: ByteSource
    private var cbuf: [UInt8] = []
    /// On-disk offset of `cbuf[0]`.
    private var cbufBase = 0
    private var cpos = 0
    private var rawEOF = false
    private var inMember = false
    private var memberStart = 0
    private var memberProduced = 0
    private var inflater: InflateStream?
    private var zstd: ZstdFrameStream?
    private static let chunk = 1 << 20
    /// Where bytes are read and decoded before being appended (no zero-filling of arrays).
    private let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 64)
    /// Compressed bytes of the current member kept for resynchronisation after damage.
    private static let maxRetained = 16 << 20

    /// Member starts seen so far (the reader prunes old ones).
    var boundaries: [Boundary] = []
    /// Damage not yet taken by the reader, in stream order.
    var damages: [Damage] = []
    /// Decoded bytes produced so far.
    private(set) var decodedTotal = 0
    /// True once the input is exhausted.
    private(set) var isAtEnd = false
    /// On-disk bytes consumed so far (for progress).
    var compressedBytesRead: Int { source.compressedOffset }
    var fileSize: Int { source.fileSize }

    deinit { scratch.deallocate() }

    init(path: String) throws {
        self.path = path
        source = try ByteSource(path: path, format: .plain)
        // Choose by extension, then by magic bytes.
        var f: Format?
        switch CompressionFormat.fromExtension(of: path) {
        case .gzip?: f = .gzip
        case .zstd?: f = .zstd
        default: break
        }
        try refill()
        if f == nil {
            let head = cbuf.prefix(4)
            if head.count >= 2 && head[head.startIndex] == 0x1F && head[head.startIndex + 1] == 0x8B {
                f = .gzip
            } else if head.count == 4 && Array(head) == [0x28, 0xB5, 0x2F, 0xFD] {
                f = .zstd
            } else if head.count == 4 && head[head.startIndex + 1] == 0x2A && head[head.startIndex + 2] == 0x4D
                && head[head.startIndex + 3] == 0x18 && head[head.startIndex] & 0xF0 == 0x50
            {
                f = .zstd
            }
        }
        format = f ?? .plain
        switch format {
        case .plain: boundaries.append(Boundary(decoded: 0, compressed: 0))
        case .gzip: inflater = try InflateStream(wrapper: .gzip)
        case .zstd:
            zstd = try ZstdFrameStream()
            try loadZstdDictionaryIfPresent()
        }
    }

    /// The `.warc.zst` convention: a skippable frame with magic 0x184D2A5D at the start holds
    /// the dictionary (itself possibly zstd-compressed).
    private func loadZstdDictionaryIfPresent() throws {
        guard cbuf.count >= 8, cbuf[0] == 0x5D, cbuf[1] == 0x2A, cbuf[2] == 0x4D, cbuf[3] == 0x18 else { return }
        let size = Int(cbuf[4]) | Int(cbuf[5]) << 8 | Int(cbuf[6]) << 16 | Int(cbuf[7]) << 24
        while cbuf.count < 8 + size && !rawEOF { try refill() }
        guard cbuf.count >= 8 + size else { return }
        var dict = Array(cbuf[8..<(8 + size)])
        if dict.count >= 4 && dict[0] == 0x28 && dict[1] == 0xB5 && dict[2] == 0x2F && dict[3] == 0xFD {
            dict = try ZstdFrameStream.decompressAll(dict, maxOutputBytes: 64 << 20)
        }
        try zstd?.loadDictionary(dict)
        cpos = 8 + size
    }

    /// Reads more on-disk bytes, keeping the current member's bytes for resynchronisation.
    private func refill() throws {
        var keepFrom = cpos
        if inMember && memberStart >= cbufBase && cbufBase + cbuf.count - memberStart <= Self.maxRetained {
            keepFrom = memberStart - cbufBase
        }
        if keepFrom > 0 {
            cbuf.removeSubrange(0..<keepFrom)
            cbufBase += keepFrom
            cpos -= keepFrom
        }
        let n = try source.read(into: scratch)
        cbuf.append(contentsOf: UnsafeRawBufferPointer(rebasing: scratch[0..<n]))
        if n == 0 { rawEOF = true }
    }

    /// Appends up to `maxBytes` decoded bytes to `out`; returns how many (0 only at the end).
    func read(into out: inout [UInt8], maxBytes: Int) throws -> Int {
        if isAtEnd { return 0 }
        let room = UnsafeMutableRawBufferPointer(rebasing: scratch[0..<min(maxBytes, scratch.count)])
        let n = try decode(into: room)
        out.append(contentsOf: UnsafeRawBufferPointer(rebasing: room[0..<n]))
        decodedTotal += n
        return n
    }

    /// Decodes into `out` (from its start); returns how many bytes.
    private func decode(into out: UnsafeMutableRawBufferPointer) throws -> Int {
        let before = 0
        var produced = 0
        switch format {
        case .plain:
            if cpos < cbuf.count {
                let k = min(out.count, cbuf.count - cpos)
                cbuf.withUnsafeBytes { c in
                    out.baseAddress!.copyMemory(from: c.baseAddress! + cpos, byteCount: k)
                }
                cpos += k
                return k
            }
            let n = try source.read(into: out)
            if n == 0 { isAtEnd = true }
            return n
        case .gzip, .zstd:
            while produced == 0 {
                if !inMember {
                    // Skip zero padding between members.
                    while true {
                        while cpos < cbuf.count && cbuf[cpos] == 0 { cpos += 1 }
                        if cpos < cbuf.count || rawEOF { break }
                        try refill()
                    }
                    if cpos >= cbuf.count {
                        isAtEnd = true
                        return 0
                    }
                    inMember = true
                    memberStart = cbufBase + cpos
                    memberProduced = 0
                    inflater?.reset()
                    boundaries.append(Boundary(decoded: decodedTotal, compressed: memberStart))
                }
                if cpos >= cbuf.count && !rawEOF {
                    try refill()
                    continue
                }
                var outPos = before
                var inPos = cpos
                do {
                    let ended = try cbuf.withUnsafeBytes { input in
                        if let inflater {
                            return try inflater.inflate(input, inputPosition: &inPos, into: out, outputPosition: &outPos)
                        }
                        return try zstd!.decompress(input, inputPosition: &inPos, into: out, outputPosition: &outPos)
                    }
                    let progressed = inPos != cpos || outPos != before
                    cpos = inPos
                    produced = outPos - before
                    memberProduced += produced
                    if ended {
                        inMember = false
                    } else if !progressed && cpos >= cbuf.count && rawEOF {
                        damages.append(Damage(
                            decoded: decodedTotal, compressed: memberStart,
                            message: "truncated \(format) \(format == .gzip ? "member" : "frame") (the file ends inside it)",
                            produced: memberProduced))
                        inMember = false
                        isAtEnd = true
                        return 0
                    }
                } catch {
                    cpos = inPos
                    produced = outPos - before
                    memberProduced += produced
                    let kind = format == .gzip ? "gzip member" : "zstd frame"
                    let detail = (error as? DecompressionError).map { $0.detail.isEmpty ? $0.kind.rawValue : $0.detail } ?? "\(error)"
                    damages.append(Damage(
                        decoded: decodedTotal + produced, compressed: memberStart,
                        message: memberProduced == 0 ? "bytes that are not a \(kind) (\(detail)); skipped to the next one" : "corrupt \(kind) (\(detail))",
                        produced: memberProduced))
                    try resynchronise(after: memberStart)
                    if produced > 0 { return produced }
                }
            }
            return produced
        }
    }

    /// Moves to the next plausible member start after on-disk offset `start`.
    private func resynchronise(after start: Int) throws {
        inMember = false
        zstd?.reset()
        var i = max(start + 1, cbufBase) - cbufBase
        while true {
            let magic: [UInt8] = format == .gzip ? [0x1F, 0x8B, 0x08] : [0x28, 0xB5, 0x2F, 0xFD]
            while i + magic.count <= cbuf.count {
                if cbuf[i] == magic[0] && cbuf[i + 1] == magic[1] && cbuf[i + 2] == magic[2]
                    && (magic.count == 3 || cbuf[i + 3] == magic[3])
                {
                    cpos = i
                    return
                }
                i += 1
            }
            if rawEOF {
                cpos = cbuf.count
                return
            }
            cpos = i
            try refill()
            i = cpos
        }
    }
}
