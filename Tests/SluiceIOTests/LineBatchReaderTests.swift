import Foundation
import SluiceIO
import Testing

/// Shared helpers for the byte-stream tests (zstd, gzip, line batches, atomic files, listing).
enum ByteStreamFixture {
    /// Runs `body` with a fresh temporary directory, removed afterwards.
    @discardableResult
    static func withTemporaryDirectory<R>(_ body: (String) throws -> R) throws -> R {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent(
            "sluice-io-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: url) }
        return try body(url.path)
    }

    /// Runs a tool (`zstd`, `gzip`, …) and returns its exit status and standard output.
    @discardableResult
    static func run(_ tool: String, _ arguments: [String], stdin: [UInt8]? = nil) throws -> (status: Int32, output: [UInt8]) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [tool] + arguments
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        let inPipe = Pipe()
        if stdin != nil { p.standardInput = inPipe }
        try p.run()
        if let stdin {
            // Feed stdin from another thread so a large input cannot deadlock against stdout.
            let writer = Thread {
                inPipe.fileHandleForWriting.write(Data(stdin))
                try? inPipe.fileHandleForWriting.close()
            }
            writer.start()
        }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, [UInt8](data))
    }

    static func write(_ bytes: [UInt8], to path: String) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    static func read(_ path: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// Deterministic JSONL-like lines of about `width` bytes.
    static func lines(_ count: Int, width: Int = 100, seed: Int = 0) -> [[UInt8]] {
        (0..<count).map { i in
            var s = Array("{\"id\":\"\(seed)-\(i)\",\"text\":\"".utf8)
            var x = UInt64(truncatingIfNeeded: i &* 2_654_435_761 &+ seed &+ 1)
            while s.count < width - 2 {
                x = x &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                s.append((x >> 40) % 7 == 0 ? UInt8(ascii: " ") : UInt8(ascii: "a") + UInt8((x >> 33) % 26))
            }
            s += Array("\"}".utf8)
            return s
        }
    }

    static func joined(_ lines: [[UInt8]], terminator: String = "\n") -> [UInt8] {
        var out: [UInt8] = []
        for l in lines {
            out += l
            out += Array(terminator.utf8)
        }
        return out
    }

    struct ReadResult {
        var lines: [[UInt8]] = []
        var numbers: [Int] = []
        var offsets: [Int] = []
        var oversized: [OversizedLine] = []
        var damage: InputDamage?
        var batches = 0
        var batchSizes: [Int] = []
    }

    static func readAll(
        _ path: String, maxLines: Int = 1000, maxBytes: Int = 4 << 20, maxLineBytes: Int = 32 << 20
    ) throws -> ReadResult {
        let reader = try LineBatchReader(path: path, maxLines: maxLines, maxBytes: maxBytes, maxLineBytes: maxLineBytes)
        var r = ReadResult()
        while let batch = try reader.next() {
            #expect(r.damage == nil, "no batch may follow the one reporting damage")
            #expect(batch.path == path)
            r.batches += 1
            r.batchSizes.append(batch.count)
            for i in 0..<batch.count {
                r.lines.append(Array(batch[line: i]))
                batch.withLine(i) { #expect($0.count == batch.lineEnds[i] - batch.lineStarts[i]) }
            }
            r.numbers += batch.lineNumbers
            r.offsets += batch.lineOffsets
            r.oversized += batch.oversizedLines
            if let d = batch.damage { r.damage = d }
        }
        #expect(try reader.next() == nil)
        #expect(reader.damage == r.damage)
        return r
    }
}

@Suite struct LineBatchReaderTests {
    typealias F = ByteStreamFixture

    @Test func crlfLineEndingsAreExcludedFromLines() throws {
        try F.withTemporaryDirectory { dir in
            let path = dir + "/crlf.jsonl"
            try F.write(Array("one\r\ntwo\r\n\r\nthree\rfour\n".utf8), to: path)
            let r = try F.readAll(path)
            #expect(r.lines.map { String(decoding: $0, as: UTF8.self) } == ["one", "two", "", "three\rfour"])
            #expect(r.numbers == [1, 2, 3, 4])
            #expect(r.offsets == [0, 5, 10, 12])
        }
    }

    @Test func finalLineWithoutNewlineIsALine() throws {
        try F.withTemporaryDirectory { dir in
            let path = dir + "/last.jsonl"
            try F.write(Array("a\nbb\nccc".utf8), to: path)
            let r = try F.readAll(path)
            #expect(r.lines.map { String(decoding: $0, as: UTF8.self) } == ["a", "bb", "ccc"])
            #expect(r.offsets == [0, 2, 5])
            #expect(r.damage == nil)
        }
    }

    @Test func emptyLinesAreReturnedWithTheirNumbers() throws {
        try F.withTemporaryDirectory { dir in
            let path = dir + "/empty-lines.jsonl"
            try F.write(Array("\n\nx\n\n".utf8), to: path)
            let r = try F.readAll(path)
            #expect(r.lines.map { $0.count } == [0, 0, 1, 0])
            #expect(r.numbers == [1, 2, 3, 4])
        }
    }

    @Test func emptyPlainFileYieldsNoBatches() throws {
        try F.withTemporaryDirectory { dir in
            let path = dir + "/empty.jsonl"
            try F.write([], to: path)
            let r = try F.readAll(path)
            #expect(r.batches == 0 && r.lines.isEmpty && r.damage == nil)
        }
    }

    @Test func batchesEndAtMaxLines() throws {
        try F.withTemporaryDirectory { dir in
            let lines = F.lines(2500, width: 50)
            let path = dir + "/many.jsonl"
            try F.write(F.joined(lines), to: path)
            let r = try F.readAll(path, maxLines: 1000)
            #expect(r.batchSizes == [1000, 1000, 500])
            #expect(r.lines == lines)
            #expect(r.numbers == Array(1...2500))
            #expect(r.offsets == (0..<2500).map { $0 * 51 })
        }
    }

    @Test func batchesEndBeforeTheLineThatExceedsMaxBytes() throws {
        try F.withTemporaryDirectory { dir in
            let lines = F.lines(100, width: 99)  // 100 bytes with the newline
            let path = dir + "/bytes.jsonl"
            try F.write(F.joined(lines), to: path)
            let r = try F.readAll(path, maxBytes: 1050)
            #expect(r.batchSizes.allSatisfy { $0 == 10 })
            #expect(r.lines == lines)
        }
    }

    @Test func aLineLargerThanMaxBytesFormsItsOwnBatch() throws {
        try F.withTemporaryDirectory { dir in
            // Larger than the reader's whole buffer (maxBytes + 256 KiB), so the buffer must grow.
            let big = [UInt8](repeating: UInt8(ascii: "x"), count: 1_500_000)
            let lines = [Array("small".utf8), big, Array("after".utf8), Array("tail".utf8)]
            let path = dir + "/big.jsonl"
            try F.write(F.joined(lines), to: path)
            let r = try F.readAll(path, maxBytes: 1000)
            #expect(r.lines == lines)
            #expect(r.batchSizes == [1, 1, 2])
            #expect(r.offsets == [0, 6, 1_500_007, 1_500_013])
            #expect(r.oversized.isEmpty)
        }
    }

    @Test func oversizedLineIsSkippedAndReportedWhileLaterLinesAreRead() throws {
        try F.withTemporaryDirectory { dir in
            let big = [UInt8](repeating: UInt8(ascii: "y"), count: 5 * 1024)
            let lines = [Array("before".utf8), big, Array("after1".utf8), Array("after2".utf8)]
            for name in ["o.jsonl", "o.jsonl.zst", "o.jsonl.gz"] {
                let path = dir + "/" + name
                var bytes = F.joined(lines)
                if name.hasSuffix(".zst") { bytes = try ZstdCompressor.compress(bytes) }
                if name.hasSuffix(".gz") { bytes = try GzipCompressor.compress(bytes) }
                try F.write(bytes, to: path)
                let r = try F.readAll(path, maxLineBytes: 1024)
                #expect(r.lines == [Array("before".utf8), Array("after1".utf8), Array("after2".utf8)])
                #expect(r.numbers == [1, 3, 4])
                #expect(r.oversized == [OversizedLine(lineNumber: 2, offset: 7, length: 5 * 1024)])
                #expect(r.offsets == [0, 7 + 5 * 1024 + 1, 7 + 5 * 1024 + 8])
            }
        }
    }

    @Test func oversizedLineSpanningManyReadsIsNeverBufferedWhole() throws {
        try F.withTemporaryDirectory { dir in
            // 3 MB line with a 100 KB limit: it spans many 256 KiB reads and is dropped as it streams.
            let big = [UInt8](repeating: UInt8(ascii: "z"), count: 3_000_000)
            let last = [UInt8](repeating: UInt8(ascii: "q"), count: 200_000)  // oversized, no newline
            var bytes = F.joined([Array("a".utf8), big, Array("b".utf8)])
            bytes += last
            let path = dir + "/span.jsonl.zst"
            try F.write(try ZstdCompressor.compress(bytes), to: path)
            let r = try F.readAll(path, maxLineBytes: 100_000)
            #expect(r.lines == [Array("a".utf8), Array("b".utf8)])
            #expect(r.numbers == [1, 3])
            #expect(r.offsets == [0, 3_000_003])
            #expect(
                r.oversized == [
                    OversizedLine(lineNumber: 2, offset: 2, length: 3_000_000),
                    OversizedLine(lineNumber: 4, offset: 3_000_005, length: 200_000),
                ])
        }
    }

    @Test func randomLinesRoundTripThroughEveryFormatAndLimit() throws {
        try F.withTemporaryDirectory { dir in
            var rng = SystemRandomNumberGenerator()
            var lines: [[UInt8]] = []
            for i in 0..<3000 {
                let len = i % 97 == 0 ? Int.random(in: 2000...70_000, using: &rng) : Int.random(in: 0...400, using: &rng)
                lines.append((0..<len).map { _ in UInt8.random(in: 32...126, using: &rng) })
            }
            let plain = F.joined(lines)
            var expectedOffsets: [Int] = []
            var off = 0
            for l in lines {
                expectedOffsets.append(off)
                off += l.count + 1
            }
            let maxLineBytes = 50_000
            let keep = lines.indices.filter { lines[$0].count <= maxLineBytes }
            for (name, bytes) in [
                ("r.jsonl", plain), ("r.jsonl.zst", try ZstdCompressor.compress(plain)),
                ("r.jsonl.gz", try GzipCompressor.compress(plain)),
            ] {
                let path = dir + "/" + name
                try F.write(bytes, to: path)
                for (maxLines, maxBytes) in [(1000, 4 << 20), (7, 1 << 20), (1000, 3000), (1, 1)] {
                    let r = try F.readAll(path, maxLines: maxLines, maxBytes: maxBytes, maxLineBytes: maxLineBytes)
                    #expect(r.lines == keep.map { lines[$0] }, "\(name) \(maxLines) \(maxBytes)")
                    #expect(r.numbers == keep.map { $0 + 1 })
                    #expect(r.offsets == keep.map { expectedOffsets[$0] })
                    #expect(r.oversized.map(\.lineNumber) == lines.indices.filter { lines[$0].count > maxLineBytes }.map { $0 + 1 })
                    #expect(r.batchSizes.allSatisfy { $0 <= maxLines })
                    #expect(r.damage == nil)
                }
            }
        }
    }

    @Test func missingFileThrowsAnErrorNamingIt() throws {
        try F.withTemporaryDirectory { dir in
            let path = dir + "/nope.jsonl.zst"
            #expect {
                _ = try LineBatchReader(path: path)
            } throws: { error in
                "\(error)".contains(path) && "\(error)".contains("No such file")
            }
            #expect(throws: FileError.self) { _ = try ByteSource(path: dir) }  // a directory
        }
    }

    @Test func unknownExtensionIsSniffedFromMagicBytes() throws {
        try F.withTemporaryDirectory { dir in
            let text = F.joined(F.lines(10))
            try F.write(try ZstdCompressor.compress(text), to: dir + "/a.data")
            try F.write(try GzipCompressor.compress(text), to: dir + "/b.data")
            try F.write(text, to: dir + "/c.data")
            for (name, format) in [("a.data", CompressionFormat.zstd), ("b.data", .gzip), ("c.data", .plain)] {
                let source = try ByteSource(path: dir + "/" + name)
                #expect(source.format == format)
                #expect(try F.readAll(dir + "/" + name).lines == F.lines(10))
            }
        }
    }

    @Test func readWholeFileReadsPlainAndCompressedTextAndEnforcesTheLimit() throws {
        try F.withTemporaryDirectory { dir in
            let text = Array(String(repeating: "Some text.\n", count: 5000).utf8)
            try F.write(text, to: dir + "/doc.txt")
            try F.write(try GzipCompressor.compress(text), to: dir + "/doc.txt.gz")
            try F.write(try ZstdCompressor.compress(text), to: dir + "/doc.txt.zst")
            try F.write([], to: dir + "/empty.txt")
            for name in ["doc.txt", "doc.txt.gz", "doc.txt.zst"] {
                let whole = try ByteSource.readWholeFile(path: dir + "/" + name, maxBytes: 1 << 20)
                #expect(whole.bytes == text && !whole.isTooLarge && whole.damage == nil, "\(name)")
                let exact = try ByteSource.readWholeFile(path: dir + "/" + name, maxBytes: text.count)
                #expect(exact.bytes == text && !exact.isTooLarge)
                let small = try ByteSource.readWholeFile(path: dir + "/" + name, maxBytes: text.count - 1)
                #expect(small.isTooLarge && small.bytes.isEmpty)
            }
            let empty = try ByteSource.readWholeFile(path: dir + "/empty.txt", maxBytes: 10)
            #expect(empty.bytes.isEmpty && !empty.isTooLarge && empty.damage == nil)
            let cut = try ZstdCompressor.compress(text)
            try F.write(Array(cut.prefix(cut.count / 2)), to: dir + "/cut.txt.zst")
            let damaged = try ByteSource.readWholeFile(path: dir + "/cut.txt.zst", maxBytes: 1 << 20)
            #expect(damaged.damage?.kind == .truncated && damaged.bytes.isEmpty)
        }
    }

    @Test func byteSourceTracksOffsets() throws {
        try F.withTemporaryDirectory { dir in
            let text = F.joined(F.lines(20_000, width: 200))
            let compressed = try ZstdCompressor.compress(text)
            let path = dir + "/t.zst"
            try F.write(compressed, to: path)
            let source = try ByteSource(path: path)
            #expect(source.fileSize == compressed.count)
            let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: 100_000, alignment: 1)
            defer { buf.deallocate() }
            var total = 0
            while true {
                let n = try source.read(into: buf)
                if n == 0 { break }
                total += n
            }
            #expect(total == text.count)
            #expect(source.uncompressedOffset == text.count)
            #expect(source.compressedOffset == compressed.count)
            #expect(try source.read(into: buf) == 0)
        }
    }
}
