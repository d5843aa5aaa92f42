import Foundation
import SluiceCore
import SluiceIO

/// Recomputes a shard's statistics from its bytes, for `sluice stats --recompute`.
///
/// It does not build documents. Each JSONL line is scanned once: the `text` string is counted
/// while it is read (characters, words and lines by the rules of ``TextCounts``, escapes
/// decoded on the fly, eight ASCII bytes at a time where there are no escapes), `source` is
/// decoded, `metadata` is parsed as JSON, and every other value is skipped. The result equals
/// what the writer recorded for a shard Sluice wrote (same documents, same order), which
/// makes the sidecars checkable.
public struct ShardScanner {
    /// Documents handed to the statistics in one batch.
    static let batchSize = 1024

    /// What a scan found besides the statistics.
    public struct Outcome: Sendable {
        public var statistics: ShardStatistics
        /// Uncompressed bytes read.
        public var uncompressedBytes: Int
        /// Lines that are not documents, and damage (a truncated file), described.
        public var problems: [String]
    }

    /// Scans one shard (plain, .gz or .zst).
    public static func scan(path: String) throws -> Outcome {
        let source: ByteSource
        do {
            source = try ByteSource(path: path)
        } catch {
            throw StatsFileError("cannot open \(path): \(error)")
        }
        defer { source.close() }
        var stats = ShardStatistics()
        stats.compressedBytes = source.fileSize
        var problems: [String] = []
        var invalid = 0
        var firstInvalid = ""
        var profiles = DocumentProfiles()
        profiles.reserveCapacity(batchSize)
        var lineNumber = 0
        var uncompressed = 0

        func flush() {
            stats.add(profiles, range: 0..<profiles.count)
            profiles = DocumentProfiles()
            profiles.reserveCapacity(batchSize)
        }
        func handle(_ line: UnsafeBufferPointer<UInt8>, lineBytes: Int) {
            lineNumber += 1
            if let doc = scanDocumentLine(line, decodeSource: false),
                profiles.append(lineBytes: lineBytes, counts: doc.counts, quotedSource: doc.quotedSource, metadataJSON: doc.metadataJSON)
            {
            } else {
                invalid += 1
                if firstInvalid.isEmpty { firstInvalid = "line \(lineNumber)" }
                profiles.appendUnprofiled(lineBytes: lineBytes)
            }
            if profiles.count >= batchSize { flush() }
        }

        var capacity = 4 << 20
        var buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
        defer { buffer.deallocate() }
        var filled = 0
        var done = false
        while !done {
            if filled == capacity {
                let bigger = UnsafeMutableRawPointer.allocate(byteCount: capacity * 2, alignment: 16)
                bigger.copyMemory(from: buffer, byteCount: filled)
                buffer.deallocate()
                buffer = bigger
                capacity *= 2
            }
            let n: Int
            do {
                n = try source.read(into: UnsafeMutableRawBufferPointer(start: buffer + filled, count: capacity - filled))
            } catch let damage as InputDamage {
                problems.append(damage.description)
                n = 0
            } catch {
                throw StatsFileError("cannot read \(path): \(error)")
            }
            let scanFrom = filled
            filled += n
            uncompressed += n
            if n == 0 { done = true }
            // Hand over every complete line.
            var lineStart = 0
            var p = scanFrom
            let base = buffer.assumingMemoryBound(to: UInt8.self)
            while p < filled {
                guard let nl = memchr(buffer + p, 0x0A, filled - p) else { break }
                let end = buffer.distance(to: UnsafeMutableRawPointer(nl))
                var contentEnd = end
                if contentEnd > lineStart && base[contentEnd - 1] == 0x0D { contentEnd -= 1 }
                handle(UnsafeBufferPointer(start: base + lineStart, count: contentEnd - lineStart), lineBytes: end + 1 - lineStart)
                lineStart = end + 1
                p = lineStart
            }
            if done && lineStart < filled {
                handle(UnsafeBufferPointer(start: base + lineStart, count: filled - lineStart), lineBytes: filled - lineStart)
                lineStart = filled
            }
            if lineStart > 0 {
                if filled > lineStart { buffer.copyMemory(from: buffer + lineStart, byteCount: filled - lineStart) }
                filled -= lineStart
            }
        }
        flush()
        if invalid > 0 { problems.append("\(path): \(invalid) lines are not JSON documents (first: \(firstInvalid))") }
        return Outcome(statistics: stats, uncompressedBytes: uncompressed, problems: problems)
    }

    /// Scans shards on `workers` threads, each taking the next shard in turn; results come
    /// back in the order of `paths`.
    public static func scan(paths: [String], workers: Int, progress: (@Sendable (Int) -> Void)? = nil) throws -> [Outcome] {
        let results = ResultSlots<Result<Outcome, any Error>>(count: paths.count)
        let next = Counter()
        let threads = max(1, min(workers, paths.count))
        DispatchQueue.concurrentPerform(iterations: threads) { _ in
            while true {
                let i = next.take()
                if i >= paths.count { return }
                let r = Result { try scan(path: paths[i]) }
                results.set(i, r)
                progress?(i)
            }
        }
        return try results.values.map { try $0!.get() }
    }
}

/// Thread-safe slots for results computed in parallel.
final class ResultSlots<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [T?]
    init(count: Int) { slots = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ v: T) {
        lock.lock()
        slots[i] = v
        lock.unlock()
    }
    var values: [T?] {
        lock.lock()
        defer { lock.unlock() }
        return slots
    }
}

/// A shared counter handing out work indexes.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func take() -> Int {
        lock.lock()
        defer { lock.unlock() }
        value += 1
        return value - 1
    }
}

/// What ``scanDocumentLine(_:)`` reads from a JSONL document line.
struct ScannedDocument {
    var counts: TextCounts
    /// The decoded source (when asked for) and its quoted JSON.
    var source: String
    var quotedSource: UnsafeBufferPointer<UInt8>?
    /// The raw JSON of the metadata object, if the line has one.
    var metadataJSON: UnsafeBufferPointer<UInt8>?
    /// The metadata parsed (slower; for `--by` on any path).
    var metadata: JSONObject {
        guard let m = metadataJSON, case .object(let o)? = try? parseJSONValue(UnsafeRawBufferPointer(m)) else { return JSONObject() }
        return o
    }
    /// The raw JSON of the top-level field asked for, if the line has it.
    var captured: UnsafeBufferPointer<UInt8>?
}

/// Reads a Dolma JSONL line without building a `Document`: text counts, source, metadata.
/// Nil when the line is not a JSON object with a string `text`.
func scanDocumentLine(_ line: UnsafeBufferPointer<UInt8>, capture: [UInt8]? = nil, decodeSource: Bool = true) -> ScannedDocument? {
    guard let base = line.baseAddress else { return nil }
    var s = ByteScanner(base: base, end: line.count)
    s.skipWhitespace()
    guard s.peek() == UInt8(ascii: "{") else { return nil }
    s.pos += 1
    var counts: TextCounts?
    var source = ""
    var quotedSource: UnsafeBufferPointer<UInt8>?
    var metadata: UnsafeBufferPointer<UInt8>?
    var captured: UnsafeBufferPointer<UInt8>?
    s.skipWhitespace()
    if s.peek() == UInt8(ascii: "}") { return nil }
    while true {
        guard s.peek() == UInt8(ascii: "\"") else { return nil }
        let keyStart = s.pos + 1
        guard let keyEnd = s.skipString() else { return nil }
        let key = UnsafeBufferPointer(start: base + keyStart, count: keyEnd - 1 - keyStart)
        s.skipWhitespace()
        guard s.peek() == UInt8(ascii: ":") else { return nil }
        s.pos += 1
        s.skipWhitespace()
        switch keyKind(key) {
        case 1:  // text
            guard s.peek() == UInt8(ascii: "\"") else { return nil }
            guard let c = s.countTextString() else { return nil }
            counts = c
        case 2:  // source
            if s.peek() == UInt8(ascii: "\"") {
                let start = s.pos
                guard let end = s.skipString() else { return nil }
                quotedSource = UnsafeBufferPointer(start: base + start, count: end - start)
                if decodeSource { source = decodeJSONString(quotedSource!) ?? "" }
            } else {
                guard s.skipValue(depth: 0) else { return nil }
            }
        case 3:  // metadata
            let start = s.pos
            guard s.skipValue(depth: 0) else { return nil }
            if base[start] == UInt8(ascii: "{") {
                metadata = UnsafeBufferPointer(start: base + start, count: s.pos - start)
            } else if base[start] != UInt8(ascii: "n") {
                return nil  // metadata must be an object or null
            }
        default:
            let start = s.pos
            guard s.skipValue(depth: 0) else { return nil }
            if let capture, key.elementsEqual(capture) { captured = UnsafeBufferPointer(start: base + start, count: s.pos - start) }
        }
        s.skipWhitespace()
        let b = s.peek()
        if b == UInt8(ascii: ",") {
            s.pos += 1
            s.skipWhitespace()
        } else if b == UInt8(ascii: "}") {
            break
        } else {
            return nil
        }
    }
    guard let counts else { return nil }
    return ScannedDocument(counts: counts, source: source, quotedSource: quotedSource, metadataJSON: metadata, captured: captured)
}

@inline(__always)
private func keyKind(_ key: UnsafeBufferPointer<UInt8>) -> Int {
    switch key.count {
    case 4: return key.elementsEqual("text".utf8) ? 1 : 0
    case 6: return key.elementsEqual("source".utf8) ? 2 : 0
    case 8: return key.elementsEqual("metadata".utf8) ? 3 : 0
    default: return 0
    }
}

/// Decodes a quoted JSON string (quotes included).
func decodeJSONString(_ quoted: UnsafeBufferPointer<UInt8>) -> String? {
    guard quoted.count >= 2 else { return nil }
    let inner = UnsafeBufferPointer(rebasing: quoted[1..<(quoted.count - 1)])
    if !inner.contains(UInt8(ascii: "\\")) { return String(decoding: inner, as: UTF8.self) }
    return (try? parseJSONValue(UnsafeRawBufferPointer(quoted)))?.stringValue
}

private let ones: UInt64 = 0x0101_0101_0101_0101
private let highs: UInt64 = 0x8080_8080_8080_8080
private let low7: UInt64 = 0x7F7F_7F7F_7F7F_7F7F

/// A cursor over the bytes of one line.
struct ByteScanner {
    let base: UnsafePointer<UInt8>
    let end: Int
    var pos = 0

    init(base: UnsafePointer<UInt8>, end: Int) {
        self.base = base
        self.end = end
    }

    @inline(__always) func peek() -> UInt8 { pos < end ? base[pos] : 0 }

    @inline(__always) mutating func skipWhitespace() {
        while pos < end {
            let b = base[pos]
            if b != 0x20 && b != 0x0A && b != 0x0D && b != 0x09 { return }
            pos += 1
        }
    }

    /// Skips the string at `pos` (on its opening quote); returns the position after the closing
    /// quote, or nil when it does not end.
    mutating func skipString() -> Int? {
        pos += 1
        while pos + 8 <= end {
            let w = UInt64(littleEndian: UnsafeRawPointer(base + pos).loadUnaligned(as: UInt64.self))
            let q = w ^ (ones &* 0x22)
            let bs = w ^ (ones &* 0x5C)
            let m = (((q &- ones) & ~q) | ((bs &- ones) & ~bs)) & highs
            if m == 0 {
                pos += 8
                continue
            }
            pos += m.trailingZeroBitCount >> 3
            if base[pos] == UInt8(ascii: "\"") {
                pos += 1
                return pos
            }
            pos += 2  // a backslash and the byte it escapes
        }
        while pos < end {
            let b = base[pos]
            if b == UInt8(ascii: "\"") {
                pos += 1
                return pos
            }
            pos += b == UInt8(ascii: "\\") ? 2 : 1
        }
        return nil
    }

    /// Skips one JSON value; false when it is malformed or nested too deeply.
    mutating func skipValue(depth: Int) -> Bool {
        guard depth < 512, pos < end else { return false }
        let b = base[pos]
        switch b {
        case UInt8(ascii: "\""):
            return skipString() != nil
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            let close = b == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]")
            pos += 1
            skipWhitespace()
            if peek() == close {
                pos += 1
                return true
            }
            while true {
                if b == UInt8(ascii: "{") {
                    guard peek() == UInt8(ascii: "\""), skipString() != nil else { return false }
                    skipWhitespace()
                    guard peek() == UInt8(ascii: ":") else { return false }
                    pos += 1
                    skipWhitespace()
                }
                guard skipValue(depth: depth + 1) else { return false }
                skipWhitespace()
                let c = peek()
                if c == UInt8(ascii: ",") {
                    pos += 1
                    skipWhitespace()
                } else if c == close {
                    pos += 1
                    return true
                } else {
                    return false
                }
            }
        default:
            // A number or a literal: up to the next delimiter.
            let start = pos
            while pos < end {
                let c = base[pos]
                if c == UInt8(ascii: ",") || c == UInt8(ascii: "}") || c == UInt8(ascii: "]") || c == 0x20 || c == 0x0A
                    || c == 0x0D || c == 0x09
                {
                    break
                }
                pos += 1
            }
            return pos > start
        }
    }

    /// Reads the string at `pos` (on its opening quote) and counts the characters, words and
    /// lines of its decoded text without decoding it into memory. Nil when it does not end.
    ///
    /// Eight bytes at a time while they hold no quote, backslash, control byte or lead byte of
    /// non-ASCII whitespace (`C2`, `E1`, `E2`, `E3`): there the only whitespace is the space,
    /// words start where a non-space follows a space, and characters are the bytes that are not
    /// UTF-8 continuation bytes. Other bytes go one at a time through a class table.
    mutating func countTextString() -> TextCounts? {
        pos += 1
        var chars = 0
        var words = 0
        var newlines = 0
        var prevSpace: UInt64 = 1  // whether the previous character was whitespace
        var lastWasNewline = false
        let buffer = UnsafeBufferPointer(start: base, count: end)
        return scanClasses.withUnsafeBufferPointer { table -> TextCounts? in
            while true {
                // The fast path, eight bytes at a time.
                var stopAt = Int.max
                while pos + 8 <= end {
                    let w = UInt64(littleEndian: UnsafeRawPointer(base + pos).loadUnaligned(as: UInt64.self))
                    let q = w ^ (ones &* 0x22)
                    let bs = w ^ (ones &* 0x5C)
                    // Quote, backslash (exact at the lowest hit) or control byte (exact for ASCII).
                    let stop = (((q &- ones) & ~q) | ((bs &- ones) & ~bs) | ~(w | (w &+ ones &* 0x60))) & highs
                    if w & highs == 0 {
                        // Plain ASCII: a byte is whitespace exactly when it is below 0x21 (no controls).
                        if stop != 0 {
                            stopAt = pos + (stop.trailingZeroBitCount >> 3)
                            break
                        }
                        let isSpace = ~(w &+ ones &* 0x5F) & highs
                        words &+= (~isSpace & highs & ((isSpace << 8) | (prevSpace << 7))).nonzeroBitCount
                        chars &+= 8
                        prevSpace = isSpace >> 63
                    } else {
                        // Some non-ASCII bytes: leave the bytes that may start non-ASCII
                        // whitespace (C2, E1, E2, E3) to the byte loop.
                        let e2 = (w & (ones &* 0xFE)) ^ (ones &* 0xE2)
                        let e1 = w ^ (ones &* 0xE1)
                        let c2 = w ^ (ones &* 0xC2)
                        let control = ~((w & low7) &+ ones &* 0x60) & ~w  // bytes below 0x20, exactly
                        let special = (((q &- ones) & ~q) | ((bs &- ones) & ~bs) | control | ((e2 &- ones) & ~e2)
                            | ((e1 &- ones) & ~e1) | ((c2 &- ones) & ~c2)) & highs
                        if special != 0 {
                            stopAt = pos + (special.trailingZeroBitCount >> 3)
                            break
                        }
                        let sp = w ^ (ones &* 0x20)
                        let isSpace = ~(((sp & low7) &+ low7) | sp | low7)  // high bit set on spaces
                        words &+= (~isSpace & highs & ((isSpace << 8) | (prevSpace << 7))).nonzeroBitCount
                        chars &+= 8 &- (w & ~(w << 1) & highs).nonzeroBitCount
                        prevSpace = isSpace >> 63
                    }
                    lastWasNewline = false
                    pos &+= 8
                }
                // One byte at a time, up to and including the byte that stopped the fast path.
                let until = stopAt == Int.max ? end : min(end, stopAt + 1)
                while pos < until || (stopAt == Int.max && pos < end) {
                    let b = base[pos]
                    switch table[Int(b)] {
                    case 0:  // ASCII, not whitespace
                        chars &+= 1
                        words &+= Int(prevSpace)
                        prevSpace = 0
                        lastWasNewline = false
                        pos &+= 1
                    case 1:  // space
                        chars &+= 1
                        prevSpace = 1
                        lastWasNewline = false
                        pos &+= 1
                    case 2:  // continuation byte
                        pos &+= 1
                    case 3:  // a lead byte
                        chars &+= 1
                        words &+= Int(prevSpace)
                        prevSpace = 0
                        lastWasNewline = false
                        pos &+= 1
                    case 4:  // a lead byte that may start non-ASCII whitespace
                        chars &+= 1
                        lastWasNewline = false
                        if let ws = UTF8Whitespace.nonASCIIWhitespace(in: buffer, at: pos) {
                            prevSpace = 1
                            pos &+= ws.length
                        } else {
                            words &+= Int(prevSpace)
                            prevSpace = 0
                            pos &+= 1
                        }
                    case 5:  // the closing quote
                        pos &+= 1
                        let lines = chars == 0 ? 0 : newlines + (lastWasNewline ? 0 : 1)
                        return TextCounts(characters: chars, words: words, lines: lines)
                    case 6:  // an escape
                        guard pos + 1 < end else { return nil }
                        let e = base[pos + 1]
                        pos &+= 2
                        var space = false
                        var newline = false
                        switch e {
                        case UInt8(ascii: "n"):
                            space = true
                            newline = true
                        case UInt8(ascii: "t"), UInt8(ascii: "r"), UInt8(ascii: "f"):
                            space = true
                        case UInt8(ascii: "u"):
                            guard let u = hex4() else { return nil }
                            var scalar = u
                            if u >= 0xD800 && u < 0xDC00, pos + 6 <= end, base[pos] == UInt8(ascii: "\\"),
                                base[pos + 1] == UInt8(ascii: "u")
                            {
                                let save = pos
                                pos &+= 2
                                if let low = hex4(), low >= 0xDC00 && low < 0xE000 {
                                    scalar = 0x10000 + ((u - 0xD800) << 10) + (low - 0xDC00)
                                } else {
                                    pos = save
                                }
                            }
                            space = isWhitespaceScalar(scalar)
                            newline = scalar == 0x0A
                        default:
                            break
                        }
                        chars &+= 1
                        if space {
                            prevSpace = 1
                        } else {
                            words &+= Int(prevSpace)
                            prevSpace = 0
                        }
                        if newline { newlines &+= 1 }
                        lastWasNewline = newline
                    default:  // a raw control byte (invalid JSON, counted as countText would)
                        chars &+= 1
                        if b >= 0x09 && b <= 0x0D {
                            prevSpace = 1
                        } else {
                            words &+= Int(prevSpace)
                            prevSpace = 0
                        }
                        if b == 0x0A { newlines &+= 1 }
                        lastWasNewline = b == 0x0A
                        pos &+= 1
                    }
                }
                if pos >= end { return nil }
            }
        }
    }

    private mutating func hex4() -> UInt32? {
        guard pos + 4 <= end else { return nil }
        var v: UInt32 = 0
        for i in 0..<4 {
            let c = base[pos + i]
            let d: UInt32
            switch c {
            case 48...57: d = UInt32(c - 48)
            case 65...70: d = UInt32(c - 55)
            case 97...102: d = UInt32(c - 87)
            default: return nil
            }
            v = v << 4 | d
        }
        pos += 4
        return v
    }
}

/// Byte classes for ``ByteScanner/countTextString()``: 0 ASCII non-space, 1 space, 2
/// continuation byte, 3 lead byte, 4 lead byte of possible whitespace, 5 quote, 6 backslash,
/// 7 control byte.
private let scanClasses: [UInt8] = (0..<256).map { i -> UInt8 in
    switch i {
    case 0x22: return 5
    case 0x5C: return 6
    case 0x20: return 1
    case 0..<0x20: return 7
    case 0x21..<0x80: return 0
    case 0x80..<0xC0: return 2
    case 0xC2, 0xE1, 0xE2, 0xE3: return 4
    default: return 3
    }
}

/// Unicode `White_Space`, as ``UTF8Whitespace`` defines it.
@inline(__always)
func isWhitespaceScalar(_ u: UInt32) -> Bool {
    switch u {
    case 0x09...0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000: true
    default: false
    }
}
