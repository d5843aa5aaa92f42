import SluiceCore

/// The `slurm:` block of a pipeline file: how `sluice slurm submit` asks Slurm for resources.
/// Every key is optional; a command-line option of the same name wins over the file.
///
/// ```yaml
/// slurm:
///   partition: cpu
///   time: "04:00:00"          # Slurm's formats: MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS
///   cpus_per_task: 8          # also the task's workers unless --workers is given
///   mem: 16G
///   qos: normal
///   account: data-team
///   array_limit: 64           # at most this many tasks of one array at once (--array=…%64)
///   extra: "--constraint=ssd --nice=10"   # more sbatch options (a string or a list)
/// ```
public struct SlurmSettings: Sendable, Equatable {
    public var partition: String?
    public var time: String?
    public var cpusPerTask: Int?
    public var mem: String?
    public var qos: String?
    public var account: String?
    public var arrayLimit: Int?
    /// More `sbatch` arguments, one word each.
    public var extra: [String]

    public init(
        partition: String? = nil, time: String? = nil, cpusPerTask: Int? = nil, mem: String? = nil, qos: String? = nil,
        account: String? = nil, arrayLimit: Int? = nil, extra: [String] = []
    ) {
        self.partition = partition
        self.time = time
        self.cpusPerTask = cpusPerTask
        self.mem = mem
        self.qos = qos
        self.account = account
        self.arrayLimit = arrayLimit
        self.extra = extra
    }

    /// The block's keys, for messages and documentation.
    public static let keys: [StageOption] = [
        StageOption("partition", "string", default: "null", help: "sbatch --partition: the partition (queue) to run in."),
        StageOption("time", "string", default: "null", help: "sbatch --time: each task's time limit, e.g. \"04:00:00\" or \"1-00:00:00\"."),
        StageOption("cpus_per_task", "int", default: "null", help: "sbatch --cpus-per-task; the tasks also use this many workers unless --workers is given."),
        StageOption("mem", "string", default: "null", help: "sbatch --mem: memory per task, e.g. 16G."),
        StageOption("qos", "string", default: "null", help: "sbatch --qos."),
        StageOption("account", "string", default: "null", help: "sbatch --account."),
        StageOption("array_limit", "int", default: "null", help: "At most this many tasks of one array run at once (--array=…%N)."),
        StageOption("extra", "string or [string]", default: "null", help: "More sbatch options, e.g. \"--constraint=ssd --nice=10\"."),
    ]

    /// Validates and reads a `slurm:` block.
    ///
    /// - Throws: ``PipelineError`` at the offending key.
    public init(node: YAMLNode) throws {
        if node.isNull {
            self.init()
            return
        }
        guard node.mapping != nil else {
            throw PipelineError("'slurm' must be a mapping (partition, time, cpus_per_task, …), got \(node.errorDescription)", at: node.location)
        }
        let f = try YAMLNodeDecoder(context: "'slurm'", pathPrefix: "slurm", options: Self.keys).decode(Fields.self, from: node)
        self = f.settings
    }

    /// These settings with every option `other` sets laid over them; `extra` words are
    /// appended (sbatch lets a later option win).
    public func overlaid(with other: SlurmSettings) -> SlurmSettings {
        SlurmSettings(
            partition: other.partition ?? partition, time: other.time ?? time, cpusPerTask: other.cpusPerTask ?? cpusPerTask,
            mem: other.mem ?? mem, qos: other.qos ?? qos, account: other.account ?? account,
            arrayLimit: other.arrayLimit ?? arrayLimit, extra: extra + other.extra)
    }

    /// A message saying what is wrong with a value, or nil when every set value is valid.
    public func problem() -> String? {
        if let time, !Self.isValidTime(time) {
            return "time '\(time)' is not a Slurm time limit; use MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS (e.g. \"04:00:00\")"
        }
        if let mem, !Self.isValidMemory(mem) {
            return "mem '\(mem)' is not a Slurm memory size; use a number with an optional K, M, G or T suffix (e.g. 16G)"
        }
        if let c = cpusPerTask, c < 1 { return "cpus_per_task must be at least 1, got \(c)" }
        if let a = arrayLimit, a < 1 { return "array_limit must be at least 1, got \(a)" }
        for (name, value) in [("partition", partition), ("qos", qos), ("account", account)] {
            if let value, value.isEmpty || value.contains(where: { $0 == " " || $0 == "\n" || $0 == "\t" }) {
                return "\(name) '\(value)' must be one word"
            }
        }
        return nil
    }

    /// Slurm's time formats, or `UNLIMITED`/`INFINITE`.
    static func isValidTime(_ s: String) -> Bool {
        if s == "UNLIMITED" || s == "INFINITE" || s == "infinite" || s == "unlimited" { return true }
        var rest = Substring(s)
        if let dash = rest.firstIndex(of: "-") {
            guard isDigits(rest[..<dash]) else { return false }
            rest = rest[rest.index(after: dash)...]
        }
        let parts = rest.split(separator: ":", omittingEmptySubsequences: false)
        return (1...3).contains(parts.count) && parts.allSatisfy(isDigits)
    }

    static func isValidMemory(_ s: String) -> Bool {
        var body = Substring(s)
        if let last = body.last, "KMGTkmgt".contains(last) { body = body.dropLast() }
        return isDigits(body)
    }

    private static func isDigits(_ s: Substring) -> Bool {
        !s.isEmpty && s.utf8.allSatisfy { $0 >= 48 && $0 <= 57 }
    }

    private struct Fields: Decodable {
        var settings: SlurmSettings

        enum CodingKeys: String, CodingKey {
            case partition, time, mem, qos, account, extra
            case cpusPerTask = "cpus_per_task", arrayLimit = "array_limit"
        }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            var s = SlurmSettings()
            s.partition = try c.decodeIfPresent(String.self, forKey: .partition)
            s.time = try c.decodeIfPresent(String.self, forKey: .time)
            s.cpusPerTask = try c.decodeIfPresent(Int.self, forKey: .cpusPerTask)
            s.mem = try c.decodeIfPresent(String.self, forKey: .mem)
            s.qos = try c.decodeIfPresent(String.self, forKey: .qos)
            s.account = try c.decodeIfPresent(String.self, forKey: .account)
            s.arrayLimit = try c.decodeIfPresent(Int.self, forKey: .arrayLimit)
            if let list = try? c.decodeIfPresent([String].self, forKey: .extra) {
                s.extra = list
            } else if let text = try c.decodeIfPresent(String.self, forKey: .extra) {
                do {
                    s.extra = try shellWords(text)
                } catch let e as ShellWordsError {
                    throw DecodingError.dataCorruptedError(forKey: .extra, in: c, debugDescription: e.message)
                }
            }
            func check(_ key: CodingKeys, _ message: String) throws {
                throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: message)
            }
            if let t = s.time, !SlurmSettings.isValidTime(t) {
                try check(.time, "must be a Slurm time limit (MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS, e.g. \"04:00:00\"), got '\(t)'")
            }
            if let m = s.mem, !SlurmSettings.isValidMemory(m) {
                try check(.mem, "must be a memory size with an optional K, M, G or T suffix (e.g. 16G), got '\(m)'")
            }
            if let v = s.cpusPerTask, v < 1 { try check(.cpusPerTask, "must be at least 1, got \(v)") }
            if let v = s.arrayLimit, v < 1 { try check(.arrayLimit, "must be at least 1, got \(v)") }
            settings = s
        }
    }
}

/// Quoting that `sh` undoes: the word unchanged when it is safe, else in single quotes.
public func shellQuote(_ word: String) -> String {
    let safe = !word.isEmpty && word.unicodeScalars.allSatisfy { s in
        s.isASCII && (s.properties.isAlphabetic || ("0"..."9").contains(s) || "-_./=:,+@%".unicodeScalars.contains(s))
    }
    if safe { return word }
    return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
}

/// Why a string could not be split into words.
public struct ShellWordsError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

/// Splits a string into words as `sh` would, without expansions: spaces separate words,
/// single quotes keep everything, double quotes keep everything but `\"` and `\\`, and a
/// backslash outside quotes keeps the next character.
public func shellWords(_ text: String) throws -> [String] {
    var words: [String] = []
    var current = ""
    var inWord = false
    var quote: Character?
    var escaped = false
    for ch in text {
        if escaped {
            current.append(ch)
            escaped = false
            continue
        }
        switch quote {
        case "'":
            if ch == "'" { quote = nil } else { current.append(ch) }
        case "\"":
            if ch == "\"" { quote = nil } else if ch == "\\" { escaped = true } else { current.append(ch) }
        default:
            if ch == "'" || ch == "\"" {
                quote = ch
                inWord = true
            } else if ch == "\\" {
                escaped = true
                inWord = true
            } else if ch == " " || ch == "\t" || ch == "\n" {
                if inWord { words.append(current) }
                current = ""
                inWord = false
            } else {
                current.append(ch)
                inWord = true
            }
        }
    }
    if quote != nil { throw ShellWordsError(message: "unclosed \(quote!) quote in \"\(text)\"") }
    if escaped { throw ShellWordsError(message: "a backslash ends \"\(text)\"") }
    if inWord { words.append(current) }
    return words
}
