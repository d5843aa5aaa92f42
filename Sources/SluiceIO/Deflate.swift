internal import CZlib
internal import CZstd

// Member-by-member decoders for readers that must know where each gzip member or zstd frame
// starts and ends (WARC files keep one record per member, and a reader resynchronises at the next
// member after damage), and a one-shot inflater for HTTP `Content-Encoding` bodies (gzip, zlib or
// raw deflate). ``GzipDecompressor`` and ``ZstdDecompressor`` stay the choice for plain streams.

/// The wrapper around a deflate stream.
public enum InflateWrapper: Sendable, Hashable {
    /// A gzip member (RFC 1952).
    case gzip
    /// A zlib stream (RFC 1950), what HTTP `Content-Encoding: deflate` should be.
    case zlib
    /// Raw deflate (RFC 1951), what many servers send as `deflate` instead.
    case raw
    /// gzip or zlib, told apart by the header.
    case gzipOrZlib

    var windowBits: Int32 {
        switch self {
        case .gzip: 15 + 16
        case .zlib: 15
        case .raw: -15
        case .gzipOrZlib: 15 + 32
        }
    }
}

extension _ZlibHandle {
    static func makeInflater(windowBits: Int32) throws(CompressionError) -> _ZlibHandle {
        let s = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        s.initialize(to: z_stream())
        let r = shim_inflateInit2(s, windowBits)
        guard r == Z_OK else {
            s.deallocate()
            throw CompressionError("zlib: inflateInit2 failed (\(r))")
        }
        return _ZlibHandle(stream: s)
    }
}

/// Decodes exactly one deflate stream (one gzip member, one zlib stream or raw deflate) and stops
/// at its end, so the caller knows where the next member starts. ``reset()`` readies it for the
/// next one.
///
/// One per stream, used from one thread at a time (not `Sendable`).
public final class InflateStream {
    private let handle: _ZlibHandle
    public let wrapper: InflateWrapper
    /// True once the current stream has ended (its trailer read and checked).
    public private(set) var isFinished = false
    /// Compressed bytes consumed by the current stream.
    public private(set) var compressedBytesConsumed = 0

    public init(wrapper: InflateWrapper) throws {
        self.wrapper = wrapper
        handle = try _ZlibHandle.makeInflater(windowBits: wrapper.windowBits)
    }

    deinit { handle.endInflater() }

    /// Forgets the current stream; the next call starts a new one.
    public func reset() {
        handle.resetInflater()
        isFinished = false
        compressedBytesConsumed = 0
    }

    /// Decodes from `input[inputPosition...]` into `output[outputPosition...]`, advancing both,
    /// and returns true when the stream ended (input after its end is left unconsumed). Returns
    /// false when `output` is full or more input is needed.
    ///
    /// - Throws: ``DecompressionError`` of kind `corrupt` (bad header, bad data, bad checksum).
    public func inflate(
        _ input: UnsafeRawBufferPointer, inputPosition: inout Int,
        into output: UnsafeMutableRawBufferPointer, outputPosition: inout Int
    ) throws(DecompressionError) -> Bool {
        if isFinished { return true }
        while true {
            let inBefore = inputPosition
            let outBefore = outputPosition
            let r = handle.inflateStep(input, &inputPosition, output, &outputPosition)
            compressedBytesConsumed += inputPosition - inBefore
            switch r {
            case _ZlibHandle.streamEnd:
                isFinished = true
                return true
            case _ZlibHandle.ok, _ZlibHandle.bufError:
                if inputPosition == inBefore && outputPosition == outBefore { return false }
                if outputPosition == output.count || inputPosition == input.count { return false }
            default:
                let detail = handle.message
                throw DecompressionError(
                    kind: .corrupt, format: .gzip, compressedOffset: compressedBytesConsumed,
                    detail: detail.isEmpty ? "zlib error \(r)" : detail)
            }
        }
    }

    /// The result of ``inflateAll(_:wrapper:maxOutputBytes:)``.
    public struct Result: Sendable {
        /// The decoded bytes (up to the limit, or up to the damage).
        public var bytes: [UInt8]
        /// The stream ended cleanly.
        public var isComplete: Bool
        /// Decoding stopped because the output passed `maxOutputBytes`.
        public var isTooLarge: Bool
        /// What was wrong when the stream is damaged.
        public var error: DecompressionError?
    }

    /// Decodes one whole in-memory stream, stopping once more than `maxOutputBytes` come out (a
    /// guard against decompression bombs). Never throws for bad data: the result says what
    /// happened.
    public static func inflateAll(
        _ input: UnsafeRawBufferPointer, wrapper: InflateWrapper, maxOutputBytes: Int
    ) throws -> Result {
        let stream = try InflateStream(wrapper: wrapper)
        var out: [UInt8] = []
        out.reserveCapacity(min(maxOutputBytes, max(4096, input.count * 4)))
        let chunk = 1 << 16
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 16)
        defer { scratch.deallocate() }
        var inPos = 0
        while true {
            var outPos = 0
            let ended: Bool
            do {
                ended = try stream.inflate(input, inputPosition: &inPos, into: scratch, outputPosition: &outPos)
            } catch {
                out.append(contentsOf: UnsafeRawBufferPointer(rebasing: scratch[0..<outPos]))
                return Result(bytes: out, isComplete: false, isTooLarge: false, error: error)
            }
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: scratch[0..<outPos]))
            if out.count > maxOutputBytes {
                return Result(bytes: [], isComplete: false, isTooLarge: true, error: nil)
            }
            if ended { return Result(bytes: out, isComplete: true, isTooLarge: false, error: nil) }
            if outPos == 0 && inPos >= input.count {
                return Result(
                    bytes: out, isComplete: false, isTooLarge: false,
                    error: DecompressionError(kind: .truncated, format: .gzip, compressedOffset: inPos))
            }
        }
    }
}

/// Decodes zstd frame by frame, reporting each frame's end, with an optional dictionary (the
/// `.warc.zst` convention puts one in a skippable frame at the start of the file).
///
/// One per stream, used from one thread at a time (not `Sendable`).
public final class ZstdFrameStream {
    private let handle: _ZstdHandle
    private var dictionary: [UInt8] = []

    public init() throws {
        handle = try _ZstdHandle.makeDecompressor()
    }

    deinit { handle.freeDecompressor() }

    /// Uses `bytes` (a zstd dictionary, or raw content) for every later frame.
    public func loadDictionary(_ bytes: [UInt8]) throws {
        dictionary = bytes
        let r = bytes.withUnsafeBytes { ZSTD_DCtx_loadDictionary(handle.context, $0.baseAddress, $0.count) }
        if _ZstdHandle.isError(r) {
            throw CompressionError("zstd: cannot load the dictionary: \(_ZstdHandle.errorName(r))")
        }
    }

    /// Forgets the current frame (after damage); the dictionary stays.
    public func reset() { handle.resetDecompressor() }

    /// Decodes from `input[inputPosition...]` into `output[outputPosition...]`, advancing both.
    /// Returns true when a frame (or a skippable frame) ended and all its output was delivered;
    /// false when `output` is full or more input is needed.
    ///
    /// - Throws: ``DecompressionError`` of kind `corrupt` with the library's words.
    public func decompress(
        _ input: UnsafeRawBufferPointer, inputPosition: inout Int,
        into output: UnsafeMutableRawBufferPointer, outputPosition: inout Int
    ) throws(DecompressionError) -> Bool {
        while true {
            let inBefore = inputPosition
            let outBefore = outputPosition
            let r = handle.decompressStream(input, inputPosition: &inputPosition, output, outputPosition: &outputPosition)
            if _ZstdHandle.isError(r) {
                throw DecompressionError(
                    kind: .corrupt, format: .zstd, compressedOffset: inputPosition, detail: _ZstdHandle.errorName(r))
            }
            if r == 0 { return true }
            if inputPosition == inBefore && outputPosition == outBefore { return false }
            if outputPosition == output.count || inputPosition == input.count { return false }
        }
    }

    /// Decompresses one complete in-memory zstd stream (for a compressed dictionary frame).
    public static func decompressAll(_ bytes: [UInt8], maxOutputBytes: Int) throws -> [UInt8] {
        let out = try ZstdDecompressor.decompress(bytes)
        if out.count > maxOutputBytes { throw CompressionError("zstd: dictionary larger than \(maxOutputBytes) bytes") }
        return out
    }
}
