/// A size in bytes, read from YAML as an integer or as text with a unit: `256MB`, `1.5GiB`,
/// `64k`. Decimal units (kB, MB, GB, TB) are powers of 1000, binary ones (KiB, MiB, GiB, TiB)
/// powers of 1024; a bare `K`, `M` or `G` is binary.
public struct ByteSize: Sendable, Hashable, Decodable, CustomStringConvertible {
    public let bytes: Int

    public init(bytes: Int) { self.bytes = bytes }

    public init?(parsing text: String) {
        let t = text.trimmingSpaces()
        var numberEnd = t.startIndex
        while numberEnd < t.endIndex, t[numberEnd].isNumber || t[numberEnd] == "." { numberEnd = t.index(after: numberEnd) }
        guard let value = Double(t[..<numberEnd]), value >= 0 else { return nil }
        let unit = t[numberEnd...].trimmingSpaces().lowercased()
        let scale: Double
        switch unit {
        case "", "b": scale = 1
        case "kb": scale = 1e3
        case "mb": scale = 1e6
        case "gb": scale = 1e9
        case "tb": scale = 1e12
        case "k", "kib": scale = 1024
        case "m", "mib": scale = 1024 * 1024
        case "g", "gib": scale = 1024 * 1024 * 1024
        case "t", "tib": scale = 1024 * 1024 * 1024 * 1024
        default: return nil
        }
        let b = value * scale
        guard b < 9e18 else { return nil }
        bytes = Int(b.rounded())
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let n = try? c.decode(Int.self) {
            guard n >= 0 else { throw StageConfigurationError("a size must not be negative, got \(n)") }
            bytes = n
            return
        }
        let s = try c.decode(String.self)
        guard let v = ByteSize(parsing: s) else {
            throw StageConfigurationError("'\(s)' is not a size; write bytes or a number with a unit such as 256MB, 1GiB or 64k")
        }
        bytes = v.bytes
    }

    public var description: String { formatBytes(bytes) }
}

/// A human-readable size: `1.5 MB`, `812 B`.
public func formatBytes(_ n: Int) -> String {
    let units = ["B", "kB", "MB", "GB", "TB", "PB"]
    var v = Double(n)
    var i = 0
    while v >= 1000 && i < units.count - 1 {
        v /= 1000
        i += 1
    }
    if i == 0 { return "\(n) B" }
    return formatFixed(v, digits: v < 10 ? 2 : (v < 100 ? 1 : 0)) + " " + units[i]
}

/// `value` with a fixed number of decimals, without Foundation.
public func formatFixed(_ value: Double, digits: Int) -> String {
    guard value.isFinite else { return "\(value)" }
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let scaled = (abs(value) * scale).rounded()
    let whole = Int(scaled / scale)
    let frac = Int(scaled - Double(whole) * scale)
    let sign = value < 0 && scaled != 0 ? "-" : ""
    if digits == 0 { return sign + String(whole) }
    let f = String(frac)
    return sign + String(whole) + "." + String(repeating: "0", count: digits - f.count) + f
}

extension StringProtocol {
    /// The text without leading and trailing spaces, tabs and newlines.
    public func trimmingSpaces() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let start = firstIndex(where: { !isSpace($0) }) else { return "" }
        let end = lastIndex(where: { !isSpace($0) })!
        return String(self[start...end])
    }
}
