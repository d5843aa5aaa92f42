import SluiceCore

/// Replaces e-mail addresses, IP addresses and (opt-in) phone numbers with placeholders.
///
/// YAML type `pii_redact`. One pass over the UTF-8 bytes finds candidates and validates them by
/// hand-written rules (no regular expressions), in linear time; documents are never dropped.
///
/// - **E-mail** (`emails`, default on): `local@domain` with a local part of the characters
///   RFC 5322 allows unquoted (`A-Z a-z 0-9 ! # $ % & ' * + / = ? ^ _ \` { | } ~ - .`, no
///   leading, trailing or double dot, at most 64) and a domain of at least two dot-separated
///   labels (letters, digits, inner hyphens, at most 63 each) ending in an alphabetic top-level
///   domain of two or more letters. `user@localhost`, `@handle` and `pkg@1.2.3` are not
///   addresses. A trailing dot belongs to the sentence, not the address.
/// - **IPv4** (`ipv4`, default on): four decimal octets 0–255 without leading zeros, standing
///   alone: not glued to letters, digits or further `.digit` groups (so `1.2.3.4.5` is not an
///   address), and not preceded by `v`, `version`, `ver.`, `release` or `build` (so
///   `version 1.2.3.4` and `v10.0.0.1` are version strings), and not starting with `0` (the
///   "this network" block, and versions such as `0.6.21.1`). Dates (`12.05.2023`) and decimals
///   (`3.14`) never have four parts.
/// - **IPv6** (`ipv6`, default on): eight groups of 1–4 hex digits, or fewer with one `::`,
///   optionally ending in an IPv4 address, standing alone. To keep code intact, a `::` form
///   needs at least two groups and a group of three or more digits, or three groups
///   (`fe80::1` and `2001:db8::8a2e` are addresses; `std::map`, `a[1::2]` and `::1` are not);
///   times (`12:30:45`) and MAC addresses have too few groups.
/// - **Phone numbers** (`phones`, default off): an optional `+` and country code, then digit
///   groups separated by one kind of separator (space, `-` or `.`; a space may follow the
///   country code or a parenthesised area code): 7 to 11 digits (up to 15 after a `+`), two to
///   five groups, 2–4 digits in each group after the first (up to 6 after a `+`), so ISBNs with
///   one-digit groups are not numbers. Without `+` or parentheses it must also look like a
///   number people write: three or more groups, not a date or date-time (`2023-01-15 08`,
///   `15.01.2023`), not thousands or a list of numbers (`25 000 000`, `377 377 377`), with
///   spaces only `555 123 4567` or a national `01 23 45 67 89`, and with two groups only the
///   North American `555-1234`. Numbers without separators and year ranges (`1990-2000`) are
///   not phone numbers.
///
/// `public_ips_only` (default `false`) replaces only public addresses, leaving private,
/// loopback, link-local, documentation and other reserved ranges (10/8, 172.16/12,
/// 192.168/16, 127/8, 169.254/16, 100.64/10, 0/8, 192.0.2/24, 198.51.100/24, 203.0.113/24,
/// 198.18/15, 224/3; ::1, fc00::/7, fe80::/10, 2001:db8::/32) as they are.
///
/// Placeholders: `email_placeholder` (default `<EMAIL>`), `ip_placeholder` (`<IP_ADDRESS>`,
/// IPv4 and IPv6), `phone_placeholder` (`<PHONE_NUMBER>`). Counters per kind: `pii_email`,
/// `pii_ipv4`, `pii_ipv6`, `pii_phone`, and `documents_changed`.
///
/// ```yaml
/// - type: pii_redact
///   phones: true
///   email_placeholder: "|||EMAIL_ADDRESS|||"
/// ```
public struct PIIRedact: Stage {
    public struct Configuration: Decodable, Sendable {
        public var emails: Bool
        public var ipv4: Bool
        public var ipv6: Bool
        public var phones: Bool
        public var publicIPsOnly: Bool
        public var emailPlaceholder: String
        public var ipPlaceholder: String
        public var phonePlaceholder: String

        enum CodingKeys: String, CodingKey {
            case emails, ipv4, ipv6, phones, publicIPsOnly = "public_ips_only"
            case emailPlaceholder = "email_placeholder", ipPlaceholder = "ip_placeholder", phonePlaceholder = "phone_placeholder"
        }

        public init(
            emails: Bool = true, ipv4: Bool = true, ipv6: Bool = true, phones: Bool = false, publicIPsOnly: Bool = false,
            emailPlaceholder: String = "<EMAIL>", ipPlaceholder: String = "<IP_ADDRESS>", phonePlaceholder: String = "<PHONE_NUMBER>"
        ) {
            self.emails = emails
            self.ipv4 = ipv4
            self.ipv6 = ipv6
            self.phones = phones
            self.publicIPsOnly = publicIPsOnly
            self.emailPlaceholder = emailPlaceholder
            self.ipPlaceholder = ipPlaceholder
            self.phonePlaceholder = phonePlaceholder
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            emails = try c.decodeIfPresent(Bool.self, forKey: .emails) ?? true
            ipv4 = try c.decodeIfPresent(Bool.self, forKey: .ipv4) ?? true
            ipv6 = try c.decodeIfPresent(Bool.self, forKey: .ipv6) ?? true
            phones = try c.decodeIfPresent(Bool.self, forKey: .phones) ?? false
            publicIPsOnly = try c.decodeIfPresent(Bool.self, forKey: .publicIPsOnly) ?? false
            emailPlaceholder = try c.decodeIfPresent(String.self, forKey: .emailPlaceholder) ?? "<EMAIL>"
            ipPlaceholder = try c.decodeIfPresent(String.self, forKey: .ipPlaceholder) ?? "<IP_ADDRESS>"
            phonePlaceholder = try c.decodeIfPresent(String.self, forKey: .phonePlaceholder) ?? "<PHONE_NUMBER>"
        }
    }

    public static let type = "pii_redact"
    public static let summary = "Replaces e-mail addresses, IPv4/IPv6 addresses and (opt-in) phone numbers with placeholders."
    public static let options: [StageOption] = [
        StageOption("emails", "bool", default: "true", help: "Replace e-mail addresses (counter pii_email)."),
        StageOption("ipv4", "bool", default: "true", help: "Replace IPv4 addresses (counter pii_ipv4); version strings, dates and decimals are left alone."),
        StageOption("ipv6", "bool", default: "true", help: "Replace IPv6 addresses (counter pii_ipv6)."),
        StageOption("phones", "bool", default: "false", help: "Replace phone numbers (counter pii_phone)."),
        StageOption("public_ips_only", "bool", default: "false", help: "Leave private, loopback, link-local and documentation addresses as they are."),
        StageOption("email_placeholder", "string", default: "<EMAIL>", help: "Text that replaces an e-mail address."),
        StageOption("ip_placeholder", "string", default: "<IP_ADDRESS>", help: "Text that replaces an IP address."),
        StageOption("phone_placeholder", "string", default: "<PHONE_NUMBER>", help: "Text that replaces a phone number."),
    ]

    public enum Kind: Int, Sendable, CaseIterable {
        case email, ipv4, ipv6, phone
        public var counter: String { ["pii_email", "pii_ipv4", "pii_ipv6", "pii_phone"][rawValue] }
    }

    /// A found piece of personal information: its kind and UTF-8 byte range.
    public struct Match: Sendable, Equatable {
        public var kind: Kind
        public var range: Range<Int>
    }

    public let configuration: Configuration
    let placeholders: [[UInt8]]

    public init(configuration c: Configuration) throws {
        guard c.emails || c.ipv4 || c.ipv6 || c.phones else {
            throw StageConfigurationError("pii_redact has nothing to do: turn on at least one of emails, ipv4, ipv6, phones")
        }
        configuration = c
        placeholders = [c.emailPlaceholder, c.ipPlaceholder, c.ipPlaceholder, c.phonePlaceholder].map { Array($0.utf8) }
    }

    public func process(_ batch: inout DocumentBatch, stats: inout StageStats) throws {
        var counts = [Int](repeating: 0, count: 4)
        var changed = 0
        var matches: [Match] = []
        var out: [UInt8] = []
        batch.retain { doc in
            matches.removeAll(keepingCapacity: true)
            doc.text.withUTF8Bytes { find($0, into: &matches) }
            guard !matches.isEmpty else { return .keep }
            doc.text = doc.text.withUTF8Bytes { replace($0, matches, out: &out) }
            for m in matches { counts[m.kind.rawValue] += 1 }
            changed += 1
            return .keep
        }
        for kind in Kind.allCases where counts[kind.rawValue] > 0 { stats.counters[kind.counter, default: 0] += counts[kind.rawValue] }
        if changed > 0 { stats.counters["documents_changed", default: 0] += changed }
    }

    /// The matches in `text`, in order.
    public func matches(in text: String) -> [Match] {
        var found: [Match] = []
        text.withUTF8Bytes { find($0, into: &found) }
        return found
    }

    /// The text with every match replaced.
    public func redact(_ text: String) -> String {
        let found = matches(in: text)
        guard !found.isEmpty else { return text }
        var out: [UInt8] = []
        return text.withUTF8Bytes { replace($0, found, out: &out) }
    }

    private func replace(_ text: UnsafeBufferPointer<UInt8>, _ matches: [Match], out: inout [UInt8]) -> String {
        out.removeAll(keepingCapacity: true)
        var copied = 0
        for m in matches {
            out.append(contentsOf: UnsafeBufferPointer(rebasing: text[copied..<m.range.lowerBound]))
            out.append(contentsOf: placeholders[m.kind.rawValue])
            copied = m.range.upperBound
        }
        out.append(contentsOf: UnsafeBufferPointer(rebasing: text[copied...]))
        return String(decoding: out, as: UTF8.self)
    }

    // MARK: - Finding

    func find(_ text: UnsafeBufferPointer<UInt8>, into found: inout [Match]) {
        guard let p = text.baseAddress else { return }
        let n = text.count
        let c = configuration
        var i = 0
        while i < n {
            let b = p[i]
            if c.emails && b == 0x40 {  // '@': look back for the local part
                if let m = email(p, n, at: i), m.lowerBound >= (found.last?.range.upperBound ?? 0) {
                    found.append(Match(kind: .email, range: m))
                    i = m.upperBound
                    continue
                }
                i += 1
                continue
            }
            let startOfToken = i == 0 || !PIIRedact.isWordByte(p[i - 1])
            if startOfToken && (c.ipv4 || c.ipv6 || c.phones) {
                let hex = PIIRedact.isHex(b)
                if c.ipv6 && (hex || b == 0x3A), let end = ipv6(p, n, at: i) {
                    found.append(Match(kind: .ipv6, range: i..<end))
                    i = end
                    continue
                }
                if c.ipv4 && PIIRedact.isDigit(b), let end = ipv4(p, n, at: i) {
                    found.append(Match(kind: .ipv4, range: i..<end))
                    i = end
                    continue
                }
                if c.phones && (PIIRedact.isDigit(b) || b == 0x2B || b == 0x28), let end = phone(p, n, at: i) {
                    found.append(Match(kind: .phone, range: i..<end))
                    i = end
                    continue
                }
            }
            i += 1
        }
    }

    @inline(__always) static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
    @inline(__always) static func isAlpha(_ b: UInt8) -> Bool { (b | 0x20) >= 0x61 && (b | 0x20) <= 0x7A }
    @inline(__always) static func isHex(_ b: UInt8) -> Bool { isDigit(b) || ((b | 0x20) >= 0x61 && (b | 0x20) <= 0x66) }
    /// Letters, digits, `_` and any non-ASCII byte (letters of other scripts) glue tokens.
    @inline(__always) static func isWordByte(_ b: UInt8) -> Bool { isDigit(b) || isAlpha(b) || b == 0x5F || b >= 0x80 }

    // MARK: e-mail

    private static let localCharacters: [Bool] = (0..<256).map { i in
        let b = UInt8(i)
        return isDigit(b) || isAlpha(b) || Array("!#$%&'*+/=?^_`{|}~-.".utf8).contains(b)
    }

    /// The address around the '@' at `at`, or nil.
    func email(_ p: UnsafePointer<UInt8>, _ n: Int, at: Int) -> Range<Int>? {
        // local part: back over allowed characters, at most 64
        var s = at
        while s > 0 && at - s < 64 && Self.localCharacters[Int(p[s - 1])] { s -= 1 }
        if s > 0 && Self.localCharacters[Int(p[s - 1])] { return nil }  // longer than 64
        // no leading dot (skip it: "see .a@b.com"), no trailing dot, no double dot
        while s < at && p[s] == 0x2E { s += 1 }
        guard s < at, p[at - 1] != 0x2E else { return nil }
        for k in s..<(at - 1) where p[k] == 0x2E && p[k + 1] == 0x2E { return nil }
        // domain: labels separated by dots
        var i = at + 1
        var labels = 0
        var lastLabelStart = i
        var end = -1
        while i < n && i - at <= 255 {
            let labelStart = i
            while i < n && (Self.isDigit(p[i]) || Self.isAlpha(p[i]) || p[i] == 0x2D) && i - labelStart < 64 { i += 1 }
            let length = i - labelStart
            guard length >= 1, length <= 63, p[labelStart] != 0x2D, p[i - 1] != 0x2D else { break }
            labels += 1
            lastLabelStart = labelStart
            if labels >= 2 {
                // a complete address so far if the last label is an alphabetic TLD
                var alphabetic = length >= 2
                for k in labelStart..<i where !Self.isAlpha(p[k]) { alphabetic = false }
                if alphabetic { end = i }
            }
            guard i + 1 < n, p[i] == 0x2E, Self.isDigit(p[i + 1]) || Self.isAlpha(p[i + 1]) else { break }
            i += 1
        }
        _ = lastLabelStart
        guard end > 0 else { return nil }
        // the address must not run on into a word character
        if end < n && (Self.isWordByte(p[end]) || p[end] == 0x40) { return nil }
        return s..<end
    }

    // MARK: IPv4

    /// Octets: 0–255, no leading zeros. Returns the end, or nil.
    private func octet(_ p: UnsafePointer<UInt8>, _ n: Int, _ i: Int) -> (value: Int, end: Int)? {
        guard i < n, Self.isDigit(p[i]) else { return nil }
        var j = i
        var v = 0
        while j < n && Self.isDigit(p[j]) && j - i < 4 {
            v = v * 10 + Int(p[j] - 0x30)
            j += 1
        }
        let length = j - i
        guard length <= 3, v <= 255, !(length > 1 && p[i] == 0x30) else { return nil }
        return (v, j)
    }

    func ipv4(_ p: UnsafePointer<UInt8>, _ n: Int, at start: Int) -> Int? {
        var i = start
        var parts: [Int] = []
        parts.reserveCapacity(4)
        for k in 0..<4 {
            guard let (v, end) = octet(p, n, i) else { return nil }
            parts.append(v)
            i = end
            if k < 3 {
                guard i < n, p[i] == 0x2E else { return nil }
                i += 1
            }
        }
        // standing alone: not glued to word characters or to more ".digit" / "digit." groups
        if i < n && Self.isWordByte(p[i]) { return nil }
        if i + 1 < n && p[i] == 0x2E && Self.isDigit(p[i + 1]) { return nil }
        if start >= 2 && p[start - 1] == 0x2E && Self.isDigit(p[start - 2]) { return nil }
        if start >= 2 && p[start - 1] == 0x2E && Self.isWordByte(p[start - 2]) { return nil }
        if parts[0] == 0 || versionContext(p, start) { return nil }  // 0.x.y.z: "this network", and versions
        if configuration.publicIPsOnly && !Self.isPublicIPv4(parts) { return nil }
        return i
    }

    /// Whether the text just before `start` says what follows is a version number.
    private func versionContext(_ p: UnsafePointer<UInt8>, _ start: Int) -> Bool {
        // "v1.2.3.4" / "V1.2.3.4" (the v glued to the number makes it a word: handled by the
        // caller only for "-" and "." glue, so check it here)
        var k = start
        if k >= 1 && (p[k - 1] | 0x20) == 0x76 && (k < 2 || !Self.isWordByte(p[k - 2])) { return true }
        // the previous word: "version", "ver.", "release", "build" (any case), then spaces or ':'
        while k > 0 && (p[k - 1] == 0x20 || p[k - 1] == 0x3A || p[k - 1] == 0x09) && start - k < 4 { k -= 1 }
        guard k < start else { return false }
        var w = k
        while w > 0 && (Self.isAlpha(p[w - 1]) || p[w - 1] == 0x2E) && k - w < 10 { w -= 1 }
        var word: [UInt8] = []
        for x in w..<k { word.append(p[x] | 0x20) }
        return word == Array("version".utf8) || word == Array("ver.".utf8) || word == Array("ver".utf8)
            || word == Array("release".utf8) || word == Array("build".utf8) || word == Array("v".utf8)
            || word == Array("versions".utf8) || word == Array("v.".utf8)
    }

    static func isPublicIPv4(_ o: [Int]) -> Bool {
        let a = o[0], b = o[1], c = o[2]
        if a == 0 || a == 10 || a == 127 || a >= 224 { return false }
        if a == 169 && b == 254 { return false }
        if a == 172 && (16...31).contains(b) { return false }
        if a == 192 && b == 168 { return false }
        if a == 100 && (64...127).contains(b) { return false }
        if a == 192 && b == 0 && (c == 0 || c == 2) { return false }
        if a == 198 && (b == 18 || b == 19) { return false }
        if a == 198 && b == 51 && c == 100 { return false }
        if a == 203 && b == 0 && c == 113 { return false }
        return true
    }

    // MARK: IPv6

    func ipv6(_ p: UnsafePointer<UInt8>, _ n: Int, at start: Int) -> Int? {
        // the candidate: hex digits, ':' and '.' (for an IPv4 tail), at most 45 bytes
        // not in the middle of a longer run of groups
        if start >= 1 && (p[start - 1] == 0x3A || p[start - 1] == 0x2E) { return nil }
        var end = start
        while end < n && end - start <= 45 && (Self.isHex(p[end]) || p[end] == 0x3A || p[end] == 0x2E) { end += 1 }
        guard end - start <= 45 else { return nil }
        // trailing '.' or ':' belong to the sentence ("at fe80::1." / "address: ...")
        while end > start && p[end - 1] == 0x2E { end -= 1 }
        if end < n && Self.isWordByte(p[end]) { return nil }
        guard let groups = Self.parseIPv6(p, start, end) else { return nil }
        if configuration.publicIPsOnly && !Self.isPublicIPv6(groups) { return nil }
        return end
    }

    /// The eight 16-bit groups of an IPv6 address written at `p[a..<b]`, or nil when it is not
    /// one (or is one of the short forms left alone, see the type's documentation).
    static func parseIPv6(_ p: UnsafePointer<UInt8>, _ a: Int, _ b: Int) -> [UInt16]? {
        guard b - a >= 2 else { return nil }
        var head: [UInt16] = [], tail: [UInt16] = []
        var compressed = false
        var i = a
        var longest = 0
        var groupsWritten = 0
        if p[i] == 0x3A {
            guard i + 1 < b, p[i + 1] == 0x3A else { return nil }
            compressed = true
            i += 2
        }
        while i < b {
            // an IPv4 tail?
            var j = i
            while j < b && isHex(p[j]) { j += 1 }
            if j < b && p[j] == 0x2E {
                guard let v4 = parseDottedQuad(p, i, b) else { return nil }
                let groups: [UInt16] = [UInt16(v4[0]) << 8 | UInt16(v4[1]), UInt16(v4[2]) << 8 | UInt16(v4[3])]
                if compressed { tail += groups } else { head += groups }
                groupsWritten += 2
                longest = max(longest, 4)
                i = b
                break
            }
            let length = j - i
            guard length >= 1 && length <= 4 else { return nil }
            var v: UInt16 = 0
            for k in i..<j { v = v << 4 | UInt16(hexValue(p[k])) }
            if compressed { tail.append(v) } else { head.append(v) }
            groupsWritten += 1
            longest = max(longest, length)
            i = j
            if i == b { break }
            guard p[i] == 0x3A else { return nil }
            if i + 1 < b && p[i + 1] == 0x3A {
                guard !compressed else { return nil }
                compressed = true
                i += 2
                continue
            }
            i += 1
            guard i < b else { return nil }  // a single trailing ':'
        }
        let total = head.count + tail.count
        if compressed {
            guard total <= 7 else { return nil }
            // short forms that read as code (a::b, 1::2, ::1) are left alone
            guard groupsWritten >= 3 || (groupsWritten == 2 && longest >= 3) else { return nil }
            return head + [UInt16](repeating: 0, count: 8 - total) + tail
        }
        guard total == 8 else { return nil }
        return head
    }

    private static func hexValue(_ b: UInt8) -> UInt8 { isDigit(b) ? b - 0x30 : (b | 0x20) - 0x61 + 10 }

    private static func parseDottedQuad(_ p: UnsafePointer<UInt8>, _ a: Int, _ b: Int) -> [Int]? {
        var parts: [Int] = []
        var i = a
        while i < b {
            var j = i
            var v = 0
            while j < b && isDigit(p[j]) && j - i < 4 {
                v = v * 10 + Int(p[j] - 0x30)
                j += 1
            }
            guard j > i, j - i <= 3, v <= 255, !(j - i > 1 && p[i] == 0x30) else { return nil }
            parts.append(v)
            i = j
            if i < b {
                guard p[i] == 0x2E else { return nil }
                i += 1
                guard i < b else { return nil }
            }
        }
        return parts.count == 4 ? parts : nil
    }

    static func isPublicIPv6(_ g: [UInt16]) -> Bool {
        if g[0..<7].allSatisfy({ $0 == 0 }) { return false }  // :: and ::1
        if g[0] & 0xFE00 == 0xFC00 { return false }  // unique local
        if g[0] & 0xFFC0 == 0xFE80 { return false }  // link-local
        if g[0] == 0x2001 && g[1] == 0x0DB8 { return false }  // documentation
        if g[0] & 0xFF00 == 0xFF00 { return false }  // multicast
        if g[0...4].allSatisfy({ $0 == 0 }) && g[5] == 0xFFFF { return isPublicIPv4([Int(g[6] >> 8), Int(g[6] & 0xFF), Int(g[7] >> 8), Int(g[7] & 0xFF)]) }
        return true
    }

    // MARK: phone numbers

    func phone(_ p: UnsafePointer<UInt8>, _ n: Int, at start: Int) -> Int? {
        var i = start
        var plus = false
        if p[i] == 0x2B {
            plus = true
            i += 1
        }
        var groups: [Int] = []  // digits per group
        var separators: [UInt8] = []
        var parenthesised = false
        var digits = 0
        while i < n && i - start < 32 {
            var g = 0
            var closeParen = false
            if p[i] == 0x28 {  // "(555)" area code: once, at the start or after the country code
                guard !parenthesised, groups.count <= (plus ? 1 : 0) else { break }
                var j = i + 1
                while j < n && Self.isDigit(p[j]) { j += 1 }
                guard j < n, p[j] == 0x29, (1...5).contains(j - i - 1) else { break }
                g = j - i - 1
                parenthesised = true
                closeParen = true
                i = j + 1
            } else {
                let groupStart = i
                while i < n && Self.isDigit(p[i]) { i += 1 }
                g = i - groupStart
                guard g > 0 else { break }
            }
            groups.append(g)
            digits += g
            // a separator followed by another group?
            if i + 1 < n, p[i] == 0x20 || p[i] == 0x2D || p[i] == 0x2E, Self.isDigit(p[i + 1]) || p[i + 1] == 0x28 {
                separators.append(p[i])
                i += 1
                continue
            }
            if closeParen && i < n && Self.isDigit(p[i]) { separators.append(0); continue }
            break
        }
        guard let last = groups.last, last > 0 else { return nil }
        let end = i
        // standing alone
        if end < n && (Self.isWordByte(p[end]) || p[end] == 0x25) { return nil }  // digits, letters, '%'
        if end + 1 < n && (p[end] == 0x2E || p[end] == 0x2C || p[end] == 0x2D || p[end] == 0x2F || p[end] == 0x3A) && Self.isDigit(p[end + 1]) { return nil }
        if start >= 1 && (p[start - 1] == 0x24 || p[start - 1] == 0x2E || p[start - 1] == 0x2D || p[start - 1] == 0x2F || p[start - 1] == 0x3A) { return nil }
        guard groups.count >= 2 else { return nil }  // no separators: any long number
        // 7 to 11 digits, up to 15 after a '+' (E.164); at most five groups
        guard digits >= 7 && digits <= (plus ? 15 : 11) && groups.count <= 5 else { return nil }
        // groups after the first: 2 to 4 digits (up to 6 after a country code)
        for g in groups.dropFirst() where g < 2 || g > (plus ? 6 : 4) { return nil }
        guard groups[0] <= 4 else { return nil }
        // one kind of separator, except a space after the country code or the area code
        var kinds = separators
        if plus && !kinds.isEmpty && kinds[0] == 0x20 { kinds.removeFirst() }
        kinds.removeAll { $0 == 0 }
        if parenthesised, let k = kinds.first, k == 0x20 { kinds.removeFirst() }
        guard Set(kinds).count <= 1 else { return nil }
        // "+3.140000" is a signed decimal; four dotted groups of up to 3 digits read as an address
        if plus && separators.first == 0x2E { return nil }
        if kinds.first == 0x2E && groups.count == 4 && groups.allSatisfy({ $0 <= 3 }) { return nil }
        if plus || parenthesised { return end }
        let separator = kinds.first ?? 0x20
        // dates and times: 2023-01-15, 15.01.2023, 1970-01-01 00
        if groups.starts(with: [4, 2, 2]) || (groups.count >= 3 && groups[0] <= 2 && groups[1] <= 2 && groups[2] == 4) { return nil }
        // thousands grouping and number lists: 25 000 000, 377 377 377
        if groups.dropFirst().allSatisfy({ $0 == 3 }) { return nil }
        // two groups: only the North American local form 555-1234 (an exchange starts with 2-9)
        if groups.count == 2 { return groups == [3, 4] && separator == 0x2D && p[start] >= 0x32 ? end : nil }
        // spaces only: 555 123 4567, or a national number with its trunk 0: 01 23 45 67 89
        if separator == 0x20 { return groups == [3, 3, 4] || (digits >= 10 && p[start] == 0x30) ? end : nil }
        return end
    }
}
