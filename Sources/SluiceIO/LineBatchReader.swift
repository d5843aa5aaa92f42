import Glibc

/// A line that was longer than ``LineBatchReader/maxLineBytes``: it was skipped while streaming
/// (never held in memory whole) and is reported so the caller can count a `too_large` drop.
public struct OversizedLine: Sendable, Hashable {
    /// The 1-based line number within the file.
    public var lineNumber: Int
    /// The uncompressed byte offset of the line's first byte within the file.
    public var offset: Int
    /// The line's length in bytes, excluding its line feed.
    public var length: Int

    public init(lineNumber: Int, offset: Int, length: Int) {
        self.lineNumber = lineNumber
        self.offset = offset
        self.length = length
    }
}

/// Many consecutive lines of one file in one contiguous buffer. Line `i` is
/// `bytes[lineStarts[i]..<lineEnds[i]]`, without its `\n` and without a `\r` just before it.
/// Empty lines are included; the caller decides what they mean.
public struct RawLineBatch: Sendable {
    /// The file the lines come from.
    public var path: String
    /// The lines' bytes; ranges below index into it. It may hold bytes that belong to no line
    /// (line feeds, oversized lines).
    public var bytes: [UInt8]
    /// Where each line starts in ``bytes``.
    public var lineStarts: [Int]
    /// Where each line ends in ``bytes`` (exclusive; the line feed and a `\r` before it excluded).
    public var lineEnds: [Int]
    /// The 1-based line number of each line within the file.
    public var lineNumbers: [Int]
    /// The uncompressed byte offset of each line's first byte within the file.
    public var lineOffsets: [Int]
    /// Lines longer than the reader's `maxLineBytes` met while reading this batch; they are not
    /// among the lines above.
    public var oversizedLines: [OversizedLine]
    /// Set on the last batch of a damaged file: the lines above were read completely before the
    /// damage; everything from the damage on (including a partial line just before it) is lost.
    public var damage: InputDamage?

    public init(
        path: String, bytes: [UInt8], lineStarts: [Int], lineEnds: [Int], lineNumbers: [Int],
        lineOffsets: [Int], oversizedLines: [OversizedLine] = [], damage: InputDamage? = nil
    ) {
        self.path = path
        self.bytes = bytes
        self.lineStarts = lineStarts
        self.lineEnds = lineEnds
        self.lineNumbers = lineNumbers
        self.lineOffsets = lineOffsets
        self.oversizedLines = oversizedLines
        self.damage = damage
    }

    /// The number of lines.
    public var count: Int { lineStarts.count }

    /// Line `i`'s bytes.
    public subscript(line i: Int) -> ArraySlice<UInt8> { bytes[lineStarts[i]..<lineEnds[i]] }

    /// Calls `body` with line `i`'s bytes, without copying.
    public func withLine<R>(_ i: Int, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        let start = lineStarts[i]
        let end = lineEnds[i]
        return try bytes.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[start..<end])) }
    }
}

/// Reads a file (plain, .gz or .zst; see ``ByteSource``) as batches of lines: the input hot path
/// for line-oriented formats such as JSONL.
///
/// A batch ends after ``maxLines`` lines or before the line that would take it past
/// ``maxBytes``, whichever comes first; a single line larger than `maxBytes` forms a batch of
/// its own. Lines longer than ``maxLineBytes`` are skipped without being buffered whole and are
/// reported in ``RawLineBatch/oversizedLines``. A last line without a line feed is a line.
///
/// **Damage.** When the file turns out to be truncated or corrupt, the lines completed before
/// the damage are returned, and the last batch carries ``RawLineBatch/damage`` (that batch may
/// have no lines). A partial line just before the damage is discarded. After that batch, `next()`
/// returns `nil`; ``damage`` keeps the value. So the loop is simply:
///
/// ```swift
/// while let batch = try reader.next() {
///     process(batch)
///     if let damage = batch.damage { log(damage) }   // counted once, as truncated_record
/// }
/// ```
///
/// `next()` throws only for failures of the job itself (I/O errors), as ``FileError``.
///
/// One per file, used from one thread at a time (not `Sendable`); the batches are `Sendable`.
public final class LineBatchReader {
    /// The most lines in a batch.
    public let maxLines: Int
    /// The most bytes of lines in a batch, unless a single line is larger.
    public let maxBytes: Int
    /// Lines longer than this (excluding the line feed) are skipped and reported.
    public let maxLineBytes: Int
    /// The damage found, once the last batch has been returned.
    public private(set) var damage: InputDamage?

    private let source: ByteSource
    private let readChunk: Int
    /// Bytes read but not yet in a batch (the start of the next batch), and the file offset of
    /// its first byte.
    private var carry: [UInt8] = []
    private var carryOffset = 0
    private var nextLineNumber = 1
    /// Skipping the rest of an oversized line.
    private var skipping = false
    private var skipLineNumber = 0
    private var skipOffset = 0
    private var skipLength = 0
    private var finished = false
    /// A larger buffer for the next batch, when one line does not fit.
    private var growCapacity = 0

    /// Opens `path` (see ``ByteSource/init(path:format:chunkSize:)``).
    /// - Throws: ``FileError`` when the file cannot be opened.
    public convenience init(
        path: String, format: CompressionFormat? = nil, maxLines: Int = 1000, maxBytes: Int = 4 << 20,
        maxLineBytes: Int = 32 << 20
    ) throws {
        try self.init(
            source: ByteSource(path: path, format: format), maxLines: maxLines, maxBytes: maxBytes,
            maxLineBytes: maxLineBytes)
    }

    /// Reads lines from an open source.
    public init(source: ByteSource, maxLines: Int = 1000, maxBytes: Int = 4 << 20, maxLineBytes: Int = 32 << 20) {
        precondition(maxLines > 0 && maxBytes > 0 && maxLineBytes >= 0, "LineBatchReader limits must be positive")
        self.source = source
        self.maxLines = maxLines
        self.maxBytes = maxBytes
        self.maxLineBytes = maxLineBytes
        readChunk = 1 << 17
    }

    /// The file being read.
    public var path: String { source.path }
    /// The file's compression.
    public var format: CompressionFormat { source.format }
    /// The file's size on disk.
    public var fileSize: Int { source.fileSize }
    /// Compressed (on-disk) bytes consumed so far, for progress reports.
    public var compressedBytesRead: Int { source.compressedOffset }

    private enum Stop { case full, grow, endOfInput, damaged }

    /// The next batch, or `nil` when the file is done (or after the batch that reported damage).
    /// - Throws: ``FileError`` on I/O failure.
    public func next() throws -> RawLineBatch? {
        var oversized: [OversizedLine] = []
        while !finished {
            var starts: [Int] = []
            var ends: [Int] = []
            var numbers: [Int] = []
            var offsets: [Int] = []
            let reserve = min(maxLines, 1024)
            starts.reserveCapacity(reserve)
            ends.reserveCapacity(reserve)
            numbers.reserveCapacity(reserve)
            offsets.reserveCapacity(reserve)
            let capacity = max(maxBytes + readChunk, carry.count + readChunk, growCapacity)
            var stop = Stop.full
            var foundDamage: InputDamage?

            let bytes: [UInt8]
            do {
                bytes = try [UInt8](unsafeUninitializedCapacity: capacity) { buffer, initialized in
                    let base = UnsafeMutableRawPointer(buffer.baseAddress!)
                    var filled = carry.count
                    carry.withUnsafeBytes { c in
                        if c.count > 0 { base.copyMemory(from: c.baseAddress!, byteCount: c.count) }
                    }
                    carry.removeAll(keepingCapacity: true)
                    var scan = 0  // bytes before `scan` hold no unhandled line feed
                    var lineStart = 0  // start of the line being read
                    var shift = carryOffset  // file offset of position p is p + shift
                    initialized = 0

                    reading: while true {
                        // Handle every line feed in [scan, filled).
                        while scan < filled {
                            guard let p = memchr(base + scan, 0x0A, filled - scan) else {
                                scan = filled
                                break
                            }
                            let nl = base.distance(to: UnsafeMutableRawPointer(p))
                            if skipping {
                                oversized.append(
                                    OversizedLine(lineNumber: skipLineNumber, offset: skipOffset,
                                                  length: skipLength + (nl - lineStart)))
                                skipping = false
                            } else if nl - lineStart > maxLineBytes {
                                oversized.append(
                                    OversizedLine(lineNumber: nextLineNumber, offset: lineStart + shift,
                                                  length: nl - lineStart))
                                nextLineNumber += 1
                            } else {
                                if let first = starts.first, nl + 1 - first > maxBytes {
                                    stop = .full
                                    break reading
                                }
                                var end = nl
                                if end > lineStart && base.load(fromByteOffset: end - 1, as: UInt8.self) == 0x0D {
                                    end -= 1
                                }
                                starts.append(lineStart)
                                ends.append(end)
                                numbers.append(nextLineNumber)
                                offsets.append(lineStart + shift)
                                nextLineNumber += 1
                            }
                            lineStart = nl + 1
                            scan = lineStart
                            if starts.count == maxLines {
                                stop = .full
                                break reading
                            }
                        }
                        // [lineStart, filled) is a partial line. Drop it if it is oversized.
                        if skipping || filled - lineStart > maxLineBytes {
                            if !skipping {
                                skipping = true
                                skipLineNumber = nextLineNumber
                                skipOffset = lineStart + shift
                                skipLength = 0
                                nextLineNumber += 1
                            }
                            skipLength += filled - lineStart
                            shift += filled - lineStart
                            filled = lineStart
                            scan = lineStart
                        }
                        if filled == capacity {
                            if !starts.isEmpty {
                                stop = .full
                                break reading
                            }
                            if lineStart > 0 {  // only dead bytes before the partial line: drop them
                                (base).copyMemory(from: base + lineStart, byteCount: filled - lineStart)
                                shift += lineStart
                                filled -= lineStart
                                scan -= lineStart
                                lineStart = 0
                            }
                            if filled == capacity {
                                stop = .grow
                                break reading
                            }
                        }
                        let want = min(readChunk, capacity - filled)
                        let n: Int
                        do {
                            n = try source.read(into: UnsafeMutableRawBufferPointer(start: base + filled, count: want))
                        } catch let d as InputDamage {
                            foundDamage = d
                            stop = .damaged
                            break reading
                        }
                        if n == 0 {
                            stop = .endOfInput
                            break reading
                        }
                        filled += n
                    }

                    switch stop {
                    case .grow:
                        // One line does not fit: keep everything and retry with a larger buffer.
                        carry.append(contentsOf: UnsafeRawBufferPointer(start: base, count: filled))
                        carryOffset = shift
                        growCapacity = min(capacity * 2, maxLineBytes + readChunk + 1)
                        initialized = 0
                        return
                    case .damaged:
                        skipping = false  // a partial line before damage is not a line
                        finished = true
                        initialized = lineStart
                        return
                    case .endOfInput:
                        if skipping {
                            oversized.append(
                                OversizedLine(lineNumber: skipLineNumber, offset: skipOffset,
                                              length: skipLength + (filled - lineStart)))
                            skipping = false
                            lineStart = filled
                        } else if filled > lineStart {  // a last line without a line feed
                            if filled - lineStart > maxLineBytes {
                                oversized.append(
                                    OversizedLine(lineNumber: nextLineNumber, offset: lineStart + shift,
                                                  length: filled - lineStart))
                                nextLineNumber += 1
                                lineStart = filled
                            } else if starts.count < maxLines
                                && (starts.first.map { filled - $0 <= maxBytes } ?? true)
                            {
                                starts.append(lineStart)
                                ends.append(filled)
                                numbers.append(nextLineNumber)
                                offsets.append(lineStart + shift)
                                nextLineNumber += 1
                                lineStart = filled
                            }
                        }
                        if lineStart == filled {
                            finished = true
                            initialized = filled
                            return
                        }
                        fallthrough  // the last line goes into the next batch
                    case .full:
                        carry.append(contentsOf: UnsafeRawBufferPointer(start: base + lineStart, count: filled - lineStart))
                        carryOffset = lineStart + shift
                        growCapacity = 0
                        initialized = lineStart
                    }
                }
            } catch {
                finished = true
                throw error
            }
            if stop == .grow { continue }
            if let foundDamage { damage = foundDamage }
            if starts.isEmpty && oversized.isEmpty && foundDamage == nil { continue }
            return RawLineBatch(
                path: source.path, bytes: bytes, lineStarts: starts, lineEnds: ends, lineNumbers: numbers,
                lineOffsets: offsets, oversizedLines: oversized, damage: foundDamage)
        }
        return nil
    }
}
