import Glibc

/// A file read as a stream of uncompressed bytes: plain, gzip or zstd, chosen by extension
/// (`.gz`, `.gzip`, `.zst`, `.zstd`) and otherwise by the magic bytes at the start of the file
/// (`1f 8b` gzip, `28 b5 2f fd` zstd). The file is read with read(2) in chunks (1 MiB by
/// default) and decoded straight into the caller's buffer.
///
/// Damage (a truncated or corrupt compressed stream) is thrown by ``read(into:)`` as an
/// ``InputDamage`` value, and only after every byte decoded before it has been delivered; I/O
/// failures are thrown as ``FileError``. A 0-byte file of any format is empty input, not damage.
///
/// One per file, used from one thread at a time (not `Sendable`).
public final class ByteSource {
    /// The file being read.
    public let path: String
    /// How the file is compressed.
    public let format: CompressionFormat
    /// The file's size in bytes on disk, from fstat(2) at open.
    public let fileSize: Int
    /// Compressed (on-disk) bytes consumed so far; for progress and damage reports.
    public private(set) var compressedOffset: Int = 0
    /// Uncompressed bytes delivered so far.
    public private(set) var uncompressedOffset: Int = 0

    private var fd: _FileDescriptor?
    private let decoder: (any _StreamDecoder)?
    private let input: UnsafeMutableRawBufferPointer
    private var inputStart = 0
    private var inputEnd = 0
    private var inputAtEOF = false
    private var finished = false
    private var damage: InputDamage?

    /// Opens `path`.
    /// - Parameters:
    ///   - format: the compression; `nil` picks it from the extension, then from magic bytes.
    ///   - chunkSize: how many bytes each read(2) asks for.
    /// - Throws: ``FileError`` naming the file when it cannot be opened (missing, no permission,
    ///   a directory) or its first bytes cannot be read.
    public init(path: String, format: CompressionFormat? = nil, chunkSize: Int = 1 << 20) throws {
        self.path = path
        let fd = try _FileDescriptor.open(path, flags: O_RDONLY)
        let status: (size: Int, isDirectory: Bool)
        do {
            status = try fd.status()
            if status.isDirectory { throw FileError(path: path, operation: "read", code: EISDIR) }
        } catch {
            fd.close()
            throw error
        }
        fd.adviseSequential()
        self.fd = fd
        fileSize = status.size
        input = .allocate(byteCount: max(chunkSize, 4096), alignment: 64)
        var chosen = format ?? CompressionFormat.fromExtension(of: path)
        if chosen == nil {
            // Sniff: the first chunk is kept and served first (plain) or decoded first.
            do {
                inputEnd = try fd.readFully(into: input.baseAddress!, count: min(input.count, 1 << 16))
            } catch {
                fd.close()
                input.deallocate()
                throw error
            }
            if inputEnd == 0 { inputAtEOF = true }
            chosen = CompressionFormat.sniff(UnsafeRawBufferPointer(rebasing: input[0..<inputEnd]))
        }
        self.format = chosen!
        do {
            switch self.format {
            case .plain: decoder = nil
            case .gzip: decoder = try GzipDecompressor()
            case .zstd: decoder = try ZstdDecompressor()
            }
        } catch {
            fd.close()
            input.deallocate()
            throw error
        }
    }

    deinit {
        close()
        input.deallocate()
    }

    /// Closes the file early; later reads return 0. Safe to call more than once.
    public func close() {
        fd?.close()
        fd = nil
        finished = true
    }

    /// Fills `buffer` with the next uncompressed bytes and returns how many were written. It
    /// returns fewer than `buffer.count` only at the end of the input (or just before damage),
    /// and 0 exactly at the end.
    ///
    /// - Throws: ``InputDamage`` when the stream is damaged, after the bytes before the damage
    ///   were returned by earlier calls (every later call throws it again); ``FileError`` for
    ///   I/O failures.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        if let damage { throw damage }
        if finished || buffer.count == 0 { return 0 }
        let n: Int
        if let decoder {
            n = try readDecoded(into: buffer, decoder)
        } else {
            n = try readPlain(into: buffer)
        }
        uncompressedOffset += n
        if n == 0, let damage { throw damage }
        return n
    }

    private func readPlain(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        var outPos = 0
        if inputStart < inputEnd {  // bytes kept from sniffing
            let k = min(inputEnd - inputStart, buffer.count)
            buffer.baseAddress!.copyMemory(from: input.baseAddress! + inputStart, byteCount: k)
            inputStart += k
            outPos = k
        }
        if outPos < buffer.count && !inputAtEOF, let fd {
            let k = try fd.readFully(into: buffer.baseAddress! + outPos, count: buffer.count - outPos)
            if k < buffer.count - outPos { inputAtEOF = true }
            outPos += k
        }
        compressedOffset += outPos
        if outPos == 0 { finished = true }
        return outPos
    }

    private func readDecoded(into buffer: UnsafeMutableRawBufferPointer, _ decoder: any _StreamDecoder) throws -> Int {
        var outPos = 0
        while outPos < buffer.count {
            if inputStart == inputEnd && !inputAtEOF, let fd {
                inputStart = 0
                inputEnd = try fd.read(into: input.baseAddress!, count: input.count)
                if inputEnd == 0 { inputAtEOF = true }
            }
            let outBefore = outPos
            let inBefore = inputStart
            do {
                try decoder.decompress(
                    UnsafeRawBufferPointer(rebasing: input[0..<inputEnd]), inputPosition: &inputStart,
                    into: buffer, outputPosition: &outPos)
                compressedOffset = decoder.compressedBytesConsumed
                if inputStart == inputEnd && inputAtEOF && outPos == outBefore && inputStart == inBefore {
                    try decoder.finish()
                    finished = true
                    break
                }
            } catch {
                compressedOffset = decoder.compressedBytesConsumed
                damage = InputDamage(path: path, error)
                finished = true
                break
            }
        }
        return outPos
    }

    /// Reads a whole file (plain, .gz or .zst, as ``ByteSource`` picks) for inputs with one
    /// document per file, such as the `text` input type.
    ///
    /// - Parameter maxBytes: the largest uncompressed size accepted; reading stops as soon as
    ///   the file is known to be larger, and the result says ``WholeFile/isTooLarge``.
    /// - Throws: ``FileError`` when the file cannot be opened or read. Damage is not thrown: it
    ///   is returned in ``WholeFile/damage``.
    public static func readWholeFile(path: String, maxBytes: Int) throws -> WholeFile {
        let source = try ByteSource(path: path)
        var bytes: [UInt8] = []
        var capacity = source.format == .plain ? min(source.fileSize, maxBytes) + 1 : 1 << 16
        while true {
            if bytes.count == capacity { capacity = min(capacity * 2, maxBytes + 1) }
            let room = capacity - bytes.count
            var n = 0
            do {
                // Read straight into the array's spare capacity (grown geometrically).
                try bytes.withUnsafeMutableBufferPointerAppending(room) { dst in
                    n = try source.read(into: UnsafeMutableRawBufferPointer(dst))
                    return n
                }
            } catch let damage as InputDamage {
                return WholeFile(path: path, bytes: [], isTooLarge: false, damage: damage)
            }
            if bytes.count > maxBytes {
                return WholeFile(path: path, bytes: [], isTooLarge: true, damage: nil)
            }
            if n == 0 { break }
        }
        return WholeFile(path: path, bytes: bytes, isTooLarge: false, damage: nil)
    }
}

/// A whole file read by ``ByteSource/readWholeFile(path:maxBytes:)``.
public struct WholeFile: Sendable {
    /// The file.
    public var path: String
    /// The uncompressed contents; empty when ``isTooLarge`` or ``damage`` is set.
    public var bytes: [UInt8]
    /// The file is larger than the limit (count it as a `too_large` drop).
    public var isTooLarge: Bool
    /// The file is damaged (count it as a `truncated_record` drop).
    public var damage: InputDamage?
}

extension Array where Element == UInt8 {
    /// Appends up to `count` bytes written by `body` straight into the array's storage; `body`
    /// returns how many it wrote.
    fileprivate mutating func withUnsafeMutableBufferPointerAppending(
        _ count: Int, _ body: (UnsafeMutableBufferPointer<UInt8>) throws -> Int
    ) rethrows {
        let old = self.count
        append(contentsOf: repeatElement(0, count: count))
        var written = 0
        defer { removeLast(count - written) }
        written = try withUnsafeMutableBufferPointer { all in
            try body(UnsafeMutableBufferPointer(rebasing: all[old..<old + count]))
        }
    }
}
