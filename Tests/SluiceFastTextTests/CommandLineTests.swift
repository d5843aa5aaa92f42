import Foundation
import SluiceTestSupport
import Testing

@testable import SluiceFastText

/// `sluice fasttext …`, run as a real process.
@Suite("sluice fasttext command line")
struct CommandLineTests {
    func sluice(_ args: [String]) throws -> CommandResult {
        try runCommand(sluiceExecutable(), ["fasttext"] + args)
    }

    @Test("predict-prob prints labels and probabilities as official fastText does")
    func predictProb() throws {
        let r = try sluice(["predict-prob", fixture("hs.bin"), fixture("probe.txt"), "2"])
        #expect(r.status == 0, "\(r.stderr)")
        let rows = r.stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        let expected = try #require(Expected.shared.models["hs.bin"])
        #expect(rows.count == expected.predictions.count)
        for (row, (labels, probs)) in zip(rows, expected.predictions) {
            let parts = row.split(separator: " ").map(String.init)
            #expect(parts.count == 4)
            #expect([parts[0], parts[2]] == Array(labels.prefix(2)))
            // Six significant digits, as C++ prints a float.
            #expect(parts[1] == formatC(Double(Float(probs[0])), "%g"))
            #expect(abs(Double(parts[3])! - probs[1]) < 1e-5)
        }
        let plain = try sluice(["predict", fixture("hs.bin"), fixture("probe.txt")])
        #expect(plain.stdout.split(separator: "\n").first.map(String.init) == expected.predictions[0].0[0])
    }

    @Test("predict reads standard input with -")
    func stdin() throws {
        let dir = TemporaryDirectory()
        try writeFile(dir.file("in.txt"), "Das ist ein Test\n")
        let r = try runCommand("/bin/sh", ["-c", "\"$0\" fasttext predict \"$1\" - < \"$2\"", sluiceExecutable(), fixture("softmax.bin"), dir.file("in.txt")])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.hasPrefix("__label__"))
    }

    @Test("test prints N, P@k and R@k")
    func testCommand() throws {
        let r = try sluice(["test", fixture("softmax.bin"), fixture("lang.test")])
        #expect(r.status == 0, "\(r.stderr)")
        let expected = try #require(Expected.shared.models["softmax.bin"])
        let l = r.stdout.split(separator: "\n").map(String.init)
        #expect(l.count == 3)
        #expect(l[0] == "N\t\(expected.testN)")
        #expect(l[1] == "P@1\t" + formatC(expected.testPrecision, "%.3g"))
        #expect(l[2].hasPrefix("R@1\t"))
        let k2 = try sluice(["test", fixture("softmax.bin"), fixture("lang.test"), "2"])
        #expect(k2.stdout.contains("P@2\t"))
    }

    @Test("supervised writes .bin and .vec; quantize writes .ftz; both load and predict")
    func trainAndQuantize() throws {
        let dir = TemporaryDirectory()
        let out = dir.file("m")
        let r = try sluice([
            "supervised", "-input", fixture("lang.train"), "-output", out, "-dim", "8", "-epoch", "1", "-lr", "0.5",
            "-wordNgrams", "2", "-bucket", "2000", "-minn", "2", "-maxn", "3", "-loss", "hs", "-thread", "2", "-verbose", "2",
        ])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("Number of labels: 13"))
        #expect(r.stderr.contains("Progress: 100.0%"))
        #expect(FileManager.default.fileExists(atPath: out + ".bin"))
        #expect(FileManager.default.fileExists(atPath: out + ".vec"))
        let model = try FastTextModel(contentsOf: out + ".bin")
        #expect(model.args.loss == .hs && model.args.dim == 8 && model.args.minn == 2 && model.args.maxn == 3)
        let q = try sluice(["quantize", "-output", out, "-input", fixture("lang.train"), "-qnorm", "-cutoff", "1000", "-retrain", "-epoch", "1", "-thread", "1", "-verbose", "0"])
        #expect(q.status == 0, "\(q.stderr)")
        let ftz = try FastTextModel(contentsOf: out + ".ftz")
        #expect(ftz.isQuantized && ftz.dictionary.isPruned)
        let t = try sluice(["test", out + ".ftz", fixture("lang.test")])
        #expect(t.status == 0)
        #expect(t.stdout.hasPrefix("N\t400"))
    }

    @Test("bad usage exits with status 2 and says what is wrong")
    func badUsage() throws {
        let noArgs = try sluice(["predict"])
        #expect(noArgs.status == 2)
        #expect(noArgs.stderr.contains("usage"))
        let unknown = try sluice(["supervised", "-input", fixture("lang.train"), "-output", "/tmp/x", "-bogus", "1"])
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("Unknown argument: -bogus"))
        let loss = try sluice(["supervised", "-input", fixture("lang.train"), "-output", "/tmp/x", "-loss", "magic"])
        #expect(loss.status == 2)
        #expect(loss.stderr.contains("Unknown loss: magic"))
        let missing = try sluice(["supervised", "-input", fixture("lang.train")])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("Empty input or output path"))
        let badModel = try sluice(["predict", fixture("lang.test"), fixture("probe.txt")])
        #expect(badModel.status == 1)
        #expect(badModel.stderr.contains("not a fastText model"))
        let command = try sluice(["frobnicate"])
        #expect(command.status == 2)
    }
}
