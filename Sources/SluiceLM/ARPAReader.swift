#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A problem with an ARPA file: where it is and what is wrong.
public struct ARPAFormatError: Error, CustomStringConvertible, Sendable {
    /// The file (or the name given for in-memory text).
    public var file: String
    /// The 1-based line, or 0 when the problem is not on one line.
    public var line: Int
    public var message: String

    public init(file: String, line: Int, message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    public var description: String {
        line > 0 ? "\(file):\(line): \(message)" : "\(file): \(message)"
    }
}

/// Reads lines from a byte stream (a read(2)-like closure). A returned line is valid until
/// the next call; a trailing `\r` is removed.
struct LineReader {
    private let read: (UnsafeMutableRawBufferPointer) throws -> Int
    private var buffer: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private var start = 0
    private var end = 0
    private var eof = false
    private(set) var lineNumber = 0

    init(read: @escaping (UnsafeMutableRawBufferPointer) throws -> Int) {
        self.read = read
        capacity = 1 << 20
        buffer = .allocate(capacity: capacity)
    }

    func deallocate() { buffer.deallocate() }

    /// The first bytes of the stream without consuming them (for format sniffing).
    mutating func peek(_ n: Int) throws -> UnsafeBufferPointer<UInt8> {
        while end - start < n && !eof { try fill() }
        return UnsafeBufferPointer(start: buffer + start, count: min(n, end - start))
    }

    private mutating func fill() throws {
        if start > 0 {
            let live = end - start
            if live > 0 { (buffer).update(from: buffer + start, count: live) }
            start = 0
            end = live
        }
        if end == capacity {
            let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity * 2)
            bigger.update(from: buffer, count: end)
            buffer.deallocate()
            buffer = bigger
            capacity *= 2
        }
        let n = try read(UnsafeMutableRawBufferPointer(start: buffer + end, count: capacity - end))
        if n <= 0 { eof = true } else { end += n }
    }

    /// The next line, or nil at the end of the stream.
    mutating func next() throws -> UnsafeBufferPointer<UInt8>? {
        var scanFrom = start
        while true {
            var i = scanFrom
            while i < end && buffer[i] != 10 { i += 1 }
            if i < end {
                let lineStart = start
                var lineEnd = i
                if lineEnd > lineStart && buffer[lineEnd - 1] == 13 { lineEnd -= 1 }
                start = i + 1
                lineNumber += 1
                return UnsafeBufferPointer(start: buffer + lineStart, count: lineEnd - lineStart)
            }
            if eof {
                if start == end { return nil }
                let lineStart = start
                var lineEnd = end
                if lineEnd > lineStart && buffer[lineEnd - 1] == 13 { lineEnd -= 1 }
                start = end
                lineNumber += 1
                return UnsafeBufferPointer(start: buffer + lineStart, count: lineEnd - lineStart)
            }
            let scanned = i - start
            try fill()
            scanFrom = start + scanned
        }
    }
}

/// Reads a whole file with read(2) in chunks; the closure for ``LineReader``.
final class PlainFileReader {
    let fd: Int32
    let path: String

    init(path: String) throws {
        self.path = path
        fd = open(path, O_RDONLY)
        if fd < 0 {
            let reason = String(cString: strerror(errno))
            throw ARPAFormatError(file: path, line: 0, message: "cannot open: \(reason)")
        }
    }

    deinit { close(fd) }

    func read(_ into: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            #if canImport(Glibc)
            let n = Glibc.read(fd, into.baseAddress, into.count)
            #else
            let n = Darwin.read(fd, into.baseAddress, into.count)
            #endif
            if n >= 0 { return n }
            if errno == EINTR { continue }
            let reason = String(cString: strerror(errno))
            throw ARPAFormatError(file: path, line: 0, message: "read failed: \(reason)")
        }
    }
}

/// Splits `line` into fields separated by spaces and tabs.
@inline(__always)
func arpaFields(_ line: UnsafeBufferPointer<UInt8>, into fields: inout [Range<Int>]) {
    fields.removeAll(keepingCapacity: true)
    var i = 0
    let n = line.count
    while i < n {
        while i < n && (line[i] == 32 || line[i] == 9) { i += 1 }
        if i == n { break }
        let s = i
        while i < n && line[i] != 32 && line[i] != 9 { i += 1 }
        fields.append(s..<i)
    }
}

func isBlank(_ line: UnsafeBufferPointer<UInt8>) -> Bool {
    for b in line where !(b == 32 || (b &- 9) < 5) { return false }
    return true
}

func text(_ line: UnsafeBufferPointer<UInt8>, _ r: Range<Int>? = nil, limit: Int = 120) -> String {
    let r = r ?? 0..<line.count
    let s = String(decoding: UnsafeBufferPointer(rebasing: line[r.lowerBound..<min(r.upperBound, r.lowerBound + limit)]), as: UTF8.self)
    return r.count > limit ? s + "…" : s
}

/// Parses a float field with strtof (correctly rounded, as KenLM's reader); nil if malformed.
func parseFloat(_ line: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> Float? {
    if r.count == 0 || r.count > 60 { return nil }
    return withUnsafeTemporaryAllocation(of: CChar.self, capacity: 64) { buf -> Float? in
        for (k, i) in r.enumerated() { buf[k] = CChar(bitPattern: line[i]) }
        buf[r.count] = 0
        var endPtr: UnsafeMutablePointer<CChar>?
        let v = strtof(buf.baseAddress!, &endPtr)
        guard let endPtr, endPtr - buf.baseAddress! == r.count else { return nil }
        return v
    }
}

func parseCountLine(_ line: UnsafeBufferPointer<UInt8>) -> (order: Int, count: Int)? {
    // "ngram N=COUNT"
    let s = text(line, limit: 200).trimmingASCIIWhitespace()
    guard s.hasPrefix("ngram ") else { return nil }
    let rest = s.dropFirst(6).trimmingASCIIWhitespace()
    let parts = rest.split(separator: "=", omittingEmptySubsequences: false)
    guard parts.count == 2,
        let n = Int(parts[0].trimmingASCIIWhitespace()),
        let c = Int(parts[1].trimmingASCIIWhitespace()), n >= 1, c >= 0
    else { return nil }
    return (n, c)
}

extension StringProtocol {
    func trimmingASCIIWhitespace() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}
