import Foundation
import Synchronization
import SluiceCore
import SluiceIO

/// How a run reports progress on standard error.
public enum ProgressMode: String, Sendable, CaseIterable {
    /// A live line on a terminal, plain periodic lines otherwise.
    case auto
    /// Plain periodic lines.
    case plain
    /// JSON lines, one object per report.
    case json
    /// Nothing but errors and the final summary.
    case quiet
}

/// Counters that the reader, workers and writer of a task update and the progress thread reads.
final class ProgressCounters: Sendable {
    let documentsRead = Atomic<Int>(0)
    let documentsWritten = Atomic<Int>(0)
    let inputBytesDone = Atomic<Int>(0)
    let uncompressedBytesRead = Atomic<Int>(0)

    func add(_ counter: borrowing Atomic<Int>, _ n: Int) { counter.add(n, ordering: .relaxed) }
}

/// Prints progress for one task while it runs: a live line on a terminal (documents/s, MB/s,
/// percent and ETA by input bytes), plain lines every `plainInterval` seconds otherwise, or JSON lines.
final class ProgressReporter: @unchecked Sendable {
    private let counters: ProgressCounters
    private let totalInputBytes: Int
    private let label: String
    private let mode: ProgressMode
    private let isTerminal: Bool
    private let start = monotonicNanoseconds()
    private let stopFlag = Atomic<Bool>(false)
    private var thread: WorkerThread?
    private let plainInterval: Double

    init(counters: ProgressCounters, totalInputBytes: Int, label: String, mode: ProgressMode, plainInterval: Double = 10) {
        self.counters = counters
        self.totalInputBytes = totalInputBytes
        self.label = label
        self.mode = mode
        self.isTerminal = isatty(2) != 0
        self.plainInterval = plainInterval
    }

    func start_() {
        guard mode != .quiet else { return }
        let live = mode == .auto && isTerminal
        let interval = live ? 0.5 : plainInterval
        thread = WorkerThread(name: "sluice-progress") { [self] in
            var last = monotonicNanoseconds()
            while !stopFlag.load(ordering: .relaxed) {
                usleep(100_000)
                let now = monotonicNanoseconds()
                if Double(now - last) / 1e9 >= interval {
                    last = now
                    emit(final: false, live: live)
                }
            }
        }
    }

    func stop() {
        stopFlag.store(true, ordering: .relaxed)
        thread?.join()
        thread = nil
        if mode == .auto && isTerminal { writeStderr("\r\u{1B}[K") }
    }

    private func emit(final: Bool, live: Bool) {
        let elapsed = max(1e-9, Double(monotonicNanoseconds() - start) / 1e9)
        let docs = counters.documentsRead.load(ordering: .relaxed)
        let written = counters.documentsWritten.load(ordering: .relaxed)
        let raw = counters.uncompressedBytesRead.load(ordering: .relaxed)
        let done = counters.inputBytesDone.load(ordering: .relaxed)
        let fraction = totalInputBytes > 0 ? min(1, Double(done) / Double(totalInputBytes)) : 0
        let eta = fraction > 0.001 ? elapsed * (1 - fraction) / fraction : -1
        let docsPerSecond = Double(docs) / elapsed
        let mbPerSecond = Double(raw) / elapsed / 1e6
        if mode == .json {
            var o = JSONObject()
            o["event"] = .string("progress")
            o["task"] = .string(label)
            o["documents_read"] = .int(docs)
            o["documents_written"] = .int(written)
            o["input_fraction"] = .double((fraction * 1000).rounded() / 1000)
            o["documents_per_second"] = .double(docsPerSecond.rounded())
            o["mb_per_second"] = .double((mbPerSecond * 10).rounded() / 10)
            o["elapsed_s"] = .double((elapsed * 10).rounded() / 10)
            if eta >= 0 { o["eta_s"] = .double(eta.rounded()) }
            var line: [UInt8] = []
            appendJSON(.object(o), to: &line)
            line.append(10)
            writeStderr(String(decoding: line, as: UTF8.self))
            return
        }
        let pct = formatFixed(fraction * 100, digits: 1)
        let etaText = eta >= 0 ? formatDuration(eta) : "?"
        let text = "\(label): \(docs) docs read, \(written) written, \(formatFixed(docsPerSecond, digits: 0)) docs/s, \(formatFixed(mbPerSecond, digits: 1)) MB/s, \(pct)% of input, ETA \(etaText)"
        if live {
            writeStderr("\r\u{1B}[K" + text)
        } else {
            writeStderr(text + "\n")
        }
    }
}

/// `1h02m`, `3m05s`, `12s`.
func formatDuration(_ seconds: Double) -> String {
    let s = Int(seconds.rounded())
    if s >= 3600 { return "\(s / 3600)h\(pad((s % 3600) / 60, 2))m" }
    if s >= 60 { return "\(s / 60)m\(pad(s % 60, 2))s" }
    return "\(s)s"
}

/// Writes text to standard error without buffering.
func writeStderr(_ text: String) {
    var t = text
    t.withUTF8 { buf in
        var off = 0
        while off < buf.count {
            let n = write(2, buf.baseAddress! + off, buf.count - off)
            if n <= 0 { break }
            off += n
        }
    }
}
