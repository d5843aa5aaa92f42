import ArgumentParser
import Foundation
import SluicePipeline

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a self-contained HTML report of a run: funnel, distributions, languages, domains, shards, examples.",
        discussion: """
            One HTML file with inline SVG charts and styles: no network is needed to view it, and it \
            reads on a phone as on a desktop. It shows the funnel and the drops by reason, length and \
            metadata score distributions, languages, top domains, sources and content types, shard \
            sizes, and example kept and dropped documents for each reason (dropped examples need a \
            run with output.rejected: true).
            """)

    @Argument(help: "The output folder of a run (its output.path).")
    var out: String

    @Option(name: .shortAndLong, help: ArgumentHelp("The HTML file to write.", valueName: "report.html"))
    var output: String

    @Flag(help: "Recompute the statistics from the shards instead of reading the sidecars.")
    var recompute = false

    @Option(help: ArgumentHelp("Threads for reading shards.", valueName: "n"))
    var workers: Int = 2

    @Option(help: ArgumentHelp("Example documents dropped for each reason.", valueName: "n"))
    var examples: Int = 3

    func validate() throws {
        if workers < 1 { throw ValidationError("--workers must be at least 1") }
        if examples < 0 { throw ValidationError("--examples must be 0 or more") }
    }

    func run() throws {
        do {
            let html = try buildReport(root: out, recompute: recompute, workers: workers, droppedExamples: examples)
            try writeReport(html, to: output)
            print("wrote \(output) (\(html.utf8.count / 1000) kB)")
        } catch {
            FileHandle.standardError.write(Data("sluice: error: \(error)\n".utf8))
            throw Exit.failed
        }
    }
}
