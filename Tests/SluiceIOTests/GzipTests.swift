import Foundation
import SluiceIO
import Testing

@Suite struct GzipTests {
    typealias F = ByteStreamFixture

    @Test func roundTripIsReadableByTheGzipTool() throws {
        try F.withTemporaryDirectory { dir in
            let text = F.joined(F.lines(20_000))
            let c = try GzipCompressor(level: 6)
            var out: [UInt8] = []
            for start in stride(from: 0, to: text.count, by: 65_537) {
                try c.compress(Array(text[start..<min(start + 65_537, text.count)]), into: &out)
            }
            try c.endMember(into: &out)
            let path = dir + "/rt.gz"
            try F.write(out, to: path)
            #expect(try F.run("gzip", ["-t", path]).status == 0)
            #expect(try F.run("gzip", ["-dc", path]).output == text)
            #expect(try GzipDecompressor.decompress(out) == text)
        }
    }

    @Test func multiMemberFilesAreReadInFull() throws {
        try F.withTemporaryDirectory { dir in
            let a = F.lines(2000, seed: 1)
            let b = F.lines(3000, seed: 2)
            // Members written by the tool, appended as `gzip -c b >> a.gz` would.
            let toolA = try F.run("gzip", ["-c", "-1"], stdin: F.joined(a)).output
            let toolB = try F.run("gzip", ["-c", "-9"], stdin: F.joined(b)).output
            // And members written by our compressor, one per endMember.
            let c = try GzipCompressor()
            var ours: [UInt8] = []
            try c.compress(F.joined(a), into: &ours)
            try c.endMember(into: &ours)
            try c.compress(F.joined(b), into: &ours)
            try c.endMember(into: &ours)
            let path = dir + "/multi.jsonl.gz"
            try F.write(toolA + toolB + ours, to: path)
            #expect(try F.run("gzip", ["-dc", path]).output == F.joined(a + b + a + b))
            let r = try F.readAll(path)
            #expect(r.lines == a + b + a + b)
            #expect(r.damage == nil)
        }
    }

    @Test func zeroPaddingAfterTheLastMemberIsTolerated() throws {
        try F.withTemporaryDirectory { dir in
            let lines = F.lines(100)
            let path = dir + "/padded.jsonl.gz"
            try F.write(try GzipCompressor.compress(F.joined(lines)) + [UInt8](repeating: 0, count: 4096), to: path)
            let r = try F.readAll(path)
            #expect(r.lines == lines && r.damage == nil)
        }
    }

    @Test func truncatedFileReturnsCompleteLinesThenReportsDamage() throws {
        try F.withTemporaryDirectory { dir in
            let lines = F.lines(40_000, width: 200)
            let compressed = try GzipCompressor.compress(F.joined(lines))
            let cut = compressed.count / 2
            let path = dir + "/cut.jsonl.gz"
            try F.write(Array(compressed.prefix(cut)), to: path)
            let r = try F.readAll(path)
            let damage = try #require(r.damage)
            #expect(damage.kind == .truncated)
            #expect(damage.description == "\(path): truncated gzip stream at compressed byte \(cut)")
            #expect(r.lines.count > 5000 && r.lines.count < 40_000)
            #expect(r.lines == Array(lines.prefix(r.lines.count)))
        }
    }

    @Test func truncatedTrailerIsDamage() throws {
        try F.withTemporaryDirectory { dir in
            let compressed = try GzipCompressor.compress(F.joined(F.lines(10)))
            let path = dir + "/trailer.jsonl.gz"
            try F.write(Array(compressed.dropLast(3)), to: path)  // CRC and size incomplete
            let r = try F.readAll(path)
            #expect(r.damage?.kind == .truncated)
        }
    }

    @Test func corruptDataIsReportedWithItsOffset() throws {
        try F.withTemporaryDirectory { dir in
            let lines = F.lines(40_000, width: 200)
            var compressed = try GzipCompressor.compress(F.joined(lines))
            let middle = compressed.count / 2
            for k in 0..<16 { compressed[middle + k] ^= 0xFF }
            let path = dir + "/bad.jsonl.gz"
            try F.write(compressed, to: path)
            #expect(try F.run("gzip", ["-t", path]).status != 0)
            let r = try F.readAll(path)
            let damage = try #require(r.damage)
            #expect(damage.kind == .corrupt)
            #expect(damage.description.hasPrefix("\(path): corrupt gzip data ("))
            #expect(damage.compressedOffset >= middle && damage.compressedOffset <= compressed.count)
            // Deflate has no per-block check: flipped bytes may decode to wrong text that only the
            // member's CRC-32 reveals, at its end. Lines before the bad byte are intact.
            #expect(r.lines.count <= 40_000)
            #expect(Array(r.lines.prefix(10_000)) == Array(lines.prefix(10_000)))
        }
    }

    @Test func garbageWithGzExtensionIsCorruptAtTheStart() throws {
        try F.withTemporaryDirectory { dir in
            let path = dir + "/notgzip.jsonl.gz"
            try F.write(Array("{\"id\":1}\n".utf8), to: path)
            let r = try F.readAll(path)
            #expect(r.damage?.kind == .corrupt)
            #expect((r.damage?.compressedOffset ?? 99) <= 2)
            #expect(r.lines.isEmpty)
        }
    }

    @Test func emptyInputsAreEmptyNotDamaged() throws {
        try F.withTemporaryDirectory { dir in
            try F.write([], to: dir + "/zero.jsonl.gz")
            try F.write(try GzipCompressor.compress([]), to: dir + "/member.jsonl.gz")
            for name in ["zero.jsonl.gz", "member.jsonl.gz"] {
                let r = try F.readAll(dir + "/" + name)
                #expect(r.batches == 0 && r.damage == nil, "\(name)")
            }
        }
    }
}
