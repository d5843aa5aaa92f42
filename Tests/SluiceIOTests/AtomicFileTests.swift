import Foundation
import SluiceIO
import Testing

@Suite struct AtomicFileTests {
    typealias F = ByteStreamFixture

    private func names(_ dir: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
    }

    @Test func fileAppearsUnderItsFinalNameOnlyAfterCommit() throws {
        try F.withTemporaryDirectory { dir in
            let path = dir + "/00000_0000.jsonl.zst"
            let w = try AtomicFileWriter(path: path, bufferCapacity: 1000)
            var expected: [UInt8] = []
            for i in 0..<500 {
                let piece = F.lines(1, width: 10 + i * 7, seed: i)[0]  // some smaller, some larger than the buffer
                try w.write(piece)
                expected += piece
            }
            try w.write("tail")
            expected += Array("tail".utf8)
            #expect(!FileManager.default.fileExists(atPath: path))
            #expect(try names(dir).count == 1)
            #expect(AtomicFile.isTemporaryName(try names(dir)[0]))
            #expect(w.temporaryPath.hasPrefix(dir + "/.00000_0000.jsonl.zst.tmp-"))
            #expect(w.bytesWritten == expected.count)
            try w.commit()
            #expect(try F.read(path) == expected)
            #expect(try names(dir) == ["00000_0000.jsonl.zst"])
        }
    }

    @Test func abortAndDroppingTheWriterLeaveNothing() throws {
        try F.withTemporaryDirectory { dir in
            let w = try AtomicFileWriter(path: dir + "/a.json")
            try w.write(Array(repeating: 1, count: 10_000_000))
            w.abort()
            w.abort()
            #expect(try names(dir).isEmpty)
            do {
                let dropped = try AtomicFileWriter(path: dir + "/b.json")
                try dropped.write("half")
            }
            #expect(try names(dir).isEmpty)
        }
    }

    @Test func writeAtomicallyReplacesAnExistingFile() throws {
        try F.withTemporaryDirectory { dir in
            let path = dir + "/_manifest.json"
            try writeAtomically(path: path, string: "old")
            try writeAtomically(path: path, bytes: Array("new contents".utf8))
            #expect(String(decoding: try F.read(path), as: UTF8.self) == "new contents")
            let big = [UInt8](repeating: 42, count: 9_000_000)
            try writeAtomically(path: path, bytes: big)
            #expect(try F.read(path) == big)
            try writeAtomically(path: dir + "/empty", bytes: [])
            #expect(try F.read(dir + "/empty").isEmpty)
            #expect(try names(dir) == ["_manifest.json", "empty"])
        }
    }

    @Test func writerFailsClearlyWhenTheDirectoryIsMissing() throws {
        try F.withTemporaryDirectory { dir in
            #expect {
                _ = try AtomicFileWriter(path: dir + "/missing/x.json")
            } throws: { error in
                "\(error)".contains("/missing/.x.json.tmp-") && "\(error)".contains("No such file")
            }
        }
    }

    @Test func staleTemporariesAreRemovedByPrefix() throws {
        try F.withTemporaryDirectory { dir in
            for name in [".00001_0000.jsonl.zst.tmp-123-0", ".00001_0001.stats.json.tmp-9-4",
                         ".00002_0000.jsonl.zst.tmp-77-1", "00001_0000.jsonl.zst", ".hidden", "x.tmp-1"] {
                try F.write([1], to: dir + "/" + name)
            }
            #expect(try removeStaleTemporaries(in: dir, matching: "00001_") == 2)
            #expect(try names(dir) == [".00002_0000.jsonl.zst.tmp-77-1", ".hidden", "00001_0000.jsonl.zst", "x.tmp-1"])
            #expect(try removeStaleTemporaries(in: dir) == 1)
            #expect(try names(dir) == [".hidden", "00001_0000.jsonl.zst", "x.tmp-1"])
            #expect(try removeStaleTemporaries(in: dir + "/none") == 0)
        }
    }

    @Test func temporaryPathsAreUniqueAndHidden() {
        let a = AtomicFile.temporaryPath(for: "out/x.json")
        let b = AtomicFile.temporaryPath(for: "out/x.json")
        #expect(a != b)
        #expect(a.hasPrefix("out/.x.json.tmp-\(ProcessInfo.processInfo.processIdentifier)-"))
        #expect(AtomicFile.temporaryPath(for: "x.json").hasPrefix(".x.json.tmp-"))
    }
}
