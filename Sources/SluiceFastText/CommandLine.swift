#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// `sluice fasttext …`: fastText's own command line (`supervised`, `predict`, `predict-prob`,
/// `test`, `quantize`) with the official flags and output formats.
public enum FastTextCommandLine {
    public static let usage = """
        usage: sluice fasttext <command> <args>

        The commands supported by fasttext are:

          supervised              train a supervised classifier
          quantize                quantize a model to reduce the memory usage
          test                    evaluate a supervised classifier
          predict                 predict most likely labels
          predict-prob            predict most likely labels with probabilities

        """

    static let predictUsage = """
        usage: sluice fasttext predict[-prob] <model> <test-data> [<k>] [<th>]

          <model>      model filename
          <test-data>  test data filename (if -, read from stdin)
          <k>          (optional; 1 by default) predict top k labels
          <th>         (optional; 0.0 by default) probability threshold

        """

    static let testUsage = """
        usage: sluice fasttext test <model> <test-data> [<k>] [<th>]

          <model>      model filename
          <test-data>  test data filename (if -, read from stdin)
          <k>          (optional; 1 by default) predict top k labels
          <th>         (optional; 0.0 by default) probability threshold

        """

    /// Runs one command; `arguments[0]` is the command (`predict`, `supervised`, …). Output
    /// goes to standard output, messages to standard error. Returns the exit status: 0 on
    /// success, 1 on failure, 2 on bad usage.
    public static func run(_ arguments: [String]) -> Int32 {
        guard let command = arguments.first else {
            printError(usage)
            return 2
        }
        do {
            switch command {
            case "predict", "predict-prob":
                return try predict(arguments)
            case "test":
                return try test(arguments)
            case "supervised":
                return try supervised(arguments)
            case "quantize":
                return try quantize(arguments)
            case "-h", "--help", "help":
                printError(usage)
                return 0
            default:
                printError("unknown command: \(command)\n" + usage)
                return 2
            }
        } catch let e as FastTextArgumentError {
            printError(e.message)
            return 2
        } catch {
            printError("error: \(error)")
            return 1
        }
    }

    // MARK: predict, predict-prob

    static func parseK(_ s: String) throws -> Int {
        guard let k = Int(s) else { throw FastTextArgumentError("k must be an integer, got '\(s)'\n" + predictUsage) }
        guard k > 0 || k == -1 else { throw FastTextArgumentError("k needs to be 1 or higher (or -1 for all labels), got \(k)") }
        return k
    }

    static func parseThreshold(_ s: String) throws -> Float {
        guard let t = Float(s) else { throw FastTextArgumentError("threshold must be a number, got '\(s)'") }
        return t
    }

    static func predict(_ args: [String]) throws -> Int32 {
        guard args.count >= 3 && args.count <= 5 else {
            printError(predictUsage)
            return 2
        }
        let printProb = args[0] == "predict-prob"
        let k = args.count > 3 ? try parseK(args[3]) : 1
        let threshold = args.count > 4 ? try parseThreshold(args[4]) : 0
        let model = try FastTextModel(contentsOf: args[1])
        guard model.args.model == .supervised else {
            throw FastTextError("\(args[1]) is not a supervised model; predict needs one trained with `supervised`")
        }
        var input = try ChunkedLineInput(path: args[2])
        var out = FDOutput(fd: 1)
        var scratch = FastTextScratch()
        let labelBytes = model.labels.map { Array($0.utf8) }
        while try input.next({ chunk in
            guard let base = chunk.baseAddress else { return }
            var pos = 0
            while pos < chunk.count {
                pos = model.readFileLine(base, count: chunk.count, from: pos, scratch: &scratch)
                let n = model.computeHidden(&scratch) ? model.topLabels(k: k, threshold: threshold, scratch: &scratch) : 0
                for i in 0..<n {
                    if i > 0 { out.byte(32) }
                    let p = scratch.predictions[i]
                    out.bytes(labelBytes[Int(p.label)])
                    if printProb {
                        out.byte(32)
                        out.general(Double(p.probability), precision: 6)
                    }
                }
                out.byte(10)
            }
        }) {}
        out.flush()
        return out.failed ? 1 : 0
    }

    // MARK: test

    static func test(_ args: [String]) throws -> Int32 {
        guard args.count >= 3 && args.count <= 5 else {
            printError(testUsage)
            return 2
        }
        let k = args.count > 3 ? try parseK(args[3]) : 1
        let threshold = args.count > 4 ? try parseThreshold(args[4]) : 0
        let model = try FastTextModel(contentsOf: args[1])
        guard model.args.model == .supervised else {
            throw FastTextError("\(args[1]) is not a supervised model; test needs one trained with `supervised`")
        }
        let result = try model.test(path: args[2], k: k, threshold: threshold)
        var out = FDOutput(fd: 1)
        out.text("N\t\(result.examples)\n")
        out.text("P@\(k)\t\(formatC(result.precision, "%.3g"))\n")
        out.text("R@\(k)\t\(formatC(result.recall, "%.3g"))\n")
        out.flush()
        return out.failed ? 1 : 0
    }
}

/// Bad command-line usage (exit status 2).
struct FastTextArgumentError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

/// The result of ``FastTextModel/test(path:k:threshold:)``: precision and recall at k.
public struct FastTextTestResult: Sendable, Equatable {
    /// Lines with at least one known label and one input row.
    public var examples: Int
    public var predicted: Int
    public var gold: Int
    public var correct: Int
    public var precision: Double { Double(correct) / Double(predicted) }
    public var recall: Double { Double(correct) / Double(gold) }
}

extension FastTextModel {
    /// Reads one line of a file the way fastText's command line does (a newline ends it and
    /// becomes `</s>`); returns where the next line starts.
    func readFileLine(_ base: UnsafePointer<UInt8>, count: Int, from pos: Int, scratch: inout FastTextScratch) -> Int {
        scratch.fit(self)
        return dictionary.readLine(base, count: count, from: pos, newlineEndsLine: true, eosAtEnd: false, features, &scratch.line).end
    }

    /// Precision and recall at `k` on a labelled file (or `-` for standard input), as
    /// `fasttext test` computes them.
    public func test(path: String, k: Int = 1, threshold: Float = 0) throws -> FastTextTestResult {
        var input = try ChunkedLineInput(path: path)
        var scratch = FastTextScratch()
        var r = FastTextTestResult(examples: 0, predicted: 0, gold: 0, correct: 0)
        while try input.next({ chunk in
            guard let base = chunk.baseAddress else { return }
            var pos = 0
            while pos < chunk.count {
                pos = readFileLine(base, count: chunk.count, from: pos, scratch: &scratch)
                if scratch.line.labels.isEmpty || scratch.line.rows.isEmpty { continue }
                _ = computeHidden(&scratch)
                let n = topLabels(k: k, threshold: threshold, scratch: &scratch)
                r.examples += 1
                r.gold += scratch.line.labels.count
                r.predicted += n
                for i in 0..<n where scratch.line.labels.contains(scratch.predictions[i].label) {
                    r.correct += 1
                }
            }
        }) {}
        return r
    }
}
