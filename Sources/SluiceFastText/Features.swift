#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What turns tokens into input rows: character n-gram lengths, bucket count, word n-gram order.
struct FeatureParameters: Sendable {
    var minn: Int
    var maxn: Int
    var bucket: UInt32
    var wordNgrams: Int

    init(_ args: FastTextArgs) {
        minn = Int(args.minn)
        maxn = Int(args.maxn)
        bucket = UInt32(max(0, args.bucket))
        wordNgrams = Int(args.wordNgrams)
    }
}

/// Bytes that end a token: space, `\n`, `\r`, `\t`, `\v`, `\f` and NUL (fastText's `readWord`).
@inline(__always)
func isFastTextSeparator(_ b: UInt8) -> Bool {
    b <= 32 && (UInt64(0x1_0000_3E01) >> UInt64(b)) & 1 == 1
}

/// Where one line's features go; reused from call to call so that steady-state work allocates
/// nothing.
struct LineBuffers {
    var rows: [Int32] = []
    var hashes: [Int32] = []
    var labels: [Int32] = []
    var word: [UInt8] = []

    mutating func reset() {
        rows.removeAll(keepingCapacity: true)
        hashes.removeAll(keepingCapacity: true)
        labels.removeAll(keepingCapacity: true)
    }
}

extension FastTextDictionary {
    /// Appends an n-gram bucket's row (`nwords + bucket`, mapped through the prune index) as
    /// fastText's `pushHash` does.
    @inline(__always)
    func pushBucket(_ bucket: Int32, into rows: inout [Int32]) {
        let m = mapBucket(bucket)
        if m >= 0 { rows.append(Int32(nwords) + m) }
    }

    /// The character n-gram rows of a word given with its `<` and `>` (fastText's
    /// `computeSubwords`): every run of `minn...maxn` code points, except a lone `<` or `>`.
    @inline(__always)
    func addCharNgrams(_ w: UnsafePointer<UInt8>, _ len: Int, _ p: FeatureParameters, into rows: inout [Int32]) {
        if p.maxn <= 0 || p.bucket == 0 { return }
        var i = 0
        while i < len {
            if w[i] & 0xC0 == 0x80 {
                i += 1
                continue
            }
            var h: UInt32 = 2_166_136_261
            var j = i
            var n = 1
            while j < len && n <= p.maxn {
                h = fnvStep(h, w[j])
                j += 1
                while j < len && w[j] & 0xC0 == 0x80 {
                    h = fnvStep(h, w[j])
                    j += 1
                }
                if n >= p.minn && !(n == 1 && (i == 0 || j == len)) {
                    pushBucket(Int32(bitPattern: h % p.bucket), into: &rows)
                }
                n += 1
            }
            i += 1
        }
    }

    /// Handles one token as fastText's `getLine` does. Returns true when the token is `</s>`,
    /// which ends the line.
    @inline(__always)
    func addToken(
        _ tok: UnsafePointer<UInt8>, _ n: Int, _ p: FeatureParameters, _ buffers: inout LineBuffers,
        _ wordBuf: UnsafeMutablePointer<UInt8>
    ) -> Bool {
        let h = fastTextHash(tok, n)
        let wid = Self.find(tok, n, h, table: pTable, mask: tableMask, hashes: pHashes, starts: pStarts, bytes: pBytes)
        let isEOS = h == Self.eosHash && n == 4 && tok[0] == 60 && tok[1] == 47 && tok[2] == 115 && tok[3] == 62
        let isLabel: Bool
        if wid >= 0 {
            isLabel = pTypes[Int(wid)] == 1
        } else {
            isLabel = n >= labelPrefix.count && labelPrefix.withUnsafeBufferPointer { memcmp(tok, $0.baseAddress!, $0.count) == 0 }
        }
        if !isLabel {
            if wid >= 0 {
                buffers.rows.append(wid)
            }
            if !isEOS && p.maxn > 0 {
                wordBuf[0] = 60  // <
                (wordBuf + 1).update(from: tok, count: n)
                wordBuf[n + 1] = 62  // >
                addCharNgrams(wordBuf, n + 2, p, into: &buffers.rows)
            }
            buffers.hashes.append(Int32(bitPattern: h))
        } else if wid >= 0 {
            buffers.labels.append(wid - Int32(nwords))
        }
        return isEOS
    }

    /// Appends the word n-gram rows (fastText's `addWordNgrams`).
    @inline(__always)
    func addWordNgrams(_ p: FeatureParameters, _ buffers: inout LineBuffers) {
        let n = p.wordNgrams
        if n <= 1 || p.bucket == 0 { return }
        let bucket = UInt64(p.bucket)
        let count = buffers.hashes.count
        for i in 0..<count {
            var h = UInt64(bitPattern: Int64(buffers.hashes[i]))
            var j = i + 1
            while j < count && j < i + n {
                h = h &* 116_049_371 &+ UInt64(bitPattern: Int64(buffers.hashes[j]))
                pushBucket(Int32(truncatingIfNeeded: h % bucket), into: &buffers.rows)
                j += 1
            }
        }
    }

    /// Reads one line of tokens from `text[start...]` exactly as fastText's `getLine` does and
    /// leaves its input rows and labels in `buffers`.
    ///
    /// - Parameters:
    ///   - newlineEndsLine: true to stop at a newline as fastText's file reading does (the
    ///     newline becomes `</s>`); false to treat newlines as spaces.
    ///   - eosAtEnd: when the text ends without `</s>`, add one, as fastText's Python
    ///     `predict` does by appending a newline.
    /// - Returns: where the next line starts, and the number of tokens read.
    func readLine(
        _ text: UnsafePointer<UInt8>, count: Int, from start: Int, newlineEndsLine: Bool, eosAtEnd: Bool,
        _ p: FeatureParameters, _ buffers: inout LineBuffers
    ) -> (end: Int, tokens: Int) {
        buffers.reset()
        // The word buffer must hold the longest token plus `<` and `>`.
        if buffers.word.count < 64 { buffers.word = [UInt8](repeating: 0, count: 64) }
        var i = start
        var tokens = 0
        var ended = false
        var wordBuf = buffers.word
        buffers.word = []
        defer { buffers.word = wordBuf }
        while i < count {
            let b = text[i]
            if isFastTextSeparator(b) {
                i += 1
                if b == 10 && newlineEndsLine {
                    tokens += 1
                    _ = Self.eos.withUnsafeBufferPointer { e in
                        wordBuf.withUnsafeMutableBufferPointer { addToken(e.baseAddress!, 4, p, &buffers, $0.baseAddress!) }
                    }
                    ended = true
                    break
                }
                continue
            }
            let s = i
            i += 1
            while i < count && !isFastTextSeparator(text[i]) { i += 1 }
            let n = i - s
            if n + 2 > wordBuf.count {
                wordBuf = [UInt8](repeating: 0, count: max(n + 2, wordBuf.count * 2))
            }
            tokens += 1
            let isEOS = wordBuf.withUnsafeMutableBufferPointer { addToken(text + s, n, p, &buffers, $0.baseAddress!) }
            if isEOS {
                ended = true
                break
            }
        }
        if !ended && eosAtEnd {
            tokens += 1
            _ = Self.eos.withUnsafeBufferPointer { e in
                wordBuf.withUnsafeMutableBufferPointer { addToken(e.baseAddress!, 4, p, &buffers, $0.baseAddress!) }
            }
        }
        addWordNgrams(p, &buffers)
        return (i, tokens)
    }
}
