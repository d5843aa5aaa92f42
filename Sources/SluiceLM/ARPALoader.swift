/// Builds an ``LMStorage`` from ARPA text, with KenLM's checks and repairs (see
/// ``NGramModel``).
enum ARPALoader {
    struct Loaded {
        var storage: LMStorage
        var counts: [Int]
        var warnings: [String]
    }

    static func load(name: String, read: @escaping (UnsafeMutableRawBufferPointer) throws -> Int) throws -> Loaded {
        var reader = LineReader(read: read)
        defer { reader.deallocate() }
        func fail(_ message: String, line: Int? = nil) -> ARPAFormatError {
            ARPAFormatError(file: name, line: line ?? reader.lineNumber, message: message)
        }

        let head = try reader.peek(8)
        if head.count >= 2 && head[0] == 0x1F && head[1] == 0x8B {
            throw fail(
                "this is gzip-compressed; NGramModel(contentsOf:) reads plain ARPA text: decompress it (gunzip -k) "
                    + "or let `sluice lm score`, which reads .gz and .zst, load it", line: 0)
        }
        if head.count >= 4 && head[0] == 0x28 && head[1] == 0xB5 && head[2] == 0x2F && head[3] == 0xFD {
            throw fail(
                "this is zstd-compressed; NGramModel(contentsOf:) reads plain ARPA text: decompress it (zstd -d) "
                    + "or let `sluice lm score`, which reads .gz and .zst, load it", line: 0)
        }

        // \data\ (KenLM allows blank lines and #-comments before it).
        var line: UnsafeBufferPointer<UInt8>
        while true {
            guard let l = try reader.next() else {
                throw fail("no \\data\\ header: the file is empty or not an ARPA language model", line: 0)
            }
            if isBlank(l) || l.first == UInt8(ascii: "#") { continue }
            line = l
            break
        }
        let first = text(line).trimmingASCIIWhitespace()
        if first != "\\data\\" {
            if first.hasPrefix("mmap lm ") {
                throw fail("this is a KenLM binary model; Sluice reads ARPA text (write it with lmplz, or `sluice lm train`)")
            }
            throw fail("expected \\data\\ as the first line that is not blank or a #-comment, found \"\(text(line, limit: 60))\"")
        }
        var counts: [Int] = []
        while let l = try reader.next() {
            if isBlank(l) {
                if counts.isEmpty { continue }
                break
            }
            guard let (n, c) = parseCountLine(l) else {
                throw fail("expected a count line such as \"ngram 1=1000\" in \\data\\, found \"\(text(l))\"")
            }
            guard n == counts.count + 1 else {
                throw fail("n-gram counts must list orders 1, 2, 3… in turn; found order \(n) after \(counts.count)")
            }
            counts.append(c)
        }
        guard !counts.isEmpty else { throw fail("\\data\\ lists no \"ngram N=COUNT\" lines") }
        let order = counts.count
        guard order <= 16 else { throw fail("order \(order) is more than the 16 Sluice supports") }
        guard counts[0] > 0 else { throw fail("\\data\\ says there are no 1-grams") }
        guard counts[0] < 1 << 28 else {
            throw fail("\\data\\ announces \(counts[0]) 1-grams, more than the 268 million words Sluice supports")
        }

        var warnings: [String] = []
        var fields: [Range<Int>] = []
        fields.reserveCapacity(order + 2)

        func header(_ n: Int) throws {
            while true {
                guard let l = try reader.next() else {
                    throw fail("the file ends before the \\\(n)-grams: section (truncated?)")
                }
                if isBlank(l) { continue }
                let s = text(l).trimmingASCIIWhitespace()
                if s == "\\\(n)-grams:" { return }
                if n > 1 && !s.hasPrefix("\\") {
                    throw fail(
                        "the \\\(n - 1)-grams: section holds more n-grams than the \(counts[n - 2]) that \\data\\ announces "
                            + "(expected \\\(n)-grams: here, found \"\(text(l, limit: 60))\")")
                }
                throw fail("expected \\\(n)-grams: here, found \"\(text(l, limit: 60))\"")
            }
        }

        /// The next n-gram line of a section, or an error naming what is wrong.
        func entryLine(_ n: Int, index: Int) throws -> UnsafeBufferPointer<UInt8> {
            while true {
                guard let l = try reader.next() else {
                    throw fail(
                        "the file ends after \(index) of the \(counts[n - 1]) \(n)-grams that \\data\\ announces (truncated?)")
                }
                if isBlank(l) { continue }
                if l.first == UInt8(ascii: "\\") {
                    throw fail(
                        "the \\\(n)-grams: section ends after \(index) n-grams but \\data\\ announces \(counts[n - 1]) "
                            + "(found \"\(text(l, limit: 40))\")")
                }
                return l
            }
        }

        func probability(_ l: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) throws -> Float {
            guard let p = parseFloat(l, r), !p.isNaN else {
                throw fail("expected a log10 probability, found \"\(text(l, r, limit: 40))\"")
            }
            if p > 0 {
                throw fail(
                    "positive log10 probability \(text(l, r)) (a log10 probability is at most 0; IRSTLM writes such files by mistake)")
            }
            return p
        }

        func backoff(_ l: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) throws -> Float {
            guard let b = parseFloat(l, r), b.isFinite else {
                throw fail("expected a finite log10 back-off weight, found \"\(text(l, r, limit: 40))\"")
            }
            return b == 0 ? .lmNoExtension : b
        }

        // 1-grams.
        try header(1)
        // The vocabulary holds the unigram weights; ids are slots, so it must never grow (it has
        // room for the announced count plus <unk>; a longer section is an error before that).
        var vocabulary = ProbingTable(expected: counts[0] + 1)
        let vocabularyCapacity = vocabulary.capacity
        var tables: [ProbingTable] = []
        var handedOver = false
        defer {
            if !handedOver {
                vocabulary.deallocate()
                for t in tables { t.deallocate() }
            }
        }
        // <unk>: -100 until the file gives its weights.
        let unkKey = "<unk>".utf8.withContiguousStorageIfAvailable { LMHash.bytes($0.baseAddress!, $0.count) }!
        let unk = UInt32(vocabulary.insert(LMEntry(key: unkKey, prob: Float(bitPattern: Float(-100).bitPattern | signBit), backoff: .lmNoExtension)).slot)
        var sawUnk = false
        var bos: UInt32?
        var eos: UInt32?
        for index in 0..<counts[0] {
            let l = try entryLine(1, index: index)
            arpaFields(l, into: &fields)
            guard fields.count == 2 || fields.count == 3 else {
                throw fail("a 1-gram line is \"log10prob word [log10backoff]\"; found \(fields.count) fields in \"\(text(l, limit: 80))\"")
            }
            let p = try probability(l, fields[0])
            let b: Float = fields.count == 3 ? try backoff(l, fields[2]) : .lmNoExtension
            if order == 1 && b != .lmNoExtension {
                throw fail("the highest order (1) has no back-off weights, but this 1-gram has \(text(l, fields[2]))")
            }
            let w = fields[1]
            let word = UnsafeBufferPointer(rebasing: l[w])
            let storedProb = Float(bitPattern: p.bitPattern | signBit)
            if isUnknownToken(word) {
                if sawUnk { throw fail("<unk> appears twice among the 1-grams") }
                sawUnk = true
                vocabulary.base[Int(unk)].prob = storedProb
                vocabulary.base[Int(unk)].backoff = b
                continue
            }
            let (slot, inserted) = vocabulary.insert(
                LMEntry(key: LMHash.bytes(word.baseAddress!, word.count), prob: storedProb, backoff: b))
            if !inserted {
                throw fail("the word \"\(text(l, w, limit: 60))\" appears twice among the 1-grams")
            }
            let id = UInt32(slot)
            if word.elementsEqual("<s>".utf8) { bos = id }
            if word.elementsEqual("</s>".utf8) { eos = id }
        }
        precondition(vocabulary.capacity == vocabularyCapacity, "the vocabulary table grew while ids were handed out")
        guard let bos else { throw fail("the 1-grams lack <s>, the start of a sentence, which scoring needs", line: 0) }
        guard let eos else { throw fail("the 1-grams lack </s>, the end of a sentence, which scoring needs", line: 0) }
        if !sawUnk {
            warnings.append("\(name): the ARPA file has no <unk>; unknown words get log10 probability -100, as in KenLM")
        }

        // 2-grams and up.
        var ids: [UInt32] = []
        var lines: [Int32] = []
        do {
            for n in 2...max(2, order) where n <= order {
                try header(n)
                // Tables start at the announced size (capped, so that a wrong header cannot
                // allocate terabytes) and grow if needed.
                var table = ProbingTable(expected: min(counts[n - 1], 1 << 26))
                ids.removeAll(keepingCapacity: true)
                ids.reserveCapacity(min(counts[n - 1], 1 << 26) * n)
                lines.removeAll(keepingCapacity: true)
                lines.reserveCapacity(min(counts[n - 1], 1 << 26))
                for index in 0..<counts[n - 1] {
                    let l = try entryLine(n, index: index)
                    arpaFields(l, into: &fields)
                    guard fields.count == n + 1 || fields.count == n + 2 else {
                        throw fail(
                            "a \(n)-gram line is \"log10prob w1 … w\(n)\(n < order ? " [log10backoff]" : "")\"; found \(fields.count) fields in \"\(text(l, limit: 80))\"")
                    }
                    let p = try probability(l, fields[0])
                    var b = Float.lmNoExtension
                    if fields.count == n + 2 {
                        b = try backoff(l, fields[n + 1])
                        if n == order && b != .lmNoExtension {
                            throw fail("the highest order (\(order)) has no back-off weights, but this \(n)-gram has \(text(l, fields[n + 1]))")
                        }
                    }
                    let base = ids.count
                    for k in 1...n {
                        let wr = fields[k]
                        let word = UnsafeBufferPointer(rebasing: l[wr])
                        let slot = isUnknownToken(word) ? Int(unk) : vocabulary.find(LMHash.bytes(word.baseAddress!, word.count))
                        if slot < 0 {
                            throw fail("the word \"\(text(l, wr, limit: 60))\" is not among the 1-grams (which must list the whole vocabulary)")
                        }
                        ids.append(UInt32(slot))
                    }
                    // Key: the last word, extended leftwards.
                    var key = LMHash.start(ids[base + n - 1])
                    for k in stride(from: n - 2, through: 0, by: -1) { key = LMHash.extend(key, ids[base + k]) }
                    let (_, inserted) = table.insert(LMEntry(key: key, prob: Float(bitPattern: p.bitPattern | signBit), backoff: b))
                    if !inserted {
                        throw fail("the \(n)-gram \"\(ngramText(l, fields, 1...n))\" appears twice")
                    }
                    lines.append(Int32(truncatingIfNeeded: reader.lineNumber))
                }
                tables.append(table)
                try repair(order: n, ids: ids, lines: lines, unigrams: vocabulary.base, tables: &tables, fail: fail)
            }
            // \end\
            while true {
                guard let l = try reader.next() else {
                    throw fail("the file ends without \\end\\ (truncated?)")
                }
                if isBlank(l) { continue }
                let s = text(l).trimmingASCIIWhitespace()
                if s == "\\end\\" { break }
                if !s.hasPrefix("\\") {
                    throw fail(
                        "the \\\(order)-grams: section holds more n-grams than the \(counts[order - 1]) that \\data\\ announces "
                            + "(expected \\end\\ here, found \"\(text(l, limit: 60))\")")
                }
                throw fail("expected \\end\\ after the \\\(order)-grams: section, found \"\(text(l, limit: 60))\"")
            }
            while let l = try reader.next() {
                if !isBlank(l) { throw fail("text after \\end\\: \"\(text(l, limit: 60))\"") }
            }
        }
        handedOver = true
        let storage = LMStorage(order: order, vocabulary: vocabulary, tables: tables, bos: bos, eos: eos, unk: unk)
        return Loaded(storage: storage, counts: counts, warnings: warnings)
    }

    static func isUnknownToken(_ word: UnsafeBufferPointer<UInt8>) -> Bool {
        word.elementsEqual("<unk>".utf8) || word.elementsEqual("<UNK>".utf8)
    }

    static func ngramText(_ l: UnsafeBufferPointer<UInt8>, _ fields: [Range<Int>], _ r: ClosedRange<Int>) -> String {
        r.map { text(l, fields[$0], limit: 40) }.joined(separator: " ")
    }

    /// KenLM's load-time repairs for the n-grams of one order, in file order:
    /// - the longest right-hand suffix the model has is marked "extends left"; suffixes that are
    ///   missing are inserted with the probability back-off gives them (KenLM's fix for SRILM's
    ///   pruning), so that a lookup walking leftwards finds the longer n-gram;
    /// - the context (the first n-1 words) must exist, and is marked as a context, so that the
    ///   scoring state keeps it even when its back-off is 0.
    static func repair(
        order n: Int, ids: [UInt32], lines: [Int32], unigrams: UnsafeMutablePointer<LMEntry>, tables: inout [ProbingTable],
        fail: (String, Int?) -> ARPAFormatError
    ) throws {
        var keys = [UInt64](repeating: 0, count: n)
        for g in 0..<(ids.count / n) {
            let b = g * n
            // keys[m-1]: the key of the right-aligned suffix of length m.
            keys[0] = LMHash.start(ids[b + n - 1])
            for m in 2...n { keys[m - 1] = LMHash.extend(keys[m - 2], ids[b + n - m]) }
            // The longest suffix (shorter than n) that exists.
            var basis = 1
            var m = n - 1
            while m >= 2 {
                if tables[m - 2].find(keys[m - 1]) >= 0 {
                    basis = m
                    break
                }
                m -= 1
            }
            if basis == n - 1 {
                markExtendsLeft(order: basis, key: keys[basis - 1], word: ids[b + n - 1], unigrams: unigrams, tables: &tables)
            } else {
                // Fill in suffixes basis+1 … n-1 with backed-off probabilities (in single
                // precision, in KenLM's order), all marked as extending left.
                markExtendsLeft(order: basis, key: keys[basis - 1], word: ids[b + n - 1], unigrams: unigrams, tables: &tables)
                var prob = basis == 1 ? unigrams[Int(ids[b + n - 1])].prob.lmProbability
                    : tables[basis - 2].base[tables[basis - 2].find(keys[basis - 1])].prob.lmProbability
                var contextKey: UInt64 = 0
                for blank in (basis + 1)...(n - 1) {
                    // The blank's context: words n-blank … n-2 (0-based), of order blank-1.
                    if blank == 2 {
                        let c = Int(ids[b + n - 2])
                        if !unigrams[c].backoff.lmHasExtension { unigrams[c].backoff = 0 }
                        prob += unigrams[c].backoff
                    } else {
                        if blank == basis + 1 || contextKey == 0 {
                            contextKey = LMHash.start(ids[b + n - 2])
                            for k in stride(from: n - 3, through: n - blank, by: -1) { contextKey = LMHash.extend(contextKey, ids[b + k]) }
                        } else {
                            contextKey = LMHash.extend(contextKey, ids[b + n - blank])
                        }
                        let s = tables[blank - 3].find(contextKey)
                        if s >= 0 {
                            if !tables[blank - 3].base[s].backoff.lmHasExtension { tables[blank - 3].base[s].backoff = 0 }
                            prob += tables[blank - 3].base[s].backoff
                        }
                    }
                    let stored = Float(bitPattern: prob.bitPattern & ~signBit)
                    _ = tables[blank - 2].insert(LMEntry(key: keys[blank - 1], prob: stored, backoff: .lmNoExtension))
                }
            }
            // The context must exist.
            if n == 2 {
                let c = Int(ids[b])
                if !unigrams[c].backoff.lmHasExtension { unigrams[c].backoff = 0 }
            } else {
                var key = LMHash.start(ids[b + n - 2])
                for k in stride(from: n - 3, through: 0, by: -1) { key = LMHash.extend(key, ids[b + k]) }
                let s = tables[n - 3].find(key)
                if s < 0 {
                    throw fail(
                        "this \(n)-gram's context (its first \(n - 1) words) is not among the \(n - 1)-grams; "
                            + "every n-gram's context must be an n-gram (as KenLM requires)", Int(lines[g]))
                }
                if !tables[n - 3].base[s].backoff.lmHasExtension { tables[n - 3].base[s].backoff = 0 }
            }
        }
    }

    static func markExtendsLeft(order: Int, key: UInt64, word: UInt32, unigrams: UnsafeMutablePointer<LMEntry>, tables: inout [ProbingTable]) {
        if order == 1 {
            let u = unigrams[Int(word)].prob
            unigrams[Int(word)].prob = Float(bitPattern: u.bitPattern & ~signBit)
        } else {
            let s = tables[order - 2].find(key)
            let e = tables[order - 2].base[s].prob
            tables[order - 2].base[s].prob = Float(bitPattern: e.bitPattern & ~signBit)
        }
    }
}
