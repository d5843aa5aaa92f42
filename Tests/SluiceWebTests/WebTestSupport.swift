import Foundation
import SluiceCore
import SluiceIO
import SluiceTestSupport
import SluiceWeb
import Testing

/// The web fixtures folder (built by scripts/make_web_fixtures.py).
func fixture(_ name: String) -> String { packageRoot() + "/Tests/Fixtures/web/" + name }

/// The fixtures' manifest (expectations written by the generator).
func fixtureManifest() throws -> JSONObject {
    let bytes = try readFile(fixture("manifest.json"))
    guard case .object(let o) = try parseJSONValue(bytes) else { throw FixtureError() }
    return o
}

struct FixtureError: Error {}

/// Everything a reader returned for one file.
struct ReadAll {
    var documents: [Document] = []
    var skipped: [String: Int] = [:]
    var problems: [WARCProblem] = []
    var ignored: [String: Int] = [:]
    var lost: Int { problems.filter(\.lostRecord).count }
    var ids: [String] { documents.map(\.id) }
    func document(_ id: String) -> Document? { documents.first { $0.id == id } }
}

func readAll(_ path: String, _ options: WARCReaderOptions = WARCReaderOptions()) throws -> ReadAll {
    let reader = try WARCDocumentReader(path: path, options: options)
    var r = ReadAll()
    while let x = try reader.next() {
        switch x {
        case .document(let d): r.documents.append(d)
        case .skipped(let reason, _): r.skipped[reason.name, default: 0] += 1
        case .damaged(let p): r.problems.append(p)
        case .ignored(let c): r.ignored[c, default: 0] += 1
        }
    }
    return r
}

extension JSONValue {
    subscript(_ key: String) -> JSONValue? { objectValue?[key] }
    var string: String { stringValue ?? "" }
}

/// Runs a stage on documents and returns the kept ones and the drop counts.
func runStage<S: Stage>(_ stage: S, _ documents: [Document]) throws -> (kept: [Document], drops: [String: Int], stats: StageStats) {
    var batch = DocumentBatch(sequence: 0, documents: documents)
    var stats = StageStats()
    try stage.process(&batch, stats: &stats)
    var drops: [String: Int] = [:]
    for (k, v) in batch.takeDropCounts() { drops[k.name] = v }
    return (batch.documents, drops, stats)
}

/// Whitespace (no-break spaces included) collapsed to single spaces, trimmed.
func normalized(_ s: String) -> String {
    s.replacingOccurrences(of: "\u{00A0}", with: " ").split(whereSeparator: \.isWhitespace).joined(separator: " ")
}
