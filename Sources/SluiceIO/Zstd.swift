internal import CZstd

/// The one place that touches libzstd and its pointers: a scoped handle around a compression or
/// decompression context. ``ZstdCompressor`` and ``ZstdDecompressor`` own one each and free it
/// in `deinit`; nothing else in the module sees a zstd type.
struct _ZstdHandle {
    let context: OpaquePointer

    static func isError(_ code: Int) -> Bool { ZSTD_isError(code) != 0 }
    static func errorName(_ code: Int) -> String { String(cString: ZSTD_getErrorName(code)) }
    static var recommendedOutputSize: Int { ZSTD_CStreamOutSize() }
    static var recommendedDecompressedChunk: Int { ZSTD_DStreamOutSize() }

    // MARK: compression

    static func makeCompressor(level: Int, checksum: Bool, workers: Int) throws(CompressionError) -> _ZstdHandle {
        guard let cctx = ZSTD_createCCtx() else { throw CompressionError("zstd: cannot create a compression context") }
        let handle = _ZstdHandle(context: cctx)
        do {
            try handle.setParameter(ZSTD_c_compressionLevel, Int32(clamping: level), "compression level \(level)")
            try handle.setParameter(ZSTD_c_checksumFlag, checksum ? 1 : 0, "checksum flag")
            if workers > 0 {
                try handle.setParameter(ZSTD_c_nbWorkers, Int32(clamping: workers), "nbWorkers \(workers)")
            }
        } catch {
            handle.freeCompressor()
            throw error
        }
        return handle
    }

    private func setParameter(_ p: ZSTD_cParameter, _ value: Int32, _ what: String) throws(CompressionError) {
        let r = ZSTD_CCtx_setParameter(context, p, value)
        if Self.isError(r) { throw CompressionError("zstd: cannot set \(what): \(Self.errorName(r))") }
    }

    func freeCompressor() { ZSTD_freeCCtx(context) }

    /// One `ZSTD_compressStream2` call. Returns the library's result (bytes left to flush, or an
    /// error code).
    func compressStream(
        _ input: UnsafeRawBufferPointer, inputPosition: inout Int,
        _ output: UnsafeMutableRawBufferPointer, outputPosition: inout Int, end: Bool
    ) -> Int {
        var inBuf = ZSTD_inBuffer(src: input.baseAddress, size: input.count, pos: inputPosition)
        var outBuf = ZSTD_outBuffer(dst: output.baseAddress, size: output.count, pos: outputPosition)
        let r = ZSTD_compressStream2(context, &outBuf, &inBuf, end ? ZSTD_e_end : ZSTD_e_continue)
        inputPosition = inBuf.pos
        outputPosition = outBuf.pos
        return r
    }

    // MARK: decompression

    static func makeDecompressor() throws(CompressionError) -> _ZstdHandle {
        guard let dctx = ZSTD_createDCtx() else { throw CompressionError("zstd: cannot create a decompression context") }
        return _ZstdHandle(context: dctx)
    }

    func freeDecompressor() { ZSTD_freeDCtx(context) }

    func resetDecompressor() { ZSTD_DCtx_reset(context, ZSTD_reset_session_only) }

    /// One `ZSTD_decompressStream` call. Returns 0 at a frame's end, a positive hint inside a
    /// frame, or an error code.
    func decompressStream(
        _ input: UnsafeRawBufferPointer, inputPosition: inout Int,
        _ output: UnsafeMutableRawBufferPointer, outputPosition: inout Int
    ) -> Int {
        var inBuf = ZSTD_inBuffer(src: input.baseAddress, size: input.count, pos: inputPosition)
        var outBuf = ZSTD_outBuffer(dst: output.baseAddress, size: output.count, pos: outputPosition)
        let r = ZSTD_decompressStream(context, &outBuf, &inBuf)
        inputPosition = inBuf.pos
        outputPosition = outBuf.pos
        return r
    }
}

/// A streaming zstd compressor: level 3 by default, a content checksum in every frame, and
/// optional worker threads. Output may be several frames (call ``endFrame(into:)`` whenever a
/// frame should end, e.g. every few MB); all zstd tools read multi-frame files.
///
/// One per writer, used from one thread at a time (not `Sendable`).
public final class ZstdCompressor {
    private let handle: _ZstdHandle
    private let scratch: UnsafeMutableRawBufferPointer
    /// Uncompressed bytes given to the current frame; 0 right after ``endFrame(into:)``.
    public private(set) var bytesInCurrentFrame: Int = 0
    /// Compressed bytes produced so far.
    public private(set) var compressedBytesOut: Int = 0

    /// - Parameters:
    ///   - level: the zstd level (1…19, negative for the fast levels). Default 3.
    ///   - checksum: write an XXH64 content checksum at the end of every frame. Default on.
    ///   - workers: zstd worker threads (`ZSTD_c_nbWorkers`); 0 compresses on the caller's thread.
    /// - Throws: ``CompressionError`` when the library rejects a parameter (for instance
    ///   `workers > 0` with a libzstd built without multithreading).
    public init(level: Int = 3, checksum: Bool = true, workers: Int = 0) throws {
        handle = try _ZstdHandle.makeCompressor(level: level, checksum: checksum, workers: workers)
        scratch = .allocate(byteCount: _ZstdHandle.recommendedOutputSize, alignment: 16)
    }

    deinit {
        handle.freeCompressor()
        scratch.deallocate()
    }

    /// Compresses `bytes` into the current frame, appending any output to `out`. zstd buffers
    /// internally, so a call may append nothing.
    public func compress(_ bytes: UnsafeRawBufferPointer, into out: inout [UInt8]) throws {
        var inPos = 0
        // Loop on input consumption: with worker threads a call may consume part of the input.
        while inPos < bytes.count {
            var outPos = 0
            let r = handle.compressStream(bytes, inputPosition: &inPos, scratch, outputPosition: &outPos, end: false)
            if _ZstdHandle.isError(r) { throw CompressionError("zstd compression failed: \(_ZstdHandle.errorName(r))") }
            append(outPos, to: &out)
        }
        bytesInCurrentFrame += bytes.count
    }

    /// Compresses `bytes`; see ``compress(_:into:)``.
    public func compress(_ bytes: [UInt8], into out: inout [UInt8]) throws {
        try bytes.withUnsafeBytes { try compress($0, into: &out) }
    }

    /// Ends the current frame (flushing everything and writing its checksum) and appends the
    /// output to `out`. The next ``compress(_:into:)`` starts a new
    /// frame. Ending a frame that received no input writes a valid empty frame.
    public func endFrame(into out: inout [UInt8]) throws {
        let empty = UnsafeRawBufferPointer(start: nil, count: 0)
        while true {
            var inPos = 0
            var outPos = 0
            let r = handle.compressStream(empty, inputPosition: &inPos, scratch, outputPosition: &outPos, end: true)
            if _ZstdHandle.isError(r) { throw CompressionError("zstd compression failed: \(_ZstdHandle.errorName(r))") }
            append(outPos, to: &out)
            if r == 0 { break }
        }
        bytesInCurrentFrame = 0
    }

    private func append(_ count: Int, to out: inout [UInt8]) {
        guard count > 0 else { return }
        out.append(contentsOf: UnsafeRawBufferPointer(rebasing: scratch[0..<count]))
        compressedBytesOut += count
    }

    /// Compresses `bytes` into one complete frame.
    public static func compress(_ bytes: [UInt8], level: Int = 3) throws -> [UInt8] {
        let c = try ZstdCompressor(level: level)
        var out: [UInt8] = []
        try c.compress(bytes, into: &out)
        try c.endFrame(into: &out)
        return out
    }
}

/// A streaming zstd decompressor that reads any number of concatenated frames (skippable frames
/// included), reports corruption as soon as libzstd does, and reports truncation when
/// ``finish()`` is called inside a frame.
///
/// One per stream, used from one thread at a time (not `Sendable`).
public final class ZstdDecompressor {
    private let handle: _ZstdHandle
    /// The last result of `ZSTD_decompressStream`: 0 exactly when the input so far ends at a frame
    /// boundary (or no input was given).
    private var lastResult: Int = 0
    /// Compressed bytes consumed so far.
    public private(set) var compressedBytesConsumed: Int = 0
    /// Uncompressed bytes produced so far.
    public private(set) var bytesProduced: Int = 0

    public init() throws {
        handle = try _ZstdHandle.makeDecompressor()
    }

    deinit { handle.freeDecompressor() }

    /// True when the input consumed so far ends at a frame boundary and all output was delivered.
    public var isAtFrameBoundary: Bool { lastResult == 0 }

    /// Decompresses from `input[inputPosition...]` into `output[outputPosition...]`, advancing
    /// both positions. Returns when `output` is full, or when no further progress is possible
    /// without more input. At end of input, call it with an empty `input` until it makes no more
    /// progress (it may still hold buffered output), then call ``finish()``.
    ///
    /// - Throws: ``DecompressionError`` of kind `corrupt` with the compressed offset.
    public func decompress(
        _ input: UnsafeRawBufferPointer, inputPosition: inout Int,
        into output: UnsafeMutableRawBufferPointer, outputPosition: inout Int
    ) throws(DecompressionError) {
        while outputPosition < output.count {
            if inputPosition == input.count && lastResult == 0 { return }
            let inBefore = inputPosition
            let outBefore = outputPosition
            let r = handle.decompressStream(input, inputPosition: &inputPosition, output, outputPosition: &outputPosition)
            compressedBytesConsumed += inputPosition - inBefore
            bytesProduced += outputPosition - outBefore
            if _ZstdHandle.isError(r) {
                throw DecompressionError(
                    kind: .corrupt, format: .zstd, compressedOffset: compressedBytesConsumed,
                    detail: _ZstdHandle.errorName(r))
            }
            lastResult = r
            if inputPosition == inBefore && outputPosition == outBefore { return }
        }
    }

    /// Declares the end of input.
    /// - Throws: ``DecompressionError`` of kind `truncated` if the input ended inside a frame.
    public func finish() throws(DecompressionError) {
        if lastResult != 0 {
            throw DecompressionError(kind: .truncated, format: .zstd, compressedOffset: compressedBytesConsumed)
        }
    }

    /// Forgets the current stream so the decompressor can read another one.
    public func reset() {
        handle.resetDecompressor()
        lastResult = 0
        compressedBytesConsumed = 0
        bytesProduced = 0
    }

    /// Decompresses a complete stream (one or more frames) held in memory.
    public static func decompress(_ bytes: [UInt8]) throws -> [UInt8] {
        let d = try ZstdDecompressor()
        return try d._decompressAll(bytes)
    }
}

extension ZstdDecompressor: _StreamDecoder {}
