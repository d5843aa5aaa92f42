import Foundation
import SluiceCore
import SluiceFilters
import SluiceTestSupport

/// Reads a JSON Lines fixture from Tests/Fixtures/filters/.
func filterFixture(_ name: String) throws -> [[String: Any]] {
    let path = packageRoot() + "/Tests/Fixtures/filters/" + name
    let bytes = try readFile(path)
    return try String(decoding: bytes, as: UTF8.self).split(separator: "\n").map { line in
        try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
    }
}

/// One document of `datatrove_decisions.jsonl` with datatrove's outcome per filter.
struct DatatroveCase {
    struct Outcome {
        var keep: Bool
        var reason: String?
        var text: String?
    }

    var id: String
    var text: String
    var outcomes: [String: Outcome]

    static func load() throws -> [DatatroveCase] {
        try filterFixture("datatrove_decisions.jsonl").map { row in
            var outcomes: [String: Outcome] = [:]
            for (name, value) in row["datatrove"] as! [String: Any] {
                let v = value as! [String: Any]
                outcomes[name] = Outcome(keep: v["keep"] as! Bool, reason: v["reason"] as? String, text: v["text"] as? String)
            }
            return DatatroveCase(id: row["id"] as! String, text: row["text"] as! String, outcomes: outcomes)
        }
    }
}

/// The verdict's reason, or nil for keep.
func reason(_ v: Verdict) -> String? {
    if case .drop(let r) = v { return r.name }
    return nil
}

/// Builds a stage of `type` with default options plus `json` (a JSON object's members).
func stage<S: Stage>(_ type: S.Type, _ json: String = "") throws -> S {
    try makeStage(type, "{\(json)}")
}

/// Runs `stage` on documents with the given language metadata.
func runTagged<S: Stage>(_ stage: S, _ texts: [(String, String?)]) throws -> StageRun {
    let documents = texts.enumerated().map { i, t -> Document in
        var metadata = JSONObject()
        if let language = t.1 { metadata["language"] = .string(language) }
        return Document(id: "d\(i)", text: t.0, metadata: metadata)
    }
    return try run(stage, documents)
}
