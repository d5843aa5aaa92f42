import Glibc

/// A path pattern that names no input files.
public struct InputListingError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The pattern as given.
    public let pattern: String
    /// What is wrong and how to fix it.
    public let message: String

    public init(pattern: String, message: String) {
        self.pattern = pattern
        self.message = message
    }

    public var description: String { message }
}

/// Turns the input patterns of a pipeline into the sorted list of files that tasks split
/// (file i goes to task i mod N, so the order must be stable).
public enum InputListing {
    /// Lists the files named by `patterns`.
    ///
    /// Shell-style braces are expanded first (`data/{en,de}/*.{gz,zst}` is four patterns, which
    /// together must match something). Then each pattern is one of:
    /// - a file: itself (symbolic links are followed);
    /// - a directory: every regular file below it, recursively; hidden files and directories
    ///   (names starting with `.`) are skipped;
    /// - a glob (`*`, `?`, `[…]`, a leading `~`), expanded by Glibc `glob()`: only regular files
    ///   are taken from its matches (a matched directory is not entered), and `*` does not match
    ///   a leading `.`;
    /// - a glob with `**` as a whole path component, which matches zero or more directories
    ///   (hidden ones skipped), as in `data/**/*.jsonl.zst`. `**` inside a component (`a**b`)
    ///   is an ordinary `*`.
    ///
    /// Relative patterns are taken relative to `baseDirectory` when given (and the results are
    /// prefixed with it), else to the working directory. Paths are cleaned lexically (`//` and
    /// `.` components removed), deduplicated, and sorted by the bytes of their UTF-8.
    ///
    /// - Throws: ``InputListingError`` naming the first pattern that matches nothing;
    ///   ``FileError`` when a directory cannot be read.
    public static func list(patterns: [String], baseDirectory: String? = nil) throws -> [String] {
        var all: [String] = []
        for pattern in patterns {
            var found: [String] = []
            for alternative in expandBraces(pattern) {
                found += try expand(alternative, baseDirectory: baseDirectory)
            }
            if found.isEmpty {
                let place = baseDirectory.map { " (relative to '\($0)')" } ?? ""
                throw InputListingError(
                    pattern: pattern,
                    message: "no files match '\(pattern)'\(place); check the path or quote the glob")
            }
            all.append(contentsOf: found)
        }
        all.sort { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        var unique: [String] = []
        unique.reserveCapacity(all.count)
        for path in all where !(unique.last.map { $0.utf8.elementsEqual(path.utf8) } ?? false) {
            unique.append(path)
        }
        return unique
    }

    /// Creates `path` and any missing parent directories (`mkdir -p`).
    /// - Throws: ``FileError`` when a directory cannot be created or a component is not one.
    public static func createDirectories(_ path: String, permissions: UInt32 = 0o755) throws {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/", omittingEmptySubsequences: true) {
            prefix += (prefix.isEmpty || prefix.hasSuffix("/") ? "" : "/") + component
            if mkdir(prefix, mode_t(permissions)) == 0 { continue }
            let e = errno
            if e == EEXIST, fileKind(prefix) == .directory { continue }
            throw FileError(path: prefix, operation: "create directory", code: e == EEXIST ? ENOTDIR : e)
        }
    }

    // MARK: - expansion

    private static func expand(_ rawPattern: String, baseDirectory: String?) throws -> [String] {
        var pattern = rawPattern
        if pattern == "~" || pattern.hasPrefix("~/"), let home = getenv("HOME") {
            pattern = String(cString: home) + pattern.dropFirst()
        }
        if let base = baseDirectory, !pattern.hasPrefix("/") {
            pattern = base + "/" + pattern
        }
        pattern = normalize(pattern)
        let components = pattern.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        if let star = components.firstIndex(of: "**") {
            return try expandRecursive(components, firstDoubleStar: star)
        }
        if hasGlobCharacters(pattern) {
            return globFiles(pattern, onlyDirectories: false)
        }
        switch fileKind(pattern) {
        case .regular: return [pattern]
        case .directory: return try walk(pattern)
        case .other, .missing: return []
        }
    }

    private static func hasGlobCharacters(_ s: String) -> Bool {
        s.utf8.contains { $0 == UInt8(ascii: "*") || $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "[") }
    }

    /// Shell-style braces: `a/{x,y}/*.{gz,zst}` gives four patterns. Nested braces work; a brace
    /// without a comma at its top level stays literal.
    static func expandBraces(_ pattern: String) -> [String] {
        let b = Array(pattern.utf8)
        var i = 0
        while i < b.count {
            if b[i] == UInt8(ascii: "\\") {
                i += 2
                continue
            }
            if b[i] == UInt8(ascii: "{") {
                var depth = 0
                var commas: [Int] = []
                var j = i
                var close = -1
                scan: while j < b.count {
                    switch b[j] {
                    case UInt8(ascii: "\\"): j += 1
                    case UInt8(ascii: "{"): depth += 1
                    case UInt8(ascii: "}"):
                        depth -= 1
                        if depth == 0 {
                            close = j
                            break scan
                        }
                    case UInt8(ascii: ","): if depth == 1 { commas.append(j) }
                    default: break
                    }
                    j += 1
                }
                if close > 0 && !commas.isEmpty {
                    let head = b[..<i]
                    let tail = b[(close + 1)...]
                    var out: [String] = []
                    var start = i + 1
                    for end in commas + [close] {
                        let alternative = String(decoding: head + b[start..<end] + tail, as: UTF8.self)
                        out += expandBraces(alternative)
                        start = end + 1
                    }
                    return out
                }
            }
            i += 1
        }
        return [pattern]
    }

    /// `a/**/b/*.x`: the part before the first `**` names root directories (globbed if needed);
    /// files below them match when their relative path matches the rest, `**` matching any number
    /// of components.
    private static func expandRecursive(_ components: [String], firstDoubleStar: Int) throws -> [String] {
        let rootComponents = components[..<firstDoubleStar]
        var root = rootComponents.joined(separator: "/")
        if root.isEmpty { root = firstDoubleStar == 1 ? "/" : "." }  // "/**/…" or "**/…"
        let roots: [String] =
            hasGlobCharacters(root) ? globFiles(root, onlyDirectories: true) : (fileKind(root) == .directory ? [root] : [])
        let rest = Array(components[firstDoubleStar...])
        var out: [String] = []
        for r in roots {
            for file in try walk(r) {
                // The path relative to the root.
                let relative = r == "." ? file : String(file.utf8.dropFirst(r.utf8.count + (r.hasSuffix("/") ? 0 : 1)))!
                let parts = relative.split(separator: "/").map(String.init)
                if matches(rest[...], parts[...]) { out.append(file) }
            }
        }
        return out
    }

    private static func matches(_ pattern: ArraySlice<String>, _ path: ArraySlice<String>) -> Bool {
        guard let first = pattern.first else { return path.isEmpty }
        if first == "**" {
            let rest = pattern.dropFirst()
            var p = path
            while true {
                if matches(rest, p) { return true }
                if p.isEmpty { return false }
                p = p.dropFirst()
            }
        }
        guard let name = path.first, fnmatch(first, name, FNM_PERIOD) == 0 else { return false }
        return matches(pattern.dropFirst(), path.dropFirst())
    }

    /// Glibc glob(); regular files only (or directories only).
    private static func globFiles(_ pattern: String, onlyDirectories: Bool) -> [String] {
        var g = glob_t()
        defer { globfree(&g) }
        let flags = GLOB_TILDE | (onlyDirectories ? GLOB_ONLYDIR : 0)
        guard glob(pattern, flags, nil, &g) == 0 else { return [] }
        var out: [String] = []
        for i in 0..<Int(g.gl_pathc) {
            guard let p = g.gl_pathv[i] else { continue }
            let path = normalize(String(cString: p))
            let kind = fileKind(path)
            if onlyDirectories ? kind == .directory : kind == .regular { out.append(path) }
        }
        return out
    }

    enum FileKind { case regular, directory, other, missing }

    static func fileKind(_ path: String) -> FileKind {
        var st = stat()
        guard stat(path, &st) == 0 else { return .missing }
        switch st.st_mode & S_IFMT {
        case S_IFREG: return .regular
        case S_IFDIR: return .directory
        default: return .other
        }
    }

    /// Every regular file below `root`, skipping hidden names, following symbolic links but never
    /// entering a directory twice.
    private static func walk(_ root: String) throws -> [String] {
        var out: [String] = []
        var stack = [root]
        var seen = Set<[UInt64]>()
        while let dirPath = stack.popLast() {
            var st = stat()
            if stat(dirPath, &st) == 0 {
                guard seen.insert([UInt64(st.st_dev), UInt64(st.st_ino)]).inserted else { continue }
            }
            guard let dir = opendir(dirPath) else {
                throw FileError(path: dirPath, operation: "list directory", code: errno)
            }
            defer { closedir(dir) }
            while let entry = readdir(dir) {
                let name = withUnsafePointer(to: &entry.pointee.d_name) {
                    String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self))
                }
                if name.utf8.first == UInt8(ascii: ".") { continue }
                let full = dirPath == "/" ? "/" + name : dirPath == "." ? name : dirPath + "/" + name
                switch Int32(entry.pointee.d_type) {
                case Int32(DT_REG): out.append(full)
                case Int32(DT_DIR): stack.append(full)
                default:
                    switch fileKind(full) {
                    case .regular: out.append(full)
                    case .directory: stack.append(full)
                    case .other, .missing: break
                    }
                }
            }
        }
        return out
    }

    /// Removes empty and `.` components (keeping a leading `/`); `..` is kept as is.
    static func normalize(_ path: String) -> String {
        let absolute = path.hasPrefix("/")
        let parts = path.split(separator: "/", omittingEmptySubsequences: true).filter { $0 != "." }
        let joined = parts.joined(separator: "/")
        if absolute { return "/" + joined }
        return joined.isEmpty ? "." : joined
    }
}
