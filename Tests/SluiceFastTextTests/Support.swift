import Foundation
import SluiceCore
import SluiceTestSupport
import Testing

@testable import SluiceFastText

/// The fixture folder: tiny models trained by official fastText 0.9.2 (PyPI fasttext-wheel)
/// and their predictions by official fastText, written by `scripts/compare_fasttext.py
/// --write-fixtures`.
let fixtures = packageRoot() + "/Tests/SluiceFastTextTests/Fixtures/"

func fixture(_ name: String) -> String { fixtures + name }

/// What official fastText predicted for the probe lines, per fixture model.
struct Expected: Sendable {
    struct ModelExpectation: Sendable {
        var testPrecision: Double
        var testN: Int
        /// Per probe line: labels and probabilities, best first (k = -1).
        var predictions: [([String], [Double])]
        var params: [String: String]
    }
    var probe: [String]
    var models: [String: ModelExpectation]
    var lidProbe: [String]
    var lid: [([String], [Double])]

    static let shared: Expected = {
        let data = try! Data(contentsOf: URL(fileURLWithPath: fixture("expected.json")))
        let root = try! JSONSerialization.jsonObject(with: data) as! [String: Any]
        func preds(_ any: Any) -> [([String], [Double])] {
            (any as! [[Any]]).map { ($0[0] as! [String], ($0[1] as! [NSNumber]).map(\.doubleValue)) }
        }
        var models: [String: ModelExpectation] = [:]
        for (name, v) in root["models"] as! [String: Any] {
            let m = v as! [String: Any]
            let params = (m["params"] as! [String: Any]).mapValues { "\($0)" }
            models[name] = ModelExpectation(
                testPrecision: (m["test_precision"] as! NSNumber).doubleValue, testN: (m["test_n"] as! NSNumber).intValue,
                predictions: preds(m["predictions"]!), params: params)
        }
        let probe = lines(fixture(root["probe"] as! String))
        var lidProbe: [String] = []
        var lid: [([String], [Double])] = []
        if let l = root["lid176"] as? [String: Any] {
            lidProbe = lines(fixture(l["probe"] as! String))
            lid = preds(l["predictions"]!)
        }
        return Expected(probe: probe, models: models, lidProbe: lidProbe, lid: lid)
    }()
}

/// The lines of a text file (without the final empty one).
func lines(_ path: String) -> [String] {
    let text = try! String(contentsOfFile: path, encoding: .utf8)
    var l = text.components(separatedBy: "\n")
    if l.last == "" { l.removeLast() }
    return l
}

/// Where lid.176.ftz is: $SLUICE_MODELS/lid.176.ftz or models/lid.176.ftz (put there by
/// scripts/setup-models.sh), or nil.
let lid176Path: String? = {
    var candidates: [String] = []
    if let dir = ProcessInfo.processInfo.environment["SLUICE_MODELS"], !dir.isEmpty { candidates.append(dir + "/lid.176.ftz") }
    candidates.append(packageRoot() + "/models/lid.176.ftz")
    return candidates.first { FileManager.default.fileExists(atPath: $0) }
}()

let lid176Missing = "lid.176.ftz not found at $SLUICE_MODELS or models/: run scripts/setup-models.sh to enable these tests"

/// Expects labels to match exactly and probabilities within `tolerance`.
func expectSamePredictions(
    _ ours: [(label: String, probability: Float)], _ labels: [String], _ probs: [Double], tolerance: Double = 1e-5,
    _ context: String, sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(ours.map(\.label) == labels, "labels differ for \(context)", sourceLocation: sourceLocation)
    for (o, p) in zip(ours, probs) {
        #expect(abs(Double(o.probability) - p) <= tolerance, "\(o.label): \(o.probability) vs official \(p) for \(context)", sourceLocation: sourceLocation)
    }
}

/// Trains a small model on the fixture training file with the fixture's flags.
func trainFixtureModel(loss: FastTextLoss, threads: Int = 1, configure: (inout FastTextTrainingOptions) -> Void = { _ in }) throws -> FastTextModel {
    var o = FastTextTrainingOptions(input: fixture("lang.train"))
    o.dim = 8
    o.epoch = 10
    o.lr = 0.5
    o.minCount = 2
    o.bucket = 2000
    o.thread = threads
    o.verbose = 0
    o.loss = loss
    o.wordNgrams = 2
    configure(&o)
    return try FastTextModel.train(o)
}

/// The outcome of running a stage on one batch.
struct StageRun {
    var kept: [Document]
    var drops: [DropReason: Int]
}

func run<S: Stage>(_ stage: S, _ documents: [Document]) throws -> StageRun {
    var batch = DocumentBatch(sequence: 0, documents: documents)
    var stats = StageStats()
    try stage.process(&batch, stats: &stats)
    return StageRun(kept: batch.documents, drops: batch.takeDropCounts())
}

/// Decodes a stage configuration from JSON, as the pipeline loader does from YAML.
func makeStage<S: Stage>(_ type: S.Type, _ json: String) throws -> S {
    try S(configuration: try JSONDecoder().decode(S.Configuration.self, from: Data(json.utf8)))
}

func configurationError<S: Stage>(_ type: S.Type, _ json: String) -> String? {
    do {
        _ = try makeStage(type, json)
        return nil
    } catch let error as StageConfigurationError {
        return error.message
    } catch {
        return "\(error)"
    }
}

func loadError(_ path: String) -> String? {
    do {
        _ = try FastTextModel(contentsOf: path)
        return nil
    } catch let e as FastTextError {
        return e.message
    } catch {
        return "\(error)"
    }
}
