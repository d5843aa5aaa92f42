internal import CZlib

/// The one place that touches zlib and its pointers: a scoped handle around a heap-allocated
/// `z_stream` (zlib keeps a pointer back to it, so it must never move). ``GzipCompressor`` and
/// ``GzipDecompressor`` own one each and free it in `deinit`.
struct _ZlibHandle {
    let stream: UnsafeMutablePointer<z_stream>

    static let streamEnd = Int(Z_STREAM_END)
    static let ok = Int(Z_OK)
    static let bufError = Int(Z_BUF_ERROR)

    private static func allocateStream() -> UnsafeMutablePointer<z_stream> {
        let s = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        s.initialize(to: z_stream())  // zalloc, zfree, opaque = nil: zlib's defaults
        return s
    }

    /// An inflater for gzip or zlib streams (windowBits 15 + 32: automatic header detection).
    static func makeInflater() throws(CompressionError) -> _ZlibHandle {
        let s = allocateStream()
        let r = shim_inflateInit2(s, 15 + 32)
        guard r == Z_OK else {
            s.deallocate()
            throw CompressionError("zlib: inflateInit2 failed (\(r))")
        }
        return _ZlibHandle(stream: s)
    }

    /// A deflater writing a gzip member (windowBits 15 + 16).
    static func makeDeflater(level: Int) throws(CompressionError) -> _ZlibHandle {
        let s = allocateStream()
        let r = shim_deflateInit2(s, Int32(clamping: level), 15 + 16)
        guard r == Z_OK else {
            s.deallocate()
            throw CompressionError("zlib: deflateInit2 failed for level \(level) (\(r))")
        }
        return _ZlibHandle(stream: s)
    }

    func endInflater() {
        inflateEnd(stream)
        stream.deallocate()
    }

    func endDeflater() {
        deflateEnd(stream)
        stream.deallocate()
    }

    func resetInflater() { inflateReset(stream) }
    func resetDeflater() { deflateReset(stream) }

    /// The library's message for the last error, if any.
    var message: String {
        guard let m = stream.pointee.msg else { return "" }
        return String(cString: m)
    }

    /// Points the stream at `input[inPos...]` and `output[outPos...]` (each capped at 4 GiB),
    /// runs `step`, and advances the positions by what zlib consumed and produced.
    private func run(
        _ input: UnsafeRawBufferPointer, _ inPos: inout Int,
        _ output: UnsafeMutableRawBufferPointer, _ outPos: inout Int,
        _ step: (UnsafeMutablePointer<z_stream>) -> Int32
    ) -> Int {
        let inCount = min(input.count - inPos, Int(UInt32.max))
        let outCount = min(output.count - outPos, Int(UInt32.max))
        let s = stream
        if let base = input.baseAddress, inCount > 0 {
            s.pointee.next_in = UnsafeMutablePointer(mutating: (base + inPos).assumingMemoryBound(to: Bytef.self))
        } else {
            s.pointee.next_in = nil
        }
        s.pointee.avail_in = uInt(inCount)
        s.pointee.next_out = output.baseAddress.map { ($0 + outPos).assumingMemoryBound(to: Bytef.self) }
        s.pointee.avail_out = uInt(outCount)
        let r = step(s)
        inPos += inCount - Int(s.pointee.avail_in)
        outPos += outCount - Int(s.pointee.avail_out)
        s.pointee.next_in = nil
        s.pointee.next_out = nil
        return Int(r)
    }

    func inflateStep(
        _ input: UnsafeRawBufferPointer, _ inPos: inout Int,
        _ output: UnsafeMutableRawBufferPointer, _ outPos: inout Int
    ) -> Int {
        run(input, &inPos, output, &outPos) { inflate($0, Z_NO_FLUSH) }
    }

    func deflateStep(
        _ input: UnsafeRawBufferPointer, _ inPos: inout Int,
        _ output: UnsafeMutableRawBufferPointer, _ outPos: inout Int, finish: Bool
    ) -> Int {
        run(input, &inPos, output, &outPos) { deflate($0, finish ? Z_FINISH : Z_NO_FLUSH) }
    }
}

/// A streaming gzip compressor (zlib deflate). Each ``endMember(into:)`` ends one gzip member; the
/// next input starts another, so the output may hold several members, which every gzip reader
/// accepts as one stream.
///
/// One per writer, used from one thread at a time (not `Sendable`).
public final class GzipCompressor {
    private let handle: _ZlibHandle
    private let scratch: UnsafeMutableRawBufferPointer
    private static let scratchSize = 1 << 17

    /// - Parameter level: 0 (store) … 9 (smallest); default 6, as the gzip tool.
    public init(level: Int = 6) throws {
        handle = try _ZlibHandle.makeDeflater(level: level)
        scratch = .allocate(byteCount: Self.scratchSize, alignment: 16)
    }

    deinit {
        handle.endDeflater()
        scratch.deallocate()
    }

    /// Compresses `bytes` into the current member, appending any output to `out`.
    public func compress(_ bytes: UnsafeRawBufferPointer, into out: inout [UInt8]) throws {
        var inPos = 0
        while inPos < bytes.count {
            var outPos = 0
            let r = handle.deflateStep(bytes, &inPos, scratch, &outPos, finish: false)
            if r != _ZlibHandle.ok && r != _ZlibHandle.bufError {
                throw CompressionError("zlib deflate failed (\(r)) \(handle.message)")
            }
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: scratch[0..<outPos]))
        }
    }

    /// Compresses `bytes`; see ``compress(_:into:)``.
    public func compress(_ bytes: [UInt8], into out: inout [UInt8]) throws {
        try bytes.withUnsafeBytes { try compress($0, into: &out) }
    }

    /// Ends the current gzip member (trailer with CRC-32 and size) and appends the output.
    public func endMember(into out: inout [UInt8]) throws {
        let empty = UnsafeRawBufferPointer(start: nil, count: 0)
        while true {
            var inPos = 0
            var outPos = 0
            let r = handle.deflateStep(empty, &inPos, scratch, &outPos, finish: true)
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: scratch[0..<outPos]))
            if r == _ZlibHandle.streamEnd { break }
            if r != _ZlibHandle.ok && r != _ZlibHandle.bufError {
                throw CompressionError("zlib deflate failed (\(r)) \(handle.message)")
            }
        }
        handle.resetDeflater()
    }

    /// Compresses `bytes` into one complete gzip member.
    public static func compress(_ bytes: [UInt8], level: Int = 6) throws -> [UInt8] {
        let c = try GzipCompressor(level: level)
        var out: [UInt8] = []
        try c.compress(bytes, into: &out)
        try c.endMember(into: &out)
        return out
    }
}

/// A streaming gzip decompressor (zlib inflate, windowBits 15 + 32) that reads files made of
/// several concatenated gzip members, tolerates zero padding after a complete member, reports
/// corruption (`Z_DATA_ERROR`, bad checksums) with the compressed offset, and reports truncation
/// when ``finish()`` is called inside a member. An empty input is a valid, empty stream.
///
/// One per stream, used from one thread at a time (not `Sendable`).
public final class GzipDecompressor {
    private let handle: _ZlibHandle
    private var inMember = false
    /// Complete members read so far.
    public private(set) var membersCompleted = 0
    /// Compressed bytes consumed so far (padding included).
    public private(set) var compressedBytesConsumed: Int = 0
    /// Uncompressed bytes produced so far.
    public private(set) var bytesProduced: Int = 0

    public init() throws {
        handle = try _ZlibHandle.makeInflater()
    }

    deinit { handle.endInflater() }

    /// Decompresses from `input[inputPosition...]` into `output[outputPosition...]`, advancing
    /// both positions. Returns when `output` is full or no progress is possible without more
    /// input. At end of input, call it with an empty `input` until it makes no more progress,
    /// then call ``finish()``.
    ///
    /// - Throws: ``DecompressionError`` of kind `corrupt` with the compressed offset.
    public func decompress(
        _ input: UnsafeRawBufferPointer, inputPosition: inout Int,
        into output: UnsafeMutableRawBufferPointer, outputPosition: inout Int
    ) throws(DecompressionError) {
        while outputPosition < output.count {
            if !inMember {
                guard inputPosition < input.count else { return }
                if membersCompleted > 0 {
                    // Zero bytes after a complete member are padding (tape blocks, preallocation).
                    if input[inputPosition] == 0 {
                        inputPosition += 1
                        compressedBytesConsumed += 1
                        continue
                    }
                    handle.resetInflater()
                }
                inMember = true
            }
            let inBefore = inputPosition
            let outBefore = outputPosition
            let r = handle.inflateStep(input, &inputPosition, output, &outputPosition)
            compressedBytesConsumed += inputPosition - inBefore
            bytesProduced += outputPosition - outBefore
            switch r {
            case _ZlibHandle.streamEnd:
                inMember = false
                membersCompleted += 1
            case _ZlibHandle.ok, _ZlibHandle.bufError:
                if inputPosition == inBefore && outputPosition == outBefore { return }
            default:
                let detail = handle.message
                throw DecompressionError(
                    kind: .corrupt, format: .gzip, compressedOffset: compressedBytesConsumed,
                    detail: detail.isEmpty ? "zlib error \(r)" : detail)
            }
        }
    }

    /// Declares the end of input.
    /// - Throws: ``DecompressionError`` of kind `truncated` if the input ended inside a member.
    public func finish() throws(DecompressionError) {
        if inMember {
            throw DecompressionError(kind: .truncated, format: .gzip, compressedOffset: compressedBytesConsumed)
        }
    }

    /// Forgets the current stream so the decompressor can read another one.
    public func reset() {
        handle.resetInflater()
        inMember = false
        membersCompleted = 0
        compressedBytesConsumed = 0
        bytesProduced = 0
    }

    /// Decompresses a complete gzip stream (one or more members) held in memory.
    public static func decompress(_ bytes: [UInt8]) throws -> [UInt8] {
        let d = try GzipDecompressor()
        return try d._decompressAll(bytes)
    }
}

extension GzipDecompressor: _StreamDecoder {}
