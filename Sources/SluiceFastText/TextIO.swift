#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Buffered writes to a file descriptor (standard output for the command line).
struct FDOutput: ~Copyable {
    let fd: Int32
    private(set) var buffer: [UInt8] = []
    private let closeWhenDone: Bool
    var failed = false

    init(fd: Int32) {
        self.fd = fd
        closeWhenDone = false
        buffer.reserveCapacity(1 << 16)
    }

    /// A new file (replaced if it exists).
    init(creating path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw FastTextError("cannot create \(path): \(errnoText())") }
        self.fd = fd
        closeWhenDone = true
        buffer.reserveCapacity(1 << 16)
    }

    deinit {
        _ = Self.writeAll(fd, buffer)
        if closeWhenDone { close(fd) }
    }

    private static func writeAll(_ fd: Int32, _ buffer: [UInt8]) -> Bool {
        var done = 0
        return buffer.withUnsafeBytes { b in
            while done < b.count {
                let n = posixWrite(fd, b.baseAddress! + done, b.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                done += n
            }
            return true
        }
    }

    mutating func flush() {
        if !Self.writeAll(fd, buffer) { failed = true }
        buffer.removeAll(keepingCapacity: true)
    }

    @inline(__always)
    mutating func byte(_ b: UInt8) {
        buffer.append(b)
        if buffer.count >= 1 << 16 { flush() }
    }

    mutating func bytes(_ b: [UInt8]) {
        buffer.append(contentsOf: b)
        if buffer.count >= 1 << 16 { flush() }
    }

    /// Appends a number as C's `%.{precision}g`.
    mutating func general(_ v: Double, precision: Int) {
        appendGeneral(v, precision: precision, to: &buffer)
        if buffer.count >= 1 << 16 { flush() }
    }

    mutating func text(_ s: String) {
        buffer.append(contentsOf: s.utf8)
        if buffer.count >= 1 << 16 { flush() }
    }
}

/// Writes a message to standard error.
func printError(_ s: String) {
    var out = FDOutput(fd: 2)
    out.text(s.hasSuffix("\n") ? s : s + "\n")
}

/// `printf`-style formatting of one double, e.g. `formatC(x, "%g")` as C++ streams print a
/// float with precision 6.
func formatC(_ value: Double, _ format: String) -> String {
    var buf = [CChar](repeating: 0, count: 64)
    _ = buf.withUnsafeMutableBufferPointer { b in
        withVaList([value]) { vsnprintf(b.baseAddress!, 64, format, $0) }
    }
    return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// Reads a file (or standard input for `-`) in chunks and hands out whole lines.
struct ChunkedLineInput: ~Copyable {
    private let fd: Int32
    private let closeWhenDone: Bool
    let name: String
    private var buffer: [UInt8]
    private var end = 0
    private var eof = false

    init(path: String) throws {
        name = path
        if path == "-" {
            fd = 0
            closeWhenDone = false
        } else {
            let fd = open(path, O_RDONLY)
            guard fd >= 0 else { throw FastTextError("cannot open \(path): \(errnoText())") }
            var st = stat()
            if fstat(fd, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR {
                close(fd)
                throw FastTextError("\(path) is a directory, not a text file")
            }
            self.fd = fd
            closeWhenDone = true
        }
        buffer = [UInt8](repeating: 0, count: 1 << 20)
    }

    deinit { if closeWhenDone { close(fd) } }

    /// Calls `body` with the next run of complete lines (ending with `\n`, except at the end
    /// of the input); false when the input is exhausted.
    mutating func next(_ body: (UnsafeBufferPointer<UInt8>) throws -> Void) throws -> Bool {
        while true {
            // Whole lines available?
            var last = -1
            if end > 0 {
                last = buffer.withUnsafeBufferPointer { b -> Int in
                    var i = end - 1
                    while i >= 0 && b[i] != 10 { i -= 1 }
                    return i
                }
            }
            if last >= 0 || (eof && end > 0) {
                let upto = last >= 0 ? last + 1 : end
                try buffer.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[0..<upto])) }
                let rest = end - upto
                if rest > 0 {
                    buffer.withUnsafeMutableBufferPointer { b in
                        let base = b.baseAddress!
                        base.update(from: base + upto, count: rest)
                    }
                }
                end = rest
                return true
            }
            if eof { return false }
            if end == buffer.count { buffer.append(contentsOf: [UInt8](repeating: 0, count: buffer.count)) }
            let n = buffer.withUnsafeMutableBytes { b in
                posixRead(fd, b.baseAddress! + end, b.count - end)
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw FastTextError("cannot read \(name): \(errnoText())")
            }
            if n == 0 { eof = true } else { end += n }
        }
    }
}
