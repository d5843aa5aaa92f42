import Foundation
import SluiceCore
import SluiceTestSupport
import Testing

@testable import SluiceFastText

@Suite("language_id and fasttext_classifier stages")
struct StageTests {
    static let german = "Das Programm zeigt die Dateien im aktuellen Verzeichnis an und sortiert sie nach dem Namen."
    static let french = "Cette commande affiche les fichiers du répertoire courant et les trie par nom."
    static let english = "This command lists the files in the current directory and sorts them by name."

    func docs(_ texts: String...) -> [Document] {
        texts.enumerated().map { Document(id: "d\($0.offset)", text: $0.element) }
    }

    @Test("language_id writes the language and its score as fastText predicts them")
    func writesLanguage() throws {
        let stage = try makeStage(LanguageID.self, #"{"model": "\#(fixture("hs.bin"))", "threshold": 0}"#)
        let r = try run(stage, docs(Self.german, Self.french, "Das Programm\nzeigt die Dateien\nim Verzeichnis"))
        #expect(r.kept.count == 3)
        let model = try FastTextModel(contentsOf: fixture("hs.bin"))
        for d in r.kept {
            let top = try #require(model.predict(d.text.replacingOccurrences(of: "\n", with: " "), k: 1).first)
            #expect(d.metadata["language"]?.stringValue == String(top.label.dropFirst(9)))
            let score = try #require(d.metadata["language_score"]?.doubleValue)
            #expect(Float(score) == top.probability)
        }
        #expect(r.kept[0].metadata["language"]?.stringValue == "de")
    }

    @Test("language_id keeps only the listed languages above the threshold, with reasons for the rest")
    func filters() throws {
        let stage = try makeStage(LanguageID.self, #"{"model": "\#(fixture("hs.bin"))", "languages": ["de", "__label__en"], "threshold": 0.3}"#)
        let r = try run(stage, docs(Self.german, Self.french, Self.english, "xq zv"))
        #expect(r.kept.map(\.id).contains("d0"))
        #expect(!r.kept.map(\.id).contains("d1"))
        #expect(r.drops["language_not_allowed", default: 0] >= 1)
        #expect(r.kept.allSatisfy { ["de", "en"].contains($0.metadata["language"]?.stringValue ?? "") })
        #expect(r.kept.allSatisfy { ($0.metadata["language_score"]?.doubleValue ?? 0) > 0.3 })
        // A threshold no document reaches drops everything for its score.
        let strict = try makeStage(LanguageID.self, #"{"model": "\#(fixture("hs.bin"))", "threshold": 1.0}"#)
        let s = try run(strict, docs(Self.german, Self.french))
        #expect(s.kept.isEmpty)
        #expect(s.drops["low_language_score"] == 2)
    }

    @Test("language_id with label_only annotates and drops nothing")
    func labelOnly() throws {
        let stage = try makeStage(LanguageID.self, #"{"model": "\#(fixture("hs.bin"))", "languages": ["ja"], "label_only": true}"#)
        let r = try run(stage, docs(Self.german, Self.french))
        #expect(r.kept.count == 2)
        #expect(r.kept.allSatisfy { $0.metadata["language"] != nil })
    }

    @Test("language_id configuration errors are clear")
    func languageConfigErrors() {
        #expect(configurationError(LanguageID.self, "{}")?.contains("needs model") == true)
        #expect(configurationError(LanguageID.self, #"{"model": "/nonexistent/lid.176.ftz"}"#)?.contains("setup-models.sh") == true)
        #expect(configurationError(LanguageID.self, #"{"model": "\#(fixture("hs.bin"))", "languages": ["xx"]}"#)?.contains("not a label") == true)
        #expect(configurationError(LanguageID.self, #"{"model": "\#(fixture("hs.bin"))", "languages": []}"#)?.contains("empty") == true)
        #expect(configurationError(LanguageID.self, #"{"model": "\#(fixture("hs.bin"))", "threshold": 2}"#)?.contains("threshold") == true)
    }

    @Test("every language_id and fasttext_classifier option is documented and read")
    func options() throws {
        for option in LanguageID.options where option.name != "model" {
            let json = #"{"model": "x", "\#(option.name)": {"not": ["valid"]}}"#
            #expect(throws: (any Error).self, "\(option.name)") {
                _ = try JSONDecoder().decode(LanguageID.Configuration.self, from: Data(json.utf8))
            }
        }
        for option in FastTextClassifier.options where option.name != "model" {
            let json = #"{"model": "x", "\#(option.name)": {"not": ["valid"]}}"#
            #expect(throws: (any Error).self, "\(option.name)") {
                _ = try JSONDecoder().decode(FastTextClassifier.Configuration.self, from: Data(json.utf8))
            }
        }
        #expect(LanguageID.options.first { $0.name == "threshold" }?.defaultValue == "0.65")
    }

    @Test("language_id with lid.176.ftz recognises languages and drops the others", .enabled(if: lid176Path != nil, Comment(rawValue: lid176Missing)))
    func lid176Stage() throws {
        let path = try #require(lid176Path)
        let stage = try makeStage(LanguageID.self, #"{"model": "\#(path)", "languages": ["en"]}"#)
        let r = try run(stage, docs(Self.english, Self.german, Self.french, "Это русский текст о файлах и каталогах."))
        #expect(r.kept.map(\.id) == ["d0"])
        #expect(r.kept[0].metadata["language"]?.stringValue == "en")
        #expect(r.drops["language_not_allowed"] == 3)
        // Loaded once: a second stage shares the model.
        let again = try makeStage(LanguageID.self, #"{"model": "\#(path)"}"#)
        #expect(again.model === stage.model)
    }

    @Test("fasttext_classifier writes every label's probability under its key")
    func classifierObject() throws {
        let stage = try makeStage(FastTextClassifier.self, #"{"model": "\#(fixture("softmax.bin"))", "key": "quality.lang"}"#)
        let r = try run(stage, docs(Self.german))
        let o = try #require(r.kept.first?.metadata.value(atPath: "quality.lang")?.objectValue)
        let model = try FastTextModel(contentsOf: fixture("softmax.bin"))
        #expect(o.count == model.labels.count)
        let full = model.predict(Self.german, k: -1)
        for (label, p) in full {
            #expect(o[String(label.dropFirst(9))]?.doubleValue.map { Float($0) } == p)
        }
        let some = try makeStage(FastTextClassifier.self, #"{"model": "\#(fixture("softmax.bin"))", "labels": ["de", "fr"]}"#)
        let s = try run(some, docs(Self.german))
        #expect(s.kept.first?.metadata["fasttext"]?.objectValue?.keys == ["de", "fr"])
    }

    @Test("fasttext_classifier scores one label DCLM's way and keeps documents at or above the threshold")
    func classifierScore() throws {
        let model = try FastTextModel(contentsOf: fixture("softmax.bin"))
        let stage = try makeStage(
            FastTextClassifier.self, #"{"model": "\#(fixture("softmax.bin"))", "key": "de_prob", "score_label": "de", "keep_threshold": 0.5}"#)
        let r = try run(stage, docs(Self.german, Self.french, "Das Programm\n  zeigt\u{2028}die Dateien  "))
        #expect(r.kept.map(\.id).contains("d0"))
        #expect(!r.kept.map(\.id).contains("d1"))
        #expect(r.drops["below_threshold", default: 0] >= 1)
        for d in r.kept {
            let score = try #require(d.metadata["de_prob"]?.doubleValue)
            #expect(score >= 0.5)
            // DCLM: p if the top label is the one scored, else 1 - p, on the joined lines.
            let joined = d.text.split(whereSeparator: { $0 == "\n" || $0 == "\u{2028}" }).joined(separator: " ").trimmingCharacters(in: .whitespaces)
            let top = try #require(model.predict(joined, k: 1).first)
            let expected = top.label == "__label__de" ? top.probability : 1 - top.probability
            #expect(Float(score) == expected)
        }
    }

    @Test("fasttext_classifier configuration errors are clear")
    func classifierConfigErrors() {
        let m = fixture("softmax.bin")
        #expect(configurationError(FastTextClassifier.self, #"{"model": "\#(m)", "keep_threshold": 0.5}"#)?.contains("needs score_label") == true)
        #expect(configurationError(FastTextClassifier.self, #"{"model": "\#(m)", "score_label": "nope"}"#)?.contains("not a label") == true)
        #expect(configurationError(FastTextClassifier.self, #"{"model": "\#(m)", "text_preparation": "raw"}"#)?.contains("dclm") == true)
        #expect(configurationError(FastTextClassifier.self, #"{"model": "\#(m)", "key": "a..b"}"#)?.contains("metadata path") == true)
        #expect(configurationError(FastTextClassifier.self, #"{"model": "/nonexistent.bin"}"#)?.contains("/nonexistent.bin") == true)
    }
}
