import Foundation
import SluiceIO
import Testing

@Suite struct InputListingTests {
    typealias F = ByteStreamFixture

    /// dir/a/{b.jsonl, A.jsonl, .hidden.jsonl, c/d.jsonl.zst, .git/x.jsonl}, dir/top.jsonl.gz
    private func makeTree(_ dir: String) throws {
        try InputListing.createDirectories(dir + "/a/c")
        try InputListing.createDirectories(dir + "/a/.git")
        for name in ["a/b.jsonl", "a/A.jsonl", "a/.hidden.jsonl", "a/c/d.jsonl.zst", "a/.git/x.jsonl", "top.jsonl.gz"] {
            try F.write([], to: dir + "/" + name)
        }
    }

    @Test func globMatchingNothingIsAnErrorThatSaysHowToFixIt() throws {
        try F.withTemporaryDirectory { dir in
            let pattern = dir + "/x/*.jsonl"
            #expect(throws: InputListingError(
                pattern: pattern, message: "no files match '\(pattern)'; check the path or quote the glob")) {
                _ = try InputListing.list(patterns: [pattern])
            }
            #expect(throws: InputListingError.self) { _ = try InputListing.list(patterns: [dir + "/missing.jsonl"]) }
            try F.write([], to: dir + "/ok.jsonl")
            // One good pattern does not excuse a bad one.
            #expect(throws: InputListingError.self) {
                _ = try InputListing.list(patterns: [dir + "/ok.jsonl", dir + "/*.zst"])
            }
        }
    }

    @Test func directoryListingIsRecursiveSortedByBytesAndSkipsHiddenFiles() throws {
        try F.withTemporaryDirectory { dir in
            try makeTree(dir)
            let files = try InputListing.list(patterns: [dir + "/a/"])
            #expect(files == [dir + "/a/A.jsonl", dir + "/a/b.jsonl", dir + "/a/c/d.jsonl.zst"])
        }
    }

    @Test func globsFilesAndDirectoriesCombineWithoutDuplicates() throws {
        try F.withTemporaryDirectory { dir in
            try makeTree(dir)
            let files = try InputListing.list(patterns: [
                dir + "/a/*.jsonl", dir + "/a", dir + "/./top.jsonl.gz", dir + "//a/b.jsonl", dir + "/*",
            ])
            // "/*" matches the directory "a" (skipped: globs take files) and top.jsonl.gz.
            #expect(files == [dir + "/a/A.jsonl", dir + "/a/b.jsonl", dir + "/a/c/d.jsonl.zst", dir + "/top.jsonl.gz"])
        }
    }

    @Test func doubleStarMatchesAnyDepth() throws {
        try F.withTemporaryDirectory { dir in
            try makeTree(dir)
            #expect(try InputListing.list(patterns: [dir + "/**/*.jsonl"]) == [dir + "/a/A.jsonl", dir + "/a/b.jsonl"])
            #expect(try InputListing.list(patterns: [dir + "/**/c/*.zst"]) == [dir + "/a/c/d.jsonl.zst"])
            #expect(try InputListing.list(patterns: [dir + "/a/**"]).count == 3)
            #expect(try InputListing.list(patterns: [dir + "/*/**/d.*"]) == [dir + "/a/c/d.jsonl.zst"])
            #expect(try InputListing.list(patterns: [dir + "/**/*.{gz,zst}"]).count == 2)
        }
    }

    @Test func relativePatternsResolveAgainstTheBaseDirectory() throws {
        try F.withTemporaryDirectory { dir in
            try makeTree(dir)
            #expect(try InputListing.list(patterns: ["a/c", "*.gz"], baseDirectory: dir)
                == [dir + "/a/c/d.jsonl.zst", dir + "/top.jsonl.gz"])
            #expect {
                _ = try InputListing.list(patterns: ["nothing/*.jsonl"], baseDirectory: dir)
            } throws: { error in
                "\(error)" == "no files match 'nothing/*.jsonl' (relative to '\(dir)'); check the path or quote the glob"
            }
        }
    }

    @Test func createDirectoriesIsIdempotentAndRejectsFiles() throws {
        try F.withTemporaryDirectory { dir in
            try InputListing.createDirectories(dir + "/x/y/z")
            try InputListing.createDirectories(dir + "/x/y/z/")
            var isDir: ObjCBool = false
            #expect(FileManager.default.fileExists(atPath: dir + "/x/y/z", isDirectory: &isDir) && isDir.boolValue)
            try F.write([], to: dir + "/file")
            #expect(throws: FileError.self) { try InputListing.createDirectories(dir + "/file/sub") }
        }
    }
}
