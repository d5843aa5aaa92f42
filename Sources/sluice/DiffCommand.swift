import ArgumentParser
import Foundation
import SluicePipeline
import SluiceStats

struct Diff: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compare two runs: pipeline changes, totals, drops per stage and reason, distributions, languages.",
        discussion: """
            For tuning thresholds: run the same input with two settings into two folders, then \
            compare. Reads the statistics sidecars of both runs (--recompute reads the shards).
            """)

    @Argument(help: "The first run's output folder (A).")
    var a: String

    @Argument(help: "The second run's output folder (B).")
    var b: String

    @Flag(help: "Print JSON.")
    var json = false

    @Flag(help: "Recompute the statistics from the shards instead of reading the sidecars.")
    var recompute = false

    @Option(help: ArgumentHelp("Threads for reading.", valueName: "n"))
    var workers: Int = 2

    func validate() throws {
        if workers < 1 { throw ValidationError("--workers must be at least 1") }
    }

    func run() throws {
        do {
            let first = try OutputSummary(root: a).statistics(recompute: recompute, workers: workers)
            let second = try OutputSummary(root: b).statistics(recompute: recompute, workers: workers)
            let diff = RunDiff(first, second)
            if json {
                print(renderJSON(diff.json), terminator: "")
            } else {
                print(diff.renderText(), terminator: "")
            }
        } catch {
            FileHandle.standardError.write(Data("sluice: error: \(error)\n".utf8))
            throw Exit.failed
        }
    }
}
