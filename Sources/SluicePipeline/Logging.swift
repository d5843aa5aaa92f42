import Foundation
import Logging
import SluiceCore
import SluiceIO

/// A swift-log handler that writes to standard error as plain lines (`sluice: message`) or as
/// JSON lines (`{"level":"info","message":"…",…}`) for `--log-format json`.
public struct SluiceLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public let json: Bool

    public init(json: Bool) { self.json = json }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var all = self.metadata
        if let extra = event.metadata { all.merge(extra) { $1 } }
        if json {
            var o = JSONObject()
            o["level"] = .string(event.level.rawValue)
            o["message"] = .string(event.message.description)
            for (k, v) in all.sorted(by: { $0.key < $1.key }) { o[k] = .string("\(v)") }
            var line: [UInt8] = []
            appendJSON(.object(o), to: &line)
            line.append(10)
            writeStderr(String(decoding: line, as: UTF8.self))
        } else {
            let prefix = event.level >= .error ? "sluice: error: " : (event.level == .warning ? "sluice: warning: " : "sluice: ")
            let meta = all.isEmpty ? "" : " " + all.sorted(by: { $0.key < $1.key }).map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            writeStderr(prefix + event.message.description + meta + "\n")
        }
    }
}
