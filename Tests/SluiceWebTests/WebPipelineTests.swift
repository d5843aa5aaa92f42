import Foundation
import SluiceCore
import SluiceIO
import SluiceTestSupport
import Testing

@Suite("Web pipeline (CLI)")
struct WebPipelineTests {
    @Test("warc input → url_filter → html_extract runs, counts skips and damage, and reruns identically")
    func pipelineOnDamagedAndMultilingualWARCs() throws {
        let dir = TemporaryDirectory()
        let out = dir.file("out")
        let pipeline = """
        name: web-test
        input:
          type: warc
          paths: ["\(fixture("multilang.warc.gz"))", "\(fixture("damaged.warc.gz"))"]
          http_statuses: [200]
        stages:
          - type: url_filter
            banned_subwords: [camgirl]
            domain_blocklist: [debian-faq.invalid]
          - type: html_extract
        output:
          path: \(out)
        run:
          tasks: 1
          workers: 2
        """
        try writeFile(dir.file("p.yaml"), pipeline)
        let run = try runCommand(sluiceExecutable(), ["run", dir.file("p.yaml")])
        #expect(run.status == 0, "\(run.stderr)")
        let stats = try runCommand(sluiceExecutable(), ["stats", out, "--json"])
        #expect(stats.status == 0, "\(stats.stderr)")
        guard case .object(let o) = try parseJSONValue(Array(stats.stdout.utf8)),
            case .array(let stages)? = o["stages"]
        else {
            Issue.record("no stats")
            return
        }
        let read = stages[0]
        #expect(read["received"]?.doubleValue == 25)  // 19 response/resource + 7 damaged-file records, one never starts
        #expect(read["kept"]?.doubleValue == 18)
        let dropped = read["dropped"]?.objectValue
        #expect(dropped?["truncated_record"]?.doubleValue == 4)
        #expect(dropped?["not_selected"]?.doubleValue == 2)
        #expect(dropped?["binary_content"]?.doubleValue == 1)
        let taskStats = try String(decoding: readFile(out + "/_stats/00000.json"), as: UTF8.self)
        #expect(taskStats.contains("damaged.warc.gz: at byte"))
        // Same bytes on a fresh rerun.
        let first = try snapshotFiles(out, excluding: { $0.hasPrefix("_stats") || $0.hasPrefix("_manifest") || $0.hasPrefix("_completions") })
        try FileManager.default.removeItem(atPath: out)
        let again = try runCommand(sluiceExecutable(), ["run", dir.file("p.yaml"), "--workers", "1"])
        #expect(again.status == 0)
        let second = try snapshotFiles(out, excluding: { $0.hasPrefix("_stats") || $0.hasPrefix("_manifest") || $0.hasPrefix("_completions") })
        #expect(first == second)
    }

    @Test("an unknown key in a warc input block is an error with its location")
    func unknownInputKey() throws {
        let dir = TemporaryDirectory()
        try writeFile(dir.file("p.yaml"), """
        name: bad
        input:
          type: warc
          paths: ["\(fixture("multilang.warc.gz"))"]
          mime_typos: [text/html]
        stages:
          - type: html_extract
        output:
          path: \(dir.file("out"))
        """)
        let r = try runCommand(sluiceExecutable(), ["validate", dir.file("p.yaml")])
        #expect(r.status == 2)
        #expect(r.stderr.contains("mime_typos"))
        #expect(r.stderr.contains("mime_types"))
    }
}
