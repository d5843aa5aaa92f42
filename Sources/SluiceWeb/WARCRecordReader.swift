import SluiceCore
import SluiceIO

/// One header field of a WARC record or HTTP message, as read (value trimmed).
public struct HeaderField: Sendable {
    public var name: String
    public var value: String
}

/// Header fields with case-insensitive lookup.
public struct HeaderFields: Sendable {
    public var fields: [HeaderField] = []

    public init(fields: [HeaderField] = []) { self.fields = fields }

    /// The first value of `name` (case-insensitive).
    public subscript(name: String) -> String? {
        for f in fields where f.name.utf8.count == name.utf8.count && asciiCaseInsensitiveEqual(f.name, name) {
            return f.value
        }
        return nil
    }

    /// Parses `Name: value` lines (CRLF or LF), with continuation lines folded in.
    static func parse(_ bytes: ArraySlice<UInt8>) -> HeaderFields {
        var out: [HeaderField] = []
        var i = bytes.startIndex
        let end = bytes.endIndex
        while i < end {
            var j = i
            while j < end && bytes[j] != 0x0A { j += 1 }
            var lineEnd = j
            if lineEnd > i && bytes[lineEnd - 1] == 0x0D { lineEnd -= 1 }
            let line = bytes[i..<lineEnd]
            i = j + 1
            guard let first = line.first else { continue }
            if (first == 0x20 || first == 0x09), !out.isEmpty {
                out[out.count - 1].value += " " + trimmedString(line)
                continue
            }
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { continue }
            out.append(HeaderField(name: trimmedString(line[line.startIndex..<colon]), value: trimmedString(line[(colon + 1)...])))
        }
        return HeaderFields(fields: out)
    }
}

func asciiCaseInsensitiveEqual(_ a: String, _ b: String) -> Bool {
    var ia = a.utf8.makeIterator()
    var ib = b.utf8.makeIterator()
    while true {
        let x = ia.next()
        let y = ib.next()
        if x == nil || y == nil { return x == nil && y == nil }
        var cx = x!
        var cy = y!
        if cx >= 0x41 && cx <= 0x5A { cx |= 0x20 }
        if cy >= 0x41 && cy <= 0x5A { cy |= 0x20 }
        if cx != cy { return false }
    }
}

func trimmedString(_ bytes: ArraySlice<UInt8>) -> String {
    var s = bytes.startIndex
    var e = bytes.endIndex
    while s < e && (bytes[s] == 0x20 || bytes[s] == 0x09 || bytes[s] == 0x0D) { s += 1 }
    while e > s && (bytes[e - 1] == 0x20 || bytes[e - 1] == 0x09 || bytes[e - 1] == 0x0D) { e -= 1 }
    return String(decoding: bytes[s..<e], as: UTF8.self)
}

/// Where a record's bytes are: the on-disk offset of the gzip member or zstd frame it starts in
/// (the record's own offset for an uncompressed file), and the decoded offset within that member
/// (0 when the record starts its member, as in Common Crawl's files).
public struct WARCPosition: Sendable, Hashable {
    public var offset: Int
    public var offsetInMember: Int
}

/// A complete WARC record: its header fields and block.
struct WARCRecord {
    var version: String
    var headers: HeaderFields
    var type: String
    var block: [UInt8]
    var position: WARCPosition
}

/// Damage in a WARC file: what and where.
public struct WARCProblem: Sendable, Hashable, CustomStringConvertible {
    /// The file.
    public var path: String
    /// On-disk offset of the damaged member, or of the damaged record in a plain file.
    public var offset: Int
    public var message: String
    /// Whether a record was lost (counted as a `truncated_record` drop); false for garbage
    /// between records.
    public var lostRecord: Bool

    public var description: String { "\(path): at byte \(offset): \(message)" }
}

/// What ``WARCRecordReader/next()`` found.
enum WARCRecordEvent {
    case record(WARCRecord)
    /// A record not read into memory: its type was not wanted (`notWanted`) or it was too large.
    case skipped(type: String, length: Int, tooLarge: Bool, headers: HeaderFields, position: WARCPosition)
    case damaged(WARCProblem)
}

/// Splits a WARC file into records, resynchronising at the next `WARC/1.x` header after any
/// damage: garbage between records, a wrong `Content-Length`, a record cut short, or a broken
/// gzip member or zstd frame (see ``WARCByteInput``).
final class WARCRecordReader {
    let input: WARCByteInput
    /// Records larger than this are skipped without being held in memory.
    let maxRecordBytes: Int
    /// Which record types are read into memory (by lowercased `WARC-Type`).
    let wantsType: (String) -> Bool

    private var buf: [UInt8] = []
    /// Decoded offset of `buf[0]`.
    private var base = 0
    private var pos = 0
    /// An absolute offset whose bytes must stay in the buffer (the block being checked).
    private var mark: Int?
    /// The on-disk offset of the last record reported lost.
    private var lastLostOffset = -1
    private static let fillSize = 1 << 18
    private static let maxHeaderBytes = 1 << 16
    /// Skipped records up to this size are still buffered, so a wrong length can be detected.
    private static let bufferedSkipLimit = 1 << 20

    init(input: WARCByteInput, maxRecordBytes: Int, wantsType: @escaping (String) -> Bool) {
        self.input = input
        self.maxRecordBytes = maxRecordBytes
        self.wantsType = wantsType
    }

    var path: String { input.path }

    // MARK: Buffer

    /// Absolute decoded offset of the next unread byte.
    private var absolute: Int { base + pos }
    private var available: Int { buf.count - pos }

    /// Makes at least `n` bytes available after `pos`; false when the input ends first.
    private func ensure(_ n: Int) throws -> Bool {
        while available < n {
            let keep = mark.map { max(0, min(pos, $0 - base)) } ?? pos
            if keep > 0 && (keep >= buf.count / 2 || keep > 4 << 20) {
                buf.removeSubrange(0..<keep)
                base += keep
                pos -= keep
            }
            let want = max(Self.fillSize, n - available)
            if try input.read(into: &buf, maxBytes: want) == 0 { return available >= n }
        }
        return true
    }

    /// Discards `n` bytes after `pos` without holding them; false when the input ends first.
    private func discard(_ n: Int) throws -> Bool {
        var left = n
        while left > 0 {
            if available == 0 {
                buf.removeAll(keepingCapacity: true)
                base += pos
                pos = 0
                if try input.read(into: &buf, maxBytes: min(left, 4 << 20)) == 0 { return false }
            }
            let k = min(left, available)
            pos += k
            left -= k
        }
        return true
    }

    private func matches(_ literal: [UInt8], at i: Int) -> Bool {
        guard i + literal.count <= buf.count else { return false }
        for k in 0..<literal.count where buf[i + k] != literal[k] { return false }
        return true
    }

    private static let warcMagic = Array("WARC/".utf8)

    /// The position of a record starting at absolute decoded offset `at`.
    private func position(of at: Int) -> WARCPosition {
        var best = WARCByteInput.Boundary(decoded: 0, compressed: 0)
        var keepFrom = 0
        for (k, b) in input.boundaries.enumerated() where b.decoded <= at {
            best = b
            keepFrom = k
        }
        if keepFrom > 64 { input.boundaries.removeSubrange(0..<keepFrom) }
        if input.format == .plain { return WARCPosition(offset: at, offsetInMember: 0) }
        return WARCPosition(offset: best.compressed, offsetInMember: at - best.decoded)
    }

    /// Damage reported by the input at or before absolute offset `limit`, oldest first.
    private func takeDamage(upTo limit: Int) -> WARCByteInput.Damage? {
        guard let d = input.damages.first, d.decoded <= limit else { return nil }
        input.damages.removeFirst()
        return d
    }

    // MARK: Records

    /// The next record, skip or damage report; nil at the end of the file.
    func next() throws -> WARCRecordEvent? {
        while true {
            // Separators between records.
            while true {
                guard try ensure(1) else { break }
                let c = buf[pos]
                if c == 0x0D || c == 0x0A || c == 0x20 || c == 0x09 { pos += 1 } else { break }
            }
            if let d = takeDamage(upTo: absolute) {
                return .damaged(problem(d, lost: true))
            }
            guard try ensure(1) else {
                if let d = input.damages.first {
                    input.damages.removeFirst()
                    return .damaged(problem(d, lost: true))
                }
                return nil
            }
            let start = absolute
            _ = try ensure(8)
            if !matches(Self.warcMagic, at: pos) || !(matches(Array("WARC/1.".utf8), at: pos) || matches(Array("WARC/0.".utf8), at: pos)) {
                // Garbage: find the next header at a line start.
                let skipped = try scanToNextHeader()
                let at = position(of: start)
                if let d = takeDamage(upTo: absolute) {
                    return .damaged(problem(d, lost: true))
                }
                return .damaged(WARCProblem(
                    path: path, offset: at.offset + (input.format == .plain ? 0 : 0),
                    message: "\(skipped) bytes of garbage before the next record\(at.offsetInMember > 0 ? " (decoded offset \(at.offsetInMember) in the member)" : "")",
                    lostRecord: false))
            }
            // Header block.
            guard let headerEnd = try findHeaderEnd() else {
                let at = position(of: start)
                if let d = takeDamage(upTo: absolute + available) { return .damaged(problem(d, lost: true)) }
                pos += 5
                return lost(WARCProblem(path: path, offset: at.offset, message: "record header not terminated within \(Self.maxHeaderBytes) bytes", lostRecord: true))
            }
            let headerBytes = buf[pos..<headerEnd]
            var lineEnd = pos
            while lineEnd < headerEnd && buf[lineEnd] != 0x0A { lineEnd += 1 }
            let version = trimmedString(buf[pos..<lineEnd])
            let headers = HeaderFields.parse(headerBytes[(lineEnd + 1)...])
            let recordPosition = position(of: start)
            if let d = takeDamage(upTo: base + headerEnd) {
                pos = d.decoded - base
                return .damaged(problem(d, lost: true))
            }
            guard let lengthText = headers["Content-Length"], let length = Int(lengthText), length >= 0 else {
                pos += 5
                return lost(WARCProblem(
                    path: path, offset: recordPosition.offset, message: "record without a valid Content-Length", lostRecord: true))
            }
            let type = (headers["WARC-Type"] ?? "").lowercased()
            let wanted = wantsType(type)
            let tooLarge = length > maxRecordBytes
            pos = headerEnd
            let blockStart = absolute
            if (!wanted || tooLarge) && length > Self.bufferedSkipLimit {
                // Stream past it.
                let complete = try discard(length)
                if let d = takeDamage(upTo: absolute) {
                    pos = max(0, d.decoded - base)
                    return .damaged(problem(d, lost: true))
                }
                if !complete {
                    return lost(WARCProblem(
                        path: path, offset: recordPosition.offset,
                        message: "truncated record: the file ends inside its \(length)-byte block", lostRecord: true))
                }
                if try !consumeTrailer() {
                    return lost(WARCProblem(
                        path: path, offset: recordPosition.offset,
                        message: "record not followed by CRLF CRLF: wrong Content-Length (\(length))", lostRecord: true))
                }
                return .skipped(type: type, length: length, tooLarge: tooLarge, headers: headers, position: recordPosition)
            }
            // Hold the block plus the trailer and one byte of look-ahead (which also makes the
            // member end, and any checksum error, visible before the record is accepted).
            let complete = try ensure(length + 5)
            let blockEnd = blockStart + length
            // Damage inside the record, or a checksum failure of its own member right at its end.
            if let d = input.damages.first, d.decoded > start,
                d.decoded < blockEnd + 4 || (d.decoded == blockEnd + 4 && d.compressed <= recordPosition.offset)
            {
                input.damages.removeFirst()
                pos = max(0, d.decoded - base)
                return .damaged(problem(d, lost: true))
            }
            if !complete && available < length {
                let got = available
                pos = buf.count
                return lost(WARCProblem(
                    path: path, offset: recordPosition.offset,
                    message: "truncated record: \(got) of \(length) block bytes before the end of the file", lostRecord: true))
            }
            pos += length
            mark = blockStart
            defer { mark = nil }
            if try !consumeTrailer() {
                // Wrong Content-Length: look for the next record inside the declared block.
                let range = (blockStart - base)..<(blockEnd - base)
                if let inside = nextHeaderStart(in: range) {
                    pos = inside
                } else {
                    pos = range.upperBound
                }
                return lost(WARCProblem(
                    path: path, offset: recordPosition.offset,
                    message: "record not followed by CRLF CRLF: wrong Content-Length (\(length))", lostRecord: true))
            }
            if !wanted || tooLarge {
                return .skipped(type: type, length: length, tooLarge: tooLarge, headers: headers, position: recordPosition)
            }
            return .record(WARCRecord(
                version: version, headers: headers, type: type, block: Array(buf[(blockStart - base)..<(blockEnd - base)]),
                position: recordPosition))
        }
    }

    private func problem(_ d: WARCByteInput.Damage, lost: Bool) -> WARCProblem {
        // A member already blamed for a lost record loses no second one.
        let counted = lost && d.compressed != lastLostOffset && d.produced > 0
        if counted { lastLostOffset = d.compressed }
        return WARCProblem(path: path, offset: d.compressed, message: d.message, lostRecord: counted)
    }

    /// Marks the record at `offset` as lost (so later damage in the same member is not counted again).
    private func lost(_ p: WARCProblem) -> WARCRecordEvent {
        lastLostOffset = p.offset
        return .damaged(p)
    }

    /// Consumes the record trailer (CRLF CRLF; a missing or short one is tolerated when the next
    /// record or the end of the file follows). False when something else follows.
    private func consumeTrailer() throws -> Bool {
        _ = try ensure(4 + 8)
        var k = 0
        while k < 4 && pos + k < buf.count && (buf[pos + k] == 0x0D || buf[pos + k] == 0x0A) { k += 1 }
        if pos + k >= buf.count {
            pos += k
            return true
        }
        if k == 4 || matches(Self.warcMagic, at: pos + k) {
            pos += k
            return true
        }
        return false
    }

    /// The buffer index of the first `WARC/1.` at a line start within `range`, after its start.
    private func nextHeaderStart(in range: Range<Int>) -> Int? {
        var i = range.lowerBound + 1
        let end = min(range.upperBound + 8, buf.count)
        while i + 7 <= end {
            if buf[i] == UInt8(ascii: "W") && buf[i - 1] == 0x0A && matches(Array("WARC/1.".utf8), at: i) { return i }
            i += 1
        }
        return nil
    }

    /// Skips to the next `WARC/1.` at a line start (or the end); returns the bytes skipped.
    private func scanToNextHeader() throws -> Int {
        var skipped = 0
        pos += 1
        skipped += 1
        while true {
            guard try ensure(8) else {
                skipped += available
                pos = buf.count
                return skipped
            }
            let limit = buf.count - 7
            while pos < limit {
                if buf[pos] == UInt8(ascii: "W") && (buf[pos - 1] == 0x0A || damageAt(base + pos))
                    && matches(Array("WARC/1.".utf8), at: pos)
                {
                    return skipped
                }
                pos += 1
                skipped += 1
            }
        }
    }

    private func damageAt(_ at: Int) -> Bool { input.damages.contains { $0.decoded == at } }

    /// Finds the blank line ending the header block starting at `pos`; returns the buffer index
    /// where the block content starts, or nil when there is none within the header limit.
    private func findHeaderEnd() throws -> Int? {
        var rel = 0
        while true {
            var i = pos + rel
            while i + 2 < buf.count {
                if buf[i] == 0x0A {
                    if buf[i + 1] == 0x0A { return i + 2 }
                    if buf[i + 1] == 0x0D && buf[i + 2] == 0x0A { return i + 3 }
                }
                i += 1
                if i - pos > Self.maxHeaderBytes { return nil }
            }
            rel = i - pos
            if try !ensure(available + 1) {
                // At the end of the file: a header ending exactly there.
                if buf.count - pos >= 2 && buf[buf.count - 1] == 0x0A && buf[buf.count - 2] == 0x0A { return buf.count }
                return nil
            }
        }
    }
}
