/// What ``ByteSource`` needs from a decompressor (zstd or gzip).
protocol _StreamDecoder: AnyObject {
    var compressedBytesConsumed: Int { get }
    func decompress(
        _ input: UnsafeRawBufferPointer, inputPosition: inout Int,
        into output: UnsafeMutableRawBufferPointer, outputPosition: inout Int
    ) throws(DecompressionError)
    func finish() throws(DecompressionError)
}

extension _StreamDecoder {
    /// Decompresses a whole in-memory stream, checking for truncation at its end.
    func _decompressAll(_ bytes: [UInt8]) throws -> [UInt8] {
        var out: [UInt8] = []
        let chunk = 1 << 18
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 16)
        defer { scratch.deallocate() }
        try bytes.withUnsafeBytes { input in
            var inPos = 0
            while true {
                var outPos = 0
                let inBefore = inPos
                try decompress(input, inputPosition: &inPos, into: scratch, outputPosition: &outPos)
                out.append(contentsOf: UnsafeRawBufferPointer(rebasing: scratch[0..<outPos]))
                if outPos == 0 && inPos == inBefore { break }
            }
        }
        try finish()
        return out
    }
}
