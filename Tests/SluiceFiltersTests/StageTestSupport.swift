import Foundation
import SluiceCore
import SluiceFilters
import Testing

/// The outcome of running a stage on one batch.
struct StageRun {
    var kept: [Document]
    var drops: [DropReason: Int]
    var stats: StageStats
    var keptIDs: [String] { kept.map(\.id) }
    var keptTexts: [String] { kept.map(\.text) }
}

func run<S: Stage>(_ stage: S, _ documents: [Document]) throws -> StageRun {
    var batch = DocumentBatch(sequence: 0, documents: documents)
    var stats = StageStats()
    try stage.process(&batch, stats: &stats)
    let drops = batch.takeDropCounts()
    return StageRun(kept: batch.documents, drops: drops, stats: stats)
}

func docs(_ texts: String...) -> [Document] {
    texts.enumerated().map { Document(id: "d\($0.offset)", text: $0.element) }
}

/// Decodes a stage configuration from JSON text, as the pipeline loader would from YAML.
func decodeConfiguration<S: Stage>(_ type: S.Type, _ json: String) throws -> S.Configuration {
    try JSONDecoder().decode(S.Configuration.self, from: Data(json.utf8))
}

/// Builds a stage from JSON configuration text.
func makeStage<S: Stage>(_ type: S.Type, _ json: String) throws -> S {
    try S(configuration: try decodeConfiguration(type, json))
}

/// The message of the configuration error that building the stage throws, or nil.
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

/// Checks that every option the stage lists is a key its configuration decoder asks for: a
/// value of the wrong type under that key must make decoding fail.
func expectEveryOptionIsRead<S: Stage>(_ type: S.Type, required: String, skipping: Set<String> = [], sourceLocation: SourceLocation = #_sourceLocation) {
    for option in S.options where !skipping.contains(option.name) {
        let prefix = required.isEmpty ? "" : required + ", "
        let json = "{\(prefix)\"\(option.name)\": {\"not\": [\"a valid value\"]}}"
        #expect(throws: (any Error).self, "option \(option.name) is not read", sourceLocation: sourceLocation) {
            _ = try decodeConfiguration(type, json)
        }
    }
}
