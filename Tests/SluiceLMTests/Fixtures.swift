import Foundation
import SluiceIO
import SluiceTestSupport

@testable import SluiceLM

/// Paths and readers for Tests/Fixtures/lm (see PROVENANCE.md there).
enum LMFixtures {
    static func path(_ name: String) -> String { packageRoot() + "/Tests/Fixtures/lm/" + name }

    /// The whole (decompressed when .zst or .gz) contents of a fixture.
    static func bytes(_ name: String) throws -> [UInt8] {
        try decompressedBytes(path(name))
    }

    static func decompressedBytes(_ path: String) throws -> [UInt8] {
        let source = try ByteSource(path: path)
        defer { source.close() }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = try buffer.withUnsafeMutableBytes { try source.read(into: $0) }
            if n == 0 { break }
            out.append(contentsOf: buffer[0..<n])
        }
        return out
    }

    static func model(_ name: String) throws -> NGramModel {
        if name.hasSuffix(".zst") {
            return try NGramModel(arpa: bytes(name), name: name)
        }
        return try NGramModel(contentsOf: path(name))
    }

    /// JSON lines of a fixture as dictionaries.
    static func jsonLines(_ name: String) throws -> [[String: Any]] {
        let text = String(decoding: try bytes(name), as: UTF8.self)
        return try text.split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
    }

    /// The scoring model, loaded once.
    static let prose4: NGramModel = try! model("prose4.arpa.zst")
}

/// Parses ARPA text into `[n-gram: (log10 p, log10 backoff?)]` (test-side, straightforward).
func parseARPA(_ bytes: [UInt8]) -> [String: (Double, Double?)] {
    var out: [String: (Double, Double?)] = [:]
    var order = 0
    for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
        if line.hasPrefix("\\") {
            if line.hasSuffix("-grams:"), let n = Int(line.dropFirst().prefix { $0.isNumber }) { order = n } else { order = 0 }
            continue
        }
        guard order > 0 else { continue }
        let parts = line.split(separator: "\t")
        guard parts.count >= 2 else { continue }
        out[String(parts[1])] = (Double(parts[0])!, parts.count > 2 ? Double(parts[2])! : nil)
    }
    return out
}
