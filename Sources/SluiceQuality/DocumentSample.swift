import Foundation
import SluiceCore
import SluiceIO

/// One document drawn for annotation: its id, where it is, and the text to send.
public struct SampledDocument: Sendable, Equatable {
    public var id: String
    /// The rank key: `XXH64(id, seed)`; the sample is the documents with the smallest keys.
    public var rank: UInt64
    public var file: String
    /// 1-based line number in `file` (uncompressed).
    public var line: Int
    /// The first `maxChars` characters (Unicode scalars) of the text.
    public var prefix: String
    /// The whole text, when asked for (else nil).
    public var fullText: String?
    /// Characters in the whole text.
    public var characters: Int
}

/// Draws a deterministic sample of documents from JSONL inputs.
///
/// Every document gets the key `XXH64(id, seed)` (an empty id is replaced by `FILE:LINE`); the
/// sample is the `size` documents with the smallest keys, in key order (ties by id). It depends
/// only on the ids, the seed and the size: not on file order, batching or machine. Samples
/// nest (the sample of 100 is the first 100 of the sample of 1,000) and a different seed draws
/// an independent one. A repeated id is taken once (its first occurrence in sorted file order).
/// Documents whose text is empty or only whitespace are skipped and counted.
public enum DocumentSample {
    public struct Result: Sendable {
        public var documents: [SampledDocument]
        /// Documents read in total.
        public var read: Int
        /// Lines that were not documents (invalid JSON, no text).
        public var invalidLines: Int
        /// Documents skipped because their text is empty or blank (among those that ranked into the sample).
        public var emptyDocuments: Int
        /// Documents skipped because their id was already seen (only counted among those ranked into the sample).
        public var duplicateIDs: Int
        /// Files that ended early (damaged or truncated compressed data), with the problem.
        public var damagedFiles: [String]
    }

    /// Lists annotation inputs: files, globs or folders. A Sluice output folder (one with
    /// `_manifest.json` or `_completions/`) contributes its shards (`*.jsonl.zst` at its top,
    /// not `_rejected/`); another folder contributes its JSONL files (`.jsonl`, `.jsonl.zst`,
    /// `.jsonl.gz`, `.json`, `.json.zst`, `.json.gz`) recursively.
    public static func resolveInputs(_ patterns: [String]) throws -> [String] {
        var files: [String] = []
        let fm = FileManager.default
        for p in patterns {
            var isDir: ObjCBool = false
            if fm.fileExists(atPath: p, isDirectory: &isDir), isDir.boolValue {
                let root = p.hasSuffix("/") && p.count > 1 ? String(p.dropLast()) : p
                if fm.fileExists(atPath: root + "/_manifest.json") || fm.fileExists(atPath: root + "/_completions") {
                    let names = (try? fm.contentsOfDirectory(atPath: root)) ?? []
                    let shards = names.filter { !$0.hasPrefix("_") && !$0.hasPrefix(".") && $0.hasSuffix(".jsonl.zst") }.sorted()
                    if shards.isEmpty { throw InputListingError(pattern: p, message: "the Sluice output folder \(p) has no shards (*.jsonl.zst)") }
                    files += shards.map { root + "/" + $0 }
                    continue
                }
                let all = try InputListing.list(patterns: [p]).filter(isJSONLName)
                if all.isEmpty { throw InputListingError(pattern: p, message: "the folder \(p) has no JSONL files (.jsonl, .jsonl.zst, .jsonl.gz)") }
                files += all
                continue
            }
            files += try InputListing.list(patterns: [p])
        }
        var seen = Set<String>()
        return files.filter { seen.insert($0).inserted }.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    static func isJSONLName(_ path: String) -> Bool {
        let name = (path as NSString).lastPathComponent
        if name.hasPrefix(".") || name.hasPrefix("_") { return false }
        return [".jsonl", ".jsonl.zst", ".jsonl.gz", ".json", ".json.zst", ".json.gz"].contains { name.hasSuffix($0) }
    }

    /// The first `maxChars` Unicode scalars of `text` and the count of all of them.
    public static func prefix(_ text: String, maxChars: Int) -> (prefix: String, characters: Int) {
        text.withUTF8Bytes { b -> (String, Int) in
            var count = 0
            var cut = b.count
            var i = 0
            while i < b.count {
                if b[i] & 0xC0 != 0x80 {
                    if count == maxChars { cut = i }
                    count += 1
                }
                i += 1
            }
            if count <= maxChars { return (text, count) }
            return (String(decoding: UnsafeBufferPointer(rebasing: b[0..<cut]), as: UTF8.self), count)
        }
    }

    /// Draws the sample from `files`.
    ///
    /// - Parameters:
    ///   - size: how many documents (fewer when the inputs have fewer).
    ///   - maxChars: the length of ``SampledDocument/prefix``.
    ///   - keepFullText: also keep each sampled document's whole text.
    public static func draw(
        files: [String], size: Int, seed: UInt64, maxChars: Int, keepFullText: Bool = false, mapping: DocumentFieldMapping = DocumentFieldMapping(),
        log: (String) -> Void = { _ in }
    ) throws -> Result {
        precondition(size >= 0 && maxChars > 0)
        // A max-heap on (rank, id) of the best `size` candidates so far.
        var heap: [SampledDocument] = []
        heap.reserveCapacity(min(size, 1 << 16))
        var inHeap = Set<String>()
        var read = 0, invalid = 0, empty = 0, duplicates = 0
        var damaged: [String] = []
        @inline(__always) func above(_ a: SampledDocument, _ b: SampledDocument) -> Bool {
            a.rank != b.rank ? a.rank > b.rank : b.id.utf8.lexicographicallyPrecedes(a.id.utf8)
        }
        func siftUp(_ i0: Int) {
            var i = i0
            while i > 0 {
                let p = (i - 1) / 2
                if above(heap[i], heap[p]) { heap.swapAt(i, p); i = p } else { break }
            }
        }
        func siftDown(_ i0: Int) {
            var i = i0
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < heap.count && above(heap[l], heap[m]) { m = l }
                if r < heap.count && above(heap[r], heap[m]) { m = r }
                if m == i { return }
                heap.swapAt(i, m)
                i = m
            }
        }
        for file in files {
            let reader = LineBatchReader(source: try ByteSource(path: file), maxLines: 1024, maxBytes: 8 << 20, maxLineBytes: 256 << 20)
            var parser = DocumentLineParser(mapping: mapping)
            while let batch = try reader.next() {
                batch.bytes.withUnsafeBytes { all in
                    for i in 0..<batch.count {
                        let line = UnsafeRawBufferPointer(rebasing: all[batch.lineStarts[i]..<batch.lineEnds[i]])
                        if line.allSatisfy({ $0 == 32 || $0 == 9 || $0 == 13 }) { continue }
                        guard let doc = parser.parse(line).document else {
                            invalid += 1
                            continue
                        }
                        read += 1
                        if size == 0 { continue }
                        let id = doc.id.isEmpty ? "\(file):\(batch.lineNumbers[i])" : doc.id
                        let rank = XXH64.hash(id, seed: seed)
                        if heap.count == size {
                            let top = heap[0]
                            if rank > top.rank || (rank == top.rank && !id.utf8.lexicographicallyPrecedes(top.id.utf8)) { continue }
                        }
                        if inHeap.contains(id) {
                            duplicates += 1
                            continue
                        }
                        let blank = doc.text.withUTF8Bytes { b in b.allSatisfy { $0 == 32 || ($0 >= 9 && $0 <= 13) } }
                        if blank {
                            empty += 1
                            continue
                        }
                        let (p, n) = prefix(doc.text, maxChars: maxChars)
                        let s = SampledDocument(
                            id: id, rank: rank, file: file, line: batch.lineNumbers[i], prefix: p,
                            fullText: keepFullText ? doc.text : nil, characters: n)
                        if heap.count == size {
                            inHeap.remove(heap[0].id)
                            heap[0] = s
                            siftDown(0)
                        } else {
                            heap.append(s)
                            siftUp(heap.count - 1)
                        }
                        inHeap.insert(id)
                    }
                }
                if let d = batch.damage {
                    damaged.append("\(file): \(d)")
                    log("warning: \(file) ends early (\(d)); documents before the damage are used")
                }
            }
        }
        heap.sort { $0.rank != $1.rank ? $0.rank < $1.rank : $0.id.utf8.lexicographicallyPrecedes($1.id.utf8) }
        return Result(documents: heap, read: read, invalidLines: invalid, emptyDocuments: empty, duplicateIDs: duplicates, damagedFiles: damaged)
    }
}
