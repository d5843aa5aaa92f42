import Foundation
import SluiceCore

// File access for stage configuration (word lists): at build time only, never per document.

/// The whole file at `path`, or a configuration error naming `option` and the path.
func readWholeFile(_ path: String, option: String) throws -> [UInt8] {
    guard let data = FileManager.default.contents(atPath: path) else {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            throw StageConfigurationError("\(option): \(path) \(isDirectory.boolValue ? "is a folder, not a file" : "cannot be read")")
        }
        throw StageConfigurationError("\(option): \(path) does not exist (relative paths start from \(FileManager.default.currentDirectoryPath))")
    }
    return [UInt8](data)
}

/// The files of a word-list folder as (language code, path): `en` and `en.txt` both give `en`.
func listFolder(_ dir: String) throws -> [(String, String)] {
    guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else {
        throw StageConfigurationError("word_list_dir: \(dir) is not a readable folder")
    }
    var out: [(String, String)] = []
    for name in names.sorted() where !name.hasPrefix(".") {
        let code = name.hasSuffix(".txt") ? String(name.dropLast(4)) : name
        out.append((code, dir + "/" + name))
    }
    guard !out.isEmpty else { throw StageConfigurationError("word_list_dir: \(dir) has no word lists") }
    return out
}
