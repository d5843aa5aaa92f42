import Foundation
import SluiceIO
import Testing

@Suite struct ZstdTests {
    typealias F = ByteStreamFixture

    @Test func streamingRoundTripIsReadableByTheZstdTool() throws {
        try F.withTemporaryDirectory { dir in
            let text = F.joined(F.lines(30_000, width: 120))
            let c = try ZstdCompressor(level: 3)
            var out: [UInt8] = []
            var i = 0
            while i < text.count {  // uneven pieces
                let n = min(7919, text.count - i)
                try text.withUnsafeBytes { try c.compress(UnsafeRawBufferPointer(rebasing: $0[i..<i + n]), into: &out) }
                i += n
            }
            try c.endFrame(into: &out)
            #expect(out.count < text.count * 3 / 4)
            #expect(c.compressedBytesOut == out.count)
            #expect(try ZstdDecompressor.decompress(out) == text)
            let path = dir + "/rt.zst"
            try F.write(out, to: path)
            #expect(try F.run("zstd", ["-t", "-q", path]).status == 0)
            #expect(try F.run("zstd", ["-dc", path]).output == text)
            // The frame carries a checksum.
            let info = String(decoding: try F.run("zstd", ["-lv", path]).output, as: UTF8.self)
            #expect(info.contains("XXH64"))
        }
    }

    @Test func multiFrameOutputReadsAsOneStream() throws {
        try F.withTemporaryDirectory { dir in
            let lines = F.lines(20_000, width: 150)
            let c = try ZstdCompressor(level: 1)
            var out: [UInt8] = []
            for (k, line) in lines.enumerated() {
                try c.compress(line + [10], into: &out)
                if c.bytesInCurrentFrame >= 500_000 || k == lines.count - 1 { try c.endFrame(into: &out) }
            }
            let path = dir + "/multi.jsonl.zst"
            try F.write(out, to: path)
            let info = String(decoding: try F.run("zstd", ["-lv", path]).output, as: UTF8.self)
            #expect(info.contains("Frames: 7"))
            #expect(try F.run("zstd", ["-dc", path]).output == F.joined(lines))
            let r = try F.readAll(path)
            #expect(r.lines == lines && r.damage == nil)
        }
    }

    @Test func workerThreadsProduceTheSameContent() throws {
        let text = F.joined(F.lines(50_000, width: 100))
        let c = try ZstdCompressor(level: 3, workers: 2)
        var out: [UInt8] = []
        try c.compress(text, into: &out)
        try c.endFrame(into: &out)
        try c.compress(text, into: &out)
        try c.endFrame(into: &out)
        #expect(try ZstdDecompressor.decompress(out) == text + text)
    }

    @Test func concatenatedToolFramesAtMixedLevelsAreReadInFull() throws {
        try F.withTemporaryDirectory { dir in
            let a = F.lines(3000, seed: 1)
            let b = F.lines(5000, seed: 2)
            try F.write(F.joined(a), to: dir + "/a.jsonl")
            try F.write(F.joined(b), to: dir + "/b.jsonl")
            try F.run("zstd", ["-q", "-1", dir + "/a.jsonl", "-o", dir + "/a.zst"])
            try F.run("zstd", ["-q", "-19", dir + "/b.jsonl", "-o", dir + "/b.zst"])
            let joined = try F.read(dir + "/a.zst") + F.read(dir + "/b.zst") + F.read(dir + "/a.zst")
            try F.write(joined, to: dir + "/cat.jsonl.zst")
            let r = try F.readAll(dir + "/cat.jsonl.zst")
            #expect(r.lines == a + b + a)
            #expect(r.numbers == Array(1...11_000))
            #expect(r.damage == nil)
        }
    }

    @Test func truncatedFileReturnsCompleteLinesThenReportsDamage() throws {
        try F.withTemporaryDirectory { dir in
            let lines = F.lines(40_000, width: 200)
            let compressed = try ZstdCompressor.compress(F.joined(lines), level: 3)
            let cut = compressed.count * 6 / 10
            let path = dir + "/cut.jsonl.zst"
            try F.write(Array(compressed.prefix(cut)), to: path)
            let r = try F.readAll(path)
            let damage = try #require(r.damage)
            #expect(damage.kind == .truncated)
            #expect(damage.compressedOffset == cut)
            #expect(damage.path == path)
            #expect(damage.description == "\(path): truncated zstd stream at compressed byte \(cut)")
            // Every line returned is whole and correct; a good share of the file came through.
            #expect(r.lines.count > 10_000 && r.lines.count < 40_000)
            #expect(r.lines == Array(lines.prefix(r.lines.count)))
        }
    }

    @Test func truncationInsideTheFrameHeaderIsDamage() throws {
        try F.withTemporaryDirectory { dir in
            let compressed = try ZstdCompressor.compress(Array("hello\n".utf8))
            let path = dir + "/tiny.zst"
            try F.write(Array(compressed.prefix(3)), to: path)
            let r = try F.readAll(path)
            #expect(r.lines.isEmpty)
            #expect(r.damage?.kind == .truncated)
            #expect(r.batches == 1)  // one batch, with no lines, carries the damage
        }
    }

    @Test func corruptByteInTheMiddleIsReportedWithItsOffset() throws {
        try F.withTemporaryDirectory { dir in
            let lines = F.lines(40_000, width: 200)
            let c = try ZstdCompressor(level: 3)
            var out: [UInt8] = []
            for chunk in stride(from: 0, to: lines.count, by: 4000) {  // 10 frames
                for l in lines[chunk..<min(chunk + 4000, lines.count)] { try c.compress(l + [10], into: &out) }
                try c.endFrame(into: &out)
            }
            let middle = out.count / 2
            out[middle] ^= 0x5A
            out[middle + 1] ^= 0xA5
            let path = dir + "/bad.jsonl.zst"
            try F.write(out, to: path)
            let r = try F.readAll(path)
            let damage = try #require(r.damage)
            #expect(damage.kind == .corrupt)
            #expect(damage.description.hasPrefix("\(path): corrupt zstd data"))
            // Reported within one zstd block (≤ 128 KiB) of the bad byte.
            #expect(abs(damage.compressedOffset - middle) <= 128 * 1024 + 64)
            // Frames before the damaged one came through intact.
            #expect(r.lines.count >= 16_000 && r.lines.count < 40_000)
            #expect(Array(r.lines.prefix(16_000)) == Array(lines.prefix(16_000)))
        }
    }

    @Test func emptyInputsAreEmptyNotDamaged() throws {
        try F.withTemporaryDirectory { dir in
            // A 0-byte .zst is empty input (the zstd tool calls it an error, but a crawler that
            // created the file and wrote nothing has lost nothing).
            try F.write([], to: dir + "/zero.jsonl.zst")
            // A valid frame holding nothing.
            let c = try ZstdCompressor()
            var frame: [UInt8] = []
            try c.endFrame(into: &frame)
            #expect(!frame.isEmpty)
            try F.write(frame, to: dir + "/frame.jsonl.zst")
            // The tool's empty frame.
            try F.write([], to: dir + "/e")
            try F.run("zstd", ["-q", dir + "/e", "-o", dir + "/tool.jsonl.zst"])
            for name in ["zero.jsonl.zst", "frame.jsonl.zst", "tool.jsonl.zst"] {
                let r = try F.readAll(dir + "/" + name)
                #expect(r.batches == 0 && r.damage == nil, "\(name)")
            }
            #expect(try ZstdDecompressor.decompress([]) == [])
        }
    }

    @Test func decompressorReportsTruncationOnlyAtFinish() throws {
        let compressed = try ZstdCompressor.compress(Array(repeating: 7, count: 100_000))
        let d = try ZstdDecompressor()
        var out = [UInt8](repeating: 0, count: 200_000)
        var inPos = 0
        var outPos = 0
        try compressed.withUnsafeBytes { input in
            try out.withUnsafeMutableBytes { output in
                try d.decompress(
                    UnsafeRawBufferPointer(rebasing: input[0..<compressed.count - 2]), inputPosition: &inPos,
                    into: output, outputPosition: &outPos)
            }
        }
        #expect(!d.isAtFrameBoundary)
        #expect(throws: DecompressionError(kind: .truncated, format: .zstd, compressedOffset: compressed.count - 2)) {
            try d.finish()
        }
        d.reset()
        #expect(try d._testDecompress(compressed).count == 100_000)
    }
}

extension ZstdDecompressor {
    /// Whole-buffer decompression through the streaming API, for tests.
    func _testDecompress(_ bytes: [UInt8]) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 1 << 20)
        var inPos = 0
        var outPos = 0
        try bytes.withUnsafeBytes { input in
            try out.withUnsafeMutableBytes { output in
                try decompress(input, inputPosition: &inPos, into: output, outputPosition: &outPos)
            }
        }
        try finish()
        return Array(out.prefix(outPos))
    }
}
