import Foundation
import SluiceCore
import SluicePipeline
import Testing

// MARK: - Test-only stages

/// Bounds on length; synthesized `Decodable` with Swift-style names, read as snake case.
private struct TestLengthFilter: FilterStage {
    struct Configuration: Decodable, Sendable {
        var minChars: Int?
        var maxChars: Int?
        var minWords: Int?
        var maxWords: Int?
        var minLines: Int?
        var maxLines: Int?
    }
    static let type = "length_filter"
    static let summary = "Test length filter."
    static let options: [StageOption] = [
        StageOption("min_words", "int", default: "null", help: "Fewest words."),
        StageOption("max_words", "int", default: "null", help: "Most words."),
    ]
    let configuration: Configuration
    init(configuration: Configuration) throws {
        if let a = configuration.minWords, let b = configuration.maxWords, a > b {
            throw StageConfigurationError("min_words (\(a)) is greater than max_words (\(b))")
        }
        self.configuration = configuration
    }
    func filter(_ document: Document) -> Verdict { .keep }
}

/// A required option, a list, a number with a default.
private struct TestLanguageID: FilterStage {
    struct Configuration: Decodable, Sendable {
        var model: String
        var languages: [String]
        var threshold: Double

        enum CodingKeys: String, CodingKey { case model, languages, threshold }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            model = try c.decode(String.self, forKey: .model)
            languages = try c.decodeIfPresent([String].self, forKey: .languages) ?? ["en"]
            threshold = try c.decodeIfPresent(Double.self, forKey: .threshold) ?? 0.65
        }
    }
    static let type = "language_id"
    static let summary = "Test language id."
    static let options: [StageOption] = [
        StageOption("model", "string", help: "Path of the fastText model."),
        StageOption("languages", "[string]", default: "[en]", help: "Languages to keep."),
        StageOption("threshold", "number", default: "0.65", help: "Lowest score kept."),
    ]
    let configuration: Configuration
    init(configuration: Configuration) throws { self.configuration = configuration }
    func filter(_ document: Document) -> Verdict { .keep }
}

/// Free-form JSON values.
private struct TestAddMetadata: MapperStage {
    struct Configuration: Decodable, Sendable {
        var fields: JSONValue
        var overwrite: Bool?
    }
    static let type = "add_metadata"
    static let summary = "Test metadata."
    static let options: [StageOption] = []
    let configuration: Configuration
    init(configuration: Configuration) throws { self.configuration = configuration }
    func map(_ document: inout Document) -> Verdict { .keep }
}

/// Nested structs, enums, sizes, dictionaries and an error from `init(from:)`.
private struct TestDedup: Stage {
    enum Mode: String, Decodable, Sendable, CaseIterable { case exact, minhash }
    struct Endpoint: Decodable, Sendable {
        var baseURL: String
        var timeoutS: Double?
    }
    struct Configuration: Decodable, Sendable {
        var mode: Mode
        var bufferSize: ByteSize?
        var endpoint: Endpoint?
        var weights: [String: Int]?
        var bands: Int?

        enum CodingKeys: String, CodingKey {
            case mode, endpoint, weights, bands
            case bufferSize = "buffer_size"
        }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            mode = try c.decode(Mode.self, forKey: .mode)
            bufferSize = try c.decodeIfPresent(ByteSize.self, forKey: .bufferSize)
            endpoint = try c.decodeIfPresent(Endpoint.self, forKey: .endpoint)
            weights = try c.decodeIfPresent([String: Int].self, forKey: .weights)
            bands = try c.decodeIfPresent(Int.self, forKey: .bands)
            if mode == .exact, bands != nil {
                throw StageConfigurationError("bands only applies to mode minhash")
            }
        }
    }
    static let type = "dedup"
    static let summary = "Test dedup."
    static let options: [StageOption] = []
    static let isStateless = false
    let configuration: Configuration
    init(configuration: Configuration) throws { self.configuration = configuration }
    func process(_ batch: inout DocumentBatch, stats: inout StageStats) throws {}
}

private let testRegistry: StageRegistry = {
    var r = StageRegistry()
    r.register(TestLengthFilter.self)
    r.register(TestLanguageID.self)
    r.register(TestAddMetadata.self)
    r.register(TestDedup.self)
    return r
}()

private let testLoader = PipelineLoader(registry: testRegistry)

/// Loads `yaml` as `pipeline.yaml` with the test stages.
private func load(_ yaml: String, overrides: [String] = [], env: [String: String] = [:]) throws -> LoadedPipeline {
    try testLoader.load(yaml: yaml, path: "pipeline.yaml", overrides: overrides, environment: env)
}

/// The message loading `yaml` fails with, or nil when it loads.
private func loadError(_ yaml: String, overrides: [String] = [], env: [String: String] = [:]) -> String? {
    do {
        _ = try load(yaml, overrides: overrides, env: env)
        return nil
    } catch let error as PipelineError {
        return error.description
    } catch {
        return "not a PipelineError: \(error)"
    }
}

/// A pipeline around `stages` (indented list items).
private func pipeline(stages: String, extra: String = "") -> String {
    """
    name: test
    input:
      type: jsonl
      paths: data/a.jsonl
    stages:
    \(stages)
    output:
      path: out/test
    \(extra)
    """
}

// MARK: - Loading

@Test func aGoodPipelineLoadsWithItsStagesAndSettings() throws {
    let yaml = """
        name: quickstart
        description: The quickstart.
        input:
          type: jsonl
          paths: ["SampleData/*.jsonl.zst", "more/"]
        stages:
          - type: length_filter
            min_words: 50
          - id: english
            type: language_id
            model: ${SLUICE_MODELS}/lid.176.ftz
            languages: [en]
        output:
          path: out/quickstart
          max_shard_bytes: 256MB
          compression_level: 3
          rejected: true
        run:
          tasks: 4
          workers: 2
        """
    let p = try load(yaml, env: ["SLUICE_MODELS": "/models"])
    #expect(p.spec.name == "quickstart")
    #expect(p.spec.description == "The quickstart.")
    #expect(p.spec.input.type == .jsonl)
    #expect(p.spec.input.paths == ["SampleData/*.jsonl.zst", "more/"])
    #expect(p.spec.input.textKey == "text")
    #expect(p.spec.input.idKey == "id")
    #expect(p.spec.input.source == nil)
    #expect(p.spec.input.maxLineBytes.bytes == 32 << 20)
    #expect(p.spec.output.path == "out/quickstart")
    #expect(p.spec.output.maxShardBytes.bytes == 256_000_000)
    #expect(p.spec.output.compressionLevel == 3)
    #expect(p.spec.output.rejected)
    #expect(p.spec.run.tasks == 4)
    #expect(p.spec.run.workers == 2)
    #expect(p.spec.run.batchSize == 1000)
    #expect(!p.spec.hasExplicitSteps)
    #expect(p.steps.count == 1)
    #expect(p.steps[0].name == "quickstart")
    #expect(p.stages.map(\.id) == ["length_filter", "english"])
    #expect(p.stages.map(\.type) == ["length_filter", "language_id"])
    let length = try #require(p.stages[0].stage as? TestLengthFilter)
    #expect(length.configuration.minWords == 50)
    #expect(length.configuration.maxWords == nil)
    let lid = try #require(p.stages[1].stage as? TestLanguageID)
    #expect(lid.configuration.model == "/models/lid.176.ftz")
    #expect(lid.configuration.languages == ["en"])
    #expect(lid.configuration.threshold == 0.65)
    #expect(p.yamlText == yaml)
}

@Test func defaultsApplyWhenOptionalBlocksAreAbsent() throws {
    let p = try load(pipeline(stages: "  - type: length_filter\n    max_words: 10"))
    #expect(p.spec.run.tasks == 1)
    #expect(p.spec.run.workers == ProcessInfo.processInfo.activeProcessorCount)
    #expect(p.spec.run.batchSize == 1000)
    #expect(p.spec.output.compressionLevel == 3)
    #expect(p.spec.output.rejected == false)
    #expect(p.spec.input.paths == ["data/a.jsonl"])
}

@Test func aPipelineFileLoadsFromDiskAndAMissingFileIsNamed() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-loader-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let file = dir.appendingPathComponent("p.yaml").path
    try pipeline(stages: "  - type: length_filter\n    min_words: 1").write(toFile: file, atomically: true, encoding: .utf8)
    let p = try testLoader.load(path: file, environment: [:])
    #expect(p.stages.count == 1)
    let v = try testLoader.validate(path: file, overrides: ["run.tasks=3"], environment: [:])
    #expect(v.spec.run.tasks == 3)
    #expect(v.overrides == ["run.tasks=3"])

    #expect(throws: PipelineError.self) { try PipelineLoader.load(path: dir.appendingPathComponent("nope.yaml").path) }
    #expect(throws: PipelineError.self) { try PipelineLoader.validate(path: dir.path) }
    do {
        _ = try testLoader.load(path: dir.path + "/nope.yaml", environment: [:])
    } catch let e as PipelineError {
        #expect(e.description.contains("does not exist"))
    }
}

// MARK: - Unknown keys and types

@Test func aTypoedStageKeyGivesLineColumnAllowedKeysAndASuggestion() {
    let yaml = pipeline(stages: "  - type: length_filter\n    id: x\n    min_word: 10")
    #expect(
        loadError(yaml)
            == "pipeline.yaml:8:5: unknown key 'min_word' in stage 'length_filter' (id 'x'); allowed: id, max_chars, max_lines, max_words, min_chars, min_lines, min_words, type; did you mean 'min_words'?"
    )
}

@Test func aTypoOfARequiredKeyIsReportedAsTheTypoNotAsAMissingKey() {
    let yaml = pipeline(stages: "  - type: language_id\n    modle: lid.ftz")
    let e = loadError(yaml)
    #expect(e?.hasPrefix("pipeline.yaml:7:5: unknown key 'modle' in stage 'language_id'; allowed: ") == true)
    #expect(e?.hasSuffix("did you mean 'model'?") == true)
}

@Test func unknownKeysAreErrorsAtEveryLevel() {
    #expect(
        loadError(pipeline(stages: "  - type: length_filter\n    min_words: 1", extra: "stagse: []"))?
            .hasPrefix("pipeline.yaml:10:1: unknown key 'stagse' in the pipeline; allowed: description, input, name, output, run, slurm, stages, steps; did you mean 'stages'?") == true)
    #expect(
        loadError(pipeline(stages: "  - type: length_filter\n    min_words: 1", extra: "run:\n  task: 2"))
            == "pipeline.yaml:11:3: unknown key 'task' in 'run'; allowed: batch_size, keep_work, tasks, workers; did you mean 'tasks'?")
    let input = """
        name: t
        input:
          type: jsonl
          paths: [a]
          max_document_bytes: 1MB
        stages: []
        output: {path: o}
        """
    #expect(
        loadError(input)
            == "pipeline.yaml:5:3: unknown key 'max_document_bytes' in 'input'; allowed: id_key, max_line_bytes, paths, source, text_key, type")
    let output = """
        name: t
        input: {type: jsonl, paths: [a]}
        stages: []
        output: {path: o, compresion_level: 4}
        """
    #expect(loadError(output)?.contains("unknown key 'compresion_level' in 'output'") == true)
    #expect(loadError(output)?.contains("did you mean 'compression_level'?") == true)
}

@Test func anUnknownKeyInANestedMappingNamesTheMappingAndTheStage() {
    let yaml = pipeline(stages: "  - type: dedup\n    mode: minhash\n    endpoint:\n      base_url: http://x\n      timeout: 3")
    #expect(
        loadError(yaml)
            == "pipeline.yaml:10:7: unknown key 'timeout' in 'endpoint' of stage 'dedup'; allowed: base_url, timeout_s; did you mean 'timeout_s'?"
    )
}

@Test func anUnknownStageTypeListsTheRegisteredTypes() {
    let e = loadError(pipeline(stages: "  - type: lenght_filter"))
    #expect(
        e == "pipeline.yaml:6:11: unknown stage type 'lenght_filter'; registered types: add_metadata, dedup, language_id, length_filter; did you mean 'length_filter'? (`sluice list-stages` describes them)"
    )
}

@Test func aStageWithoutATypeOrNotAMappingIsAnError() {
    #expect(loadError(pipeline(stages: "  - min_words: 3"))?.contains("pipeline.yaml:6:5: stage 0 in 'stages' has no type") == true)
    #expect(loadError(pipeline(stages: "  - length_filter"))?.contains("write `- type: length_filter`") == true)
}

// MARK: - Types and required keys

@Test func aValueOfTheWrongTypeNamesTheKeyTheExpectedTypeAndTheValue() {
    #expect(
        loadError(pipeline(stages: "  - type: length_filter\n    min_words: ten"))
            == "pipeline.yaml:7:16: 'min_words' must be an integer, got string \"ten\"")
    #expect(
        loadError(pipeline(stages: "  - type: length_filter\n    min_words: \"10\""))
            == "pipeline.yaml:7:16: 'min_words' must be an integer, got string \"10\"")
    #expect(
        loadError(pipeline(stages: "  - type: language_id\n    model: m\n    languages: [en, [fr]]"))
            == "pipeline.yaml:8:21: 'languages[1]' must be a string, got a list")
    #expect(
        loadError(pipeline(stages: "  - type: length_filter\n    min_words: 1", extra: "run:\n  workers: 0"))
            == "pipeline.yaml:11:12: 'run.workers' must be at least 1, got 0")
    #expect(
        loadError(pipeline(stages: "  - type: length_filter\n    min_words: 1", extra: "run: 4"))
            == "pipeline.yaml:10:6: 'run' must be a mapping, got integer 4")
}

@Test func aMissingRequiredKeyIsNamedWithTheMappingsLocation() {
    #expect(
        loadError(pipeline(stages: "  - id: english\n    type: language_id\n    languages: [en]"))
            == "pipeline.yaml:6:5: missing required key 'model' in stage 'language_id' (id 'english') (string: Path of the fastText model.); add `model: …`"
    )
    let noName = """
        input: {type: jsonl, paths: [a]}
        stages: []
        output: {path: o}
        """
    #expect(loadError(noName)?.hasPrefix("pipeline.yaml:1:1: missing required key 'name' in the pipeline") == true)
    let noPath = """
        name: t
        input: {type: jsonl, paths: [a]}
        stages: []
        output: {rejected: true}
        """
    #expect(loadError(noPath)?.hasPrefix("pipeline.yaml:4:9: missing required key 'path' in 'output'") == true)
    let noOutput = """
        name: t
        input: {type: jsonl, paths: [a]}
        stages: []
        """
    #expect(loadError(noOutput)?.hasPrefix("pipeline.yaml:1:1: missing required key 'output' in the pipeline") == true)
}

@Test func anErrorFromAStageInitializerGetsTheStagesLocation() {
    #expect(
        loadError(pipeline(stages: "  - type: length_filter\n    min_words: 5\n    max_words: 2"))
            == "pipeline.yaml:6:5: stage 'length_filter': min_words (5) is greater than max_words (2)")
    #expect(
        loadError(pipeline(stages: "  - type: dedup\n    id: d\n    mode: exact\n    bands: 3"))
            == "pipeline.yaml:6:5: stage 'dedup' (id 'd'): bands only applies to mode minhash")
}

@Test func anEnumValueOutsideItsCasesListsTheCases() {
    #expect(
        loadError(pipeline(stages: "  - type: dedup\n    mode: fuzzy"))
            == "pipeline.yaml:7:11: 'mode' must be one of exact, minhash, got string \"fuzzy\"")
    let input = """
        name: t
        input: {type: parquet, paths: [a]}
        stages: []
        output: {path: o}
        """
    #expect(loadError(input) == "pipeline.yaml:2:15: 'input.type' must be one of jsonl, text, warc, got string \"parquet\"")
}

@Test func inputTypesTakeTheirOwnKeysAndWarcOptionsPassThrough() throws {
    let text = """
        name: t
        input: {type: text, paths: docs/, max_document_bytes: 1MiB, source: mydocs}
        stages: []
        output: {path: o}
        """
    let t = try load(text)
    #expect(t.spec.input.type == .text)
    #expect(t.spec.input.maxDocumentBytes.bytes == 1 << 20)
    #expect(t.spec.input.source == "mydocs")
    #expect(t.spec.input.paths == ["docs/"])
    #expect(t.stages.isEmpty)
    let warc = """
        name: t
        input:
          type: warc
          paths: [crawl/*.warc.gz]
          extractor: trafilatura
          languages: [en]
        stages: []
        output: {path: o}
        """
    let w = try load(warc)
    #expect(w.spec.input.type == .warc)
    #expect(w.spec.input.options.keys == ["extractor", "languages"])
    #expect(w.spec.input.options["extractor"]?.scalar?.text == "trafilatura")
}

// MARK: - Sizes

@Test func sizesReadUnitsAndPlainBytesAndRejectNonsenseAtTheValue() throws {
    func shardBytes(_ value: String) throws -> Int {
        try load(pipeline(stages: "  []", extra: "").replacingOccurrences(of: "  path: out/test", with: "  path: out/test\n  max_shard_bytes: \(value)"))
            .spec.output.maxShardBytes.bytes
    }
    #expect(try shardBytes("256MB") == 256_000_000)
    #expect(try shardBytes("1GiB") == 1 << 30)
    #expect(try shardBytes("64k") == 65536)
    #expect(try shardBytes("1.5MB") == 1_500_000)
    #expect(try shardBytes("1000") == 1000)
    let bad = pipeline(stages: "  []").replacingOccurrences(of: "  path: out/test", with: "  path: out/test\n  max_shard_bytes: 12XB")
    #expect(
        loadError(bad)
            == "pipeline.yaml:9:20: 'output.max_shard_bytes': '12XB' is not a size; write bytes or a number with a unit such as 256MB, 1GiB or 64k"
    )
    let level = pipeline(stages: "  []").replacingOccurrences(of: "  path: out/test", with: "  path: out/test\n  compression_level: 30")
    #expect(loadError(level) == "pipeline.yaml:9:22: 'output.compression_level' must be from 1 to 22, got 30")
    let stage = try load(pipeline(stages: "  - type: dedup\n    mode: exact\n    buffer_size: 2MiB"))
    #expect((stage.stages[0].stage as? TestDedup)?.configuration.bufferSize?.bytes == 2 << 20)
}

// MARK: - JSON values

@Test func jsonValuesDecodeFromNestedYAMLKeepingOrderAndNumberText() throws {
    let yaml = pipeline(
        stages: """
              - type: add_metadata
                fields:
                  dataset: cc-2024
                  version: 2
                  ratio: 1.50
                  big: 1e3
                  hex: 0x1F
                  flags: [a, true, null, "3", ~]
                  nested: {k: v, list: [1, 2.5]}
                  "quoted": 'yes'
            """)
    let p = try load(yaml)
    let stage = try #require(p.stages[0].stage as? TestAddMetadata)
    let fields = try #require(stage.configuration.fields.objectValue)
    #expect(fields.keys == ["dataset", "version", "ratio", "big", "hex", "flags", "nested", "quoted"])
    #expect(fields["dataset"] == .string("cc-2024"))
    #expect(fields["version"] == .number(JSONNumber(uncheckedLiteral: "2")))
    #expect(fields["ratio"] == .number(JSONNumber(uncheckedLiteral: "1.50")))
    #expect(fields["big"] == .number(JSONNumber(uncheckedLiteral: "1e3")))
    #expect(fields["hex"] == .number(JSONNumber(uncheckedLiteral: "31")))
    #expect(fields["flags"] == .array([.string("a"), .bool(true), .null, .string("3"), .null]))
    #expect(fields["nested"] == .object(["k": .string("v"), "list": .array([.int(1), .number(JSONNumber(uncheckedLiteral: "2.5"))])]))
    #expect(fields["quoted"] == .string("yes"))
}

// MARK: - Overrides

@Test func overridesSetValuesByDottedPathAsYAMLScalars() throws {
    let yaml = pipeline(stages: "  - type: length_filter\n    min_words: 50\n  - id: english\n    type: language_id\n    model: m")
    let p = try load(
        yaml,
        overrides: [
            "output.path=/tmp/x", "run.tasks=4", "run.workers=3", "output.rejected=true", "output.max_shard_bytes=1MB",
            "input.paths=[a.jsonl, b.jsonl]",
        ])
    #expect(p.spec.output.path == "/tmp/x")
    #expect(p.spec.run.tasks == 4)
    #expect(p.spec.run.workers == 3)
    #expect(p.spec.output.rejected)
    #expect(p.spec.output.maxShardBytes.bytes == 1_000_000)
    #expect(p.spec.input.paths == ["a.jsonl", "b.jsonl"])
}

@Test func overridesPickStagesByIndexIdOrType() throws {
    let yaml = pipeline(stages: "  - type: length_filter\n    min_words: 50\n  - id: english\n    type: language_id\n    model: m")
    let p = try load(
        yaml,
        overrides: [
            "stages.0.min_words=10", "stages.length_filter.max_words=99", "stages.english.threshold=0.5",
            "stages.english.languages=[en, fr]",
        ])
    let length = try #require(p.stages[0].stage as? TestLengthFilter)
    #expect(length.configuration.minWords == 10)
    #expect(length.configuration.maxWords == 99)
    let lid = try #require(p.stages[1].stage as? TestLanguageID)
    #expect(lid.configuration.threshold == 0.5)
    #expect(lid.configuration.languages == ["en", "fr"])
}

@Test func overridesReachIntoStepsByName() throws {
    let yaml = """
        name: two
        input: {type: jsonl, paths: [a]}
        steps:
          - name: filter
            stages:
              - type: length_filter
                min_words: 1
          - name: dedup
            stages:
              - type: dedup
                mode: exact
        output: {path: out}
        """
    let p = try load(yaml, overrides: ["steps.dedup.stages.0.mode=minhash", "steps.filter.stages.0.min_words=7"])
    #expect((p.steps[1].stages[0].stage as? TestDedup)?.configuration.mode == .minhash)
    #expect((p.steps[0].stages[0].stage as? TestLengthFilter)?.configuration.minWords == 7)
}

@Test func anOverrideOfAnUnknownKeyOrWithAWrongValueIsReportedAsTheOverride() {
    let yaml = pipeline(stages: "  - type: length_filter\n    min_words: 50")
    #expect(
        loadError(yaml, overrides: ["stages.0.min_wrds=3"])
            == "--set stages.0.min_wrds=3: unknown key 'min_wrds' in stage 'length_filter'; allowed: id, max_chars, max_lines, max_words, min_chars, min_lines, min_words, type; did you mean 'min_words'?"
    )
    #expect(
        loadError(yaml, overrides: ["run.tasks=many"]) == "--set run.tasks=many: 'run.tasks' must be an integer, got string \"many\"")
    #expect(loadError(yaml, overrides: ["stages.3.min_words=1"])?.contains("'stages' has 1 item, so there is no index 3") == true)
    #expect(loadError(yaml, overrides: ["stages.englsh.x=1"])?.contains("no item 'englsh' in 'stages'") == true)
    #expect(loadError(yaml, overrides: ["output.path.x=1"])?.contains("cannot set 'x' in 'output.path'") == true)
    #expect(loadError(yaml, overrides: ["run.tasks"])?.contains("--set expects KEY=VALUE") == true)
}

@Test func anOverrideCanAddABlockTheFileLacks() throws {
    let yaml = pipeline(stages: "  - type: length_filter\n    min_words: 50")
    let p = try load(yaml, overrides: ["run.batch_size=64", "description=from the command line"])
    #expect(p.spec.run.batchSize == 64)
    #expect(p.spec.description == "from the command line")
}

// MARK: - Environment

@Test func environmentVariablesExpandWithDefaultsAndRetypePlainScalars() throws {
    let yaml = pipeline(
        stages: "  - type: language_id\n    model: ${MODELS:-/opt/models}/lid.ftz\n    languages: [\"${LANG_A}\"]",
        extra: "run:\n  tasks: ${TASKS}\n  workers: ${WORKERS:-2}")
    let p = try load(yaml, env: ["TASKS": "6", "LANG_A": "de"])
    let lid = try #require(p.stages[0].stage as? TestLanguageID)
    #expect(lid.configuration.model == "/opt/models/lid.ftz")
    #expect(lid.configuration.languages == ["de"])
    #expect(p.spec.run.tasks == 6)
    #expect(p.spec.run.workers == 2)
    let withModels = try load(yaml, env: ["TASKS": "1", "LANG_A": "de", "MODELS": "/m"])
    #expect((withModels.stages[0].stage as? TestLanguageID)?.configuration.model == "/m/lid.ftz")
}

@Test func anUnsetVariableWithoutADefaultIsAnErrorSayingHowToSetIt() {
    let yaml = pipeline(stages: "  - type: language_id\n    model: ${SLUICE_MODELS}/lid.ftz")
    #expect(
        loadError(yaml)
            == "pipeline.yaml:7:12: environment variable 'SLUICE_MODELS' is not set; set it (`export SLUICE_MODELS=…`) or give a default with ${SLUICE_MODELS:-default}"
    )
}

@Test func variablesExpandInOverridesAndADoubleDollarIsLiteral() throws {
    let yaml = pipeline(stages: "  - type: language_id\n    model: a$${NOT_A_VAR}")
    let p = try load(yaml, overrides: ["output.path=${OUT}/x"], env: ["OUT": "/scratch"])
    #expect(p.spec.output.path == "/scratch/x")
    #expect((p.stages[0].stage as? TestLanguageID)?.configuration.model == "a${NOT_A_VAR}")
}

// MARK: - Stage ids and steps

@Test func twoStagesOfTheSameTypeWithoutIdsAskForAnId() {
    let yaml = pipeline(stages: "  - type: length_filter\n    min_words: 1\n  - type: length_filter\n    max_words: 9")
    #expect(
        loadError(yaml)
            == "pipeline.yaml:8:11: two stages of type 'length_filter' in 'stages' (the first at 6:11); a stage's id defaults to its type, so give each its own `id:` (e.g. `id: length_filter_2`)"
    )
    #expect(throws: Never.self) {
        try load(pipeline(stages: "  - type: length_filter\n    min_words: 1\n  - type: length_filter\n    id: long\n    max_words: 9"))
    }
}

@Test func duplicateExplicitStageIdsAreAnError() {
    let yaml = pipeline(stages: "  - type: length_filter\n    id: f\n    min_words: 1\n  - type: language_id\n    id: f\n    model: m")
    #expect(
        loadError(yaml)
            == "pipeline.yaml:10:9: duplicate stage id 'f' in 'stages' (first used at 7:9); stage ids must be unique within a step: change this `id:`"
    )
    #expect(loadError(pipeline(stages: "  - type: length_filter\n    id: a/b\n    min_words: 1"))?.contains("stage id 'a/b' may only contain") == true)
}

@Test func aPipelineHasEitherStagesOrStepsNotBoth() {
    let both = """
        name: t
        input: {type: jsonl, paths: [a]}
        stages: []
        steps:
          - name: s
            stages: []
        output: {path: o}
        """
    #expect(
        loadError(both)
            == "pipeline.yaml:4:1: a pipeline has either 'stages' or 'steps', not both; put these stages into a step of 'steps' or remove 'steps'"
    )
    let neither = """
        name: t
        input: {type: jsonl, paths: [a]}
        output: {path: o}
        """
    #expect(loadError(neither)?.hasPrefix("pipeline.yaml:1:1: the pipeline has no stages") == true)
}

@Test func stepsLayTheirRunAndOutputOverTheTopLevelOnes() throws {
    let yaml = """
        name: two
        input: {type: jsonl, paths: [a]}
        run: {tasks: 8, workers: 2}
        output: {path: out/final, compression_level: 9}
        steps:
          - name: signatures
            run: {tasks: 2}
            output: {path: out/signatures}
            stages:
              - type: dedup
                mode: minhash
          - name: filter
            stages:
              - type: length_filter
                min_words: 3
              - type: dedup
                mode: exact
        """
    let p = try load(yaml)
    #expect(p.spec.hasExplicitSteps)
    #expect(p.steps.map(\.name) == ["signatures", "filter"])
    #expect(p.steps[0].spec.run.tasks == 2)
    #expect(p.steps[0].spec.run.workers == 2)
    #expect(p.steps[0].spec.output.path == "out/signatures")
    #expect(p.steps[0].spec.output.compressionLevel == 9)
    #expect(p.steps[1].spec.run.tasks == 8)
    #expect(p.steps[1].spec.output.path == "out/final")
    #expect(p.spec.output.path == "out/final")
    #expect(p.steps[1].stages.map(\.id) == ["length_filter", "dedup"])
    // Stage ids need only be unique within a step.
    #expect(p.steps[0].stages.map(\.id) == ["dedup"])
}

@Test func stepsNeedUniqueNamesAndAnOutput() {
    let dup = """
        name: t
        input: {type: jsonl, paths: [a]}
        output: {path: o}
        steps:
          - {name: s, stages: []}
          - {name: s, stages: []}
        """
    #expect(loadError(dup) == "pipeline.yaml:6:12: duplicate step name 's' (first used at 5:12); step names must be unique")
    let noOutput = """
        name: t
        input: {type: jsonl, paths: [a]}
        steps:
          - {name: s, stages: []}
        """
    #expect(loadError(noOutput)?.hasPrefix("pipeline.yaml:4:5: step 's' has no output") == true)
    let typo = """
        name: t
        input: {type: jsonl, paths: [a]}
        output: {path: o}
        steps:
          - {name: s, stage: []}
        """
    #expect(loadError(typo) == "pipeline.yaml:5:15: unknown key 'stage' in step 's'; allowed: from, name, output, run, stages; did you mean 'stages'?")
}

// MARK: - YAML problems

@Test func invalidYAMLAndDuplicateKeysAreLocated() {
    #expect(loadError("name: t\ninput: [a\n")?.hasPrefix("pipeline.yaml:3:1: invalid YAML") == true)
    #expect(loadError("name: t\nname: u\n")?.contains("duplicate key 'name'") == true)
    #expect(loadError("") == "pipeline.yaml: the pipeline file is empty; it needs name, input, stages and output (see Pipelines/ for examples)")
    #expect(loadError("- a\n- b\n")?.hasPrefix("pipeline.yaml:1:1: a pipeline file must be a mapping") == true)
}

@Test func mergeKeysShareSettingsBetweenStages() throws {
    let yaml = """
        name: t
        input: {type: jsonl, paths: [a]}
        output: {path: o}
        stages:
          - &lid
            type: language_id
            model: shared.ftz
            threshold: 0.9
          - <<: *lid
            id: lid2
            threshold: 0.3
        """
    let p = try load(yaml)
    let second = try #require(p.stages[1].stage as? TestLanguageID)
    #expect(second.configuration.model == "shared.ftz")
    #expect(second.configuration.threshold == 0.3)
}

// MARK: - Registry

@Test func theRegistryDescribesItsStagesSortedByType() {
    #expect(testRegistry.entries.map(\.type) == ["add_metadata", "dedup", "language_id", "length_filter"])
    let entry = testRegistry.entry(for: "dedup")
    #expect(entry?.isStateless == false)
    #expect(entry?.summary == "Test dedup.")
    #expect(testRegistry.entry(for: "nope") == nil)
}

@Test func theStandardRegistryBuildsTheShippedStages() throws {
    let standard = StageRegistry.standard
    for type in ["length_filter", "add_metadata", "field_filter", "sample", "normalize_whitespace"] {
        #expect(standard.entry(for: type) != nil, "\(type) is not registered")
    }
    let yaml = """
        name: std
        input: {type: jsonl, paths: [a]}
        stages:
          - type: length_filter
            min_words: 3
          - type: add_metadata
            fields: {dataset: test, provenance.version: 2}
        output: {path: o}
        """
    let p = try PipelineLoader().load(yaml: yaml, path: "std.yaml", environment: [:])
    #expect(p.stages.map(\.type) == ["length_filter", "add_metadata"])
    do {
        _ = try PipelineLoader().load(yaml: yaml.replacingOccurrences(of: "min_words", with: "min_word"), path: "std.yaml", environment: [:])
        Issue.record("a typo loaded")
    } catch let e as PipelineError {
        #expect(e.description.hasPrefix("std.yaml:5:5: unknown key 'min_word' in stage 'length_filter'"))
    }
}

@Test func everyShippedPipelineFileValidates() throws {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let dir = root.appendingPathComponent("Pipelines")
    let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }
    #expect(!files.isEmpty)
    for file in files.sorted() {
        do {
            let p = try PipelineLoader.validate(path: dir.appendingPathComponent(file).path, environment: [:])
            #expect(!p.steps.isEmpty)
        } catch {
            Issue.record("\(file): \(error)")
        }
    }
}
