import SluiceCore
import SluiceIO
import SluiceWeb

/// The `warc` input type for the executor: reads one WARC/WET file into batches of documents.
///
/// Read-stage accounting: every response/resource/conversion record counts as received; a
/// record that gives no document is dropped with the reader's reason (`not_selected`,
/// `too_large`, `bad_charset`, …); a record lost to damage is dropped as `truncated_record` and
/// its file and offset reported as an input problem (garbage between records is reported and
/// counted in `warc_garbage_regions`); records of other types (request, metadata, warcinfo)
/// are only counted (`warc_request_records`, …).
///
/// - Parameters:
///   - progress: called with on-disk bytes consumed since the last call.
///   - problem: called with each damage report.
///   - shouldStop: polled between records (interruption).
///   - emit: receives each batch (never spanning files); returns false to stop reading.
/// - Returns: false when `emit` or `shouldStop` stopped the reading.
func readWARCFile(
    _ file: String, options: WARCReaderOptions, batchSize: Int, maxBatchBytes: Int = 8 << 20,
    progress: (Int) -> Void, problem: (String) -> Void, shouldStop: () -> Bool,
    emit: ([Document], StageStats) -> Bool
) throws -> Bool {
    let reader = try WARCDocumentReader(path: file, options: options)
    var docs: [Document] = []
    var stats = StageStats()
    var batchBytes = 0
    var reported = 0
    var started = monotonicNanoseconds()
    func flush() -> Bool {
        stats.bytesIn = stats.bytesOut
        stats.nanoseconds = monotonicNanoseconds() - started
        let ok = emit(docs, stats)
        docs = []
        stats = StageStats()
        batchBytes = 0
        started = monotonicNanoseconds()
        return ok
    }
    while let result = try reader.next() {
        if shouldStop() { return false }
        switch result {
        case .document(let doc):
            stats.received += 1
            stats.kept += 1
            let n = doc.text.utf8.count
            stats.bytesOut += n
            batchBytes += n
            docs.append(doc)
        case .skipped(let reason, _):
            stats.received += 1
            stats.dropped[reason.name, default: 0] += 1
        case .damaged(let p):
            if p.lostRecord {
                stats.received += 1
                stats.dropped["truncated_record", default: 0] += 1
            } else {
                stats.counters["warc_garbage_regions", default: 0] += 1
            }
            problem(p.description)
        case .ignored(let counter):
            stats.counters[counter, default: 0] += 1
        }
        let consumed = reader.compressedBytesRead
        if consumed > reported {
            progress(consumed - reported)
            reported = consumed
        }
        if docs.count >= batchSize || batchBytes >= maxBatchBytes {
            if !flush() { return false }
        }
    }
    progress(max(0, reader.fileSize - reported))
    if !docs.isEmpty || stats.received > 0 || !stats.counters.isEmpty {
        if !flush() { return false }
    }
    return true
}
