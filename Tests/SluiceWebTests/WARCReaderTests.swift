import Foundation
import SluiceCore
import SluiceIO
import SluiceTestSupport
import SluiceWeb
import Testing

@Suite("WARC reader")
struct WARCReaderTests {
    @Test("plain, per-record gzip, whole-file gzip and per-record zstd give the same documents")
    func sameDocumentsFromEveryContainer() throws {
        let plain = try readAll(fixture("multilang.warc"))
        #expect(plain.documents.count == 15)
        for name in ["multilang.warc.gz", "multilang-whole.warc.gz", "multilang.warc.zst"] {
            let other = try readAll(fixture(name))
            #expect(other.ids == plain.ids, "\(name)")
            #expect(other.documents.map(\.text) == plain.documents.map(\.text), "\(name)")
            #expect(other.skipped == plain.skipped, "\(name)")
            #expect(other.problems.isEmpty, "\(name): \(other.problems)")
        }
        #expect(plain.skipped == ["not_selected": 2, "binary_content": 1])
        #expect(plain.ignored == ["warc_request_records": 17, "warc_warcinfo_records": 1])
    }

    @Test("pages in Japanese, Chinese, Korean, Russian and Western European charsets decode to the right text")
    func charsetsComeOutRight() throws {
        let manifest = try fixtureManifest()
        let read = try readAll(fixture("multilang.warc.gz"))
        guard case .array(let expected)? = manifest["multilang"] else { throw FixtureError() }
        var checked = 0
        for e in expected where e["outcome"]?.string == "document" {
            let id = e["id"]!.string
            guard let doc = read.document(id) else {
                Issue.record("missing document \(id) (\(e["url"]!.string))")
                continue
            }
            #expect(doc.metadata["charset"]?.stringValue == e["charset"]!.string, "\(e["url"]!.string)")
            let title = e["title"]!.string
            #expect(!title.isEmpty)
            guard case .extracted(_, let got) = HTMLExtractor().extract(doc.text) else {
                Issue.record("no text from \(e["url"]!.string)")
                continue
            }
            #expect(normalized(got ?? "") == normalized(title), "\(e["url"]!.string)")
            #expect(!doc.text.contains("\u{FFFD}"), "\(e["url"]!.string) has replacement characters")
            checked += 1
        }
        #expect(checked == 15)
        // WHATWG label mapping: gb2312 is read as GBK, iso-8859-1 as windows-1252.
        let zh = read.documents.first { $0.metadata["url"]?.stringValue?.hasSuffix("upload.zh-cn.html") == true }!
        #expect(zh.text.contains("镕 堃 喆"))
        let de = read.documents.first { $0.metadata["url"]?.stringValue?.hasSuffix("upload.de.html") == true }!
        #expect(de.text.contains("10 € „Zitat“ – Ende"))
    }

    @Test("documents carry id, url, date, type, charset, status, file and an offset that finds the record")
    func metadataTracesEveryDocumentToItsBytes() throws {
        let path = fixture("multilang.warc.gz")
        let read = try readAll(path)
        let file = try readFile(path)
        for doc in read.documents {
            let m = doc.metadata
            #expect(doc.id.hasPrefix("urn:uuid:"))
            #expect(m["url"]?.stringValue?.hasPrefix("https://") == true)
            #expect(m["warc_date"]?.stringValue?.hasPrefix("2024-03-01T") == true)
            #expect(m["content_type"]?.stringValue == "text/html")
            #expect(m["warc_file"]?.stringValue == path)
            #expect(m["warc_offset_in_member"] == nil)
            guard case .number(let n)? = m["warc_offset"], let offset = n.intValue else {
                Issue.record("no warc_offset")
                continue
            }
            // The gzip member at that offset holds this record.
            let member = try GzipDecompressor.decompress(Array(file[offset...].prefix(200_000)))
            let head = String(decoding: member.prefix(600), as: UTF8.self)
            #expect(head.hasPrefix("WARC/1.1"))
            #expect(head.contains("WARC-Record-ID: <\(doc.id)>"))
        }
        let statuses = Set(read.documents.compactMap { $0.metadata["http_status"]?.doubleValue })
        #expect(statuses == [200])
        // Whole-file gzip: the member is the file, the offset inside it is given.
        let whole = try readAll(fixture("multilang-whole.warc.gz"))
        let plain = try readAll(fixture("multilang.warc"))
        for (w, p) in zip(whole.documents, plain.documents) {
            #expect(w.metadata["warc_offset"] == .int(0))
            #expect(w.metadata["warc_offset_in_member"] == p.metadata["warc_offset"])
        }
    }

    @Test("chunked, gzip and raw-deflate HTTP bodies are decoded")
    func transferAndContentEncodings() throws {
        let read = try readAll(fixture("multilang.warc"))
        let es = read.documents.first { $0.metadata["url"]?.stringValue?.hasSuffix("upload.es.html") == true }
        let it = read.documents.first { $0.metadata["url"]?.stringValue?.hasSuffix("upload.it.html") == true }
        #expect(es?.text.hasPrefix("<!DOCTYPE") == true || es?.text.hasPrefix("<?xml") == true || es?.text.hasPrefix("<html") == true)
        #expect(es?.text.contains("</html>") == true)
        #expect(it?.text.contains("</html>") == true)
        // The deflate page has no HTTP Content-Type: the identified payload type is used.
        #expect(it?.metadata["content_type"]?.stringValue == "text/html")
    }

    @Test("record types, MIME types, statuses and the size limit select records")
    func optionsSelectRecords() throws {
        var options = WARCReaderOptions()
        options.httpStatuses = []
        var read = try readAll(fixture("multilang.warc.gz"), options)
        #expect(read.documents.count == 16)  // the 404 page too
        options = WARCReaderOptions(mimeTypes: ["image/*"])
        read = try readAll(fixture("multilang.warc.gz"), options)
        #expect(read.documents.isEmpty)
        #expect(read.skipped["binary_content"] == 1)  // the PNG is selected by MIME type but is binary
        options = WARCReaderOptions(recordTypes: ["resource"])
        read = try readAll(fixture("multilang.warc.gz"), options)
        #expect(read.documents.count == 1)
        #expect(read.ignored["warc_response_records"] == 17)
        options = WARCReaderOptions(maxRecordBytes: ByteSize(bytes: 20_000))
        read = try readAll(fixture("multilang.warc.gz"), options)
        #expect(read.skipped["too_large", default: 0] >= 2)
        #expect(read.documents.allSatisfy { $0.text.utf8.count < 20_000 })
    }

    @Test("a damaged .warc.gz loses only the damaged records and reports each problem with file and offset")
    func damagedGzipResynchronises() throws {
        let manifest = try fixtureManifest()
        let expected = manifest["damaged_gz"]!
        let path = fixture("damaged.warc.gz")
        let read = try readAll(path)
        let ids = expected["documents"]!.arrayValue!.map(\.string)
        #expect(read.ids == ids)
        #expect(read.lost == 4)
        #expect(read.problems.count >= 5)
        for p in read.problems {
            #expect(p.path == path)
            #expect(p.offset >= 0)
            #expect(p.description.contains("damaged.warc.gz: at byte"))
        }
        #expect(read.problems.contains { $0.message.contains("truncated gzip member") })
        #expect(read.problems.contains { $0.message.contains("wrong Content-Length") })
        #expect(read.problems.contains { $0.message.contains("not a gzip member") && !$0.lostRecord })
    }

    @Test("a damaged plain .warc: garbage, a too-short Content-Length and a truncated last record")
    func damagedPlainResynchronises() throws {
        let manifest = try fixtureManifest()
        let expected = manifest["damaged_plain"]!
        let read = try readAll(fixture("damaged.warc"))
        #expect(read.ids == expected["documents"]!.arrayValue!.map(\.string))
        #expect(read.lost == 2)
        #expect(read.problems.contains { $0.message.contains("garbage") && !$0.lostRecord })
        #expect(read.problems.contains { $0.message.contains("truncated record") })
    }

    @Test("every truncation point of a .warc.gz is survived without a crash or a bad document")
    func everyTruncationPoint() throws {
        let bytes = try readFile(fixture("multilang.warc.gz"))
        let full = try readAll(fixture("multilang.warc.gz"))
        let dir = TemporaryDirectory()
        var previous = -1
        for cut in stride(from: 0, to: bytes.count, by: bytes.count / 9 + 1) {
            let path = dir.file("cut.warc.gz")
            try writeFile(path, Array(bytes[0..<cut]))
            let read = try readAll(path)
            #expect(read.documents.count >= previous - 1)
            previous = read.documents.count
            for d in read.documents {
                #expect(full.document(d.id)?.text == d.text)
            }
        }
    }

    @Test("WET conversion records are read as UTF-8 text")
    func wetConversionRecords() throws {
        let manifest = try fixtureManifest()
        let read = try readAll(fixture("sample.warc.wet.gz"))
        let expected = manifest["wet"]!.arrayValue!
        #expect(read.ids == expected.map { $0["id"]!.string })
        for (d, e) in zip(read.documents, expected) {
            #expect(d.metadata["content_type"]?.stringValue == "text/plain")
            #expect(d.metadata["http_status"] == .null)
            #expect(d.text.hasPrefix(e["first_line"]!.string))
        }
    }

    @Test("a .warc.zst with a dictionary in a skippable frame is read")
    func zstdDictionary() throws {
        // Build one with the zstd tool: a dictionary trained on the fixture pages, then each
        // record compressed with it, the dictionary stored in a 0x184D2A5D skippable frame.
        let dir = TemporaryDirectory()
        let records = try splitRecords(try readFile(fixture("multilang.warc")))
        var samples: [String] = []
        for (i, r) in records.enumerated() {
            let p = dir.file("r\(i).warc")
            try writeFile(p, r)
            samples.append(p)
        }
        let dict = dir.file("dict")
        let train = try runCommand("/usr/bin/env", ["zstd", "-q", "--train", "--maxdict=16384", "-o", dict] + samples)
        try #require(train.status == 0, "zstd --train failed: \(train.stderr)")
        let dictBytes = try readFile(dict)
        var out: [UInt8] = [0x5D, 0x2A, 0x4D, 0x18]
        let n = UInt32(dictBytes.count)
        out += [UInt8(n & 0xFF), UInt8((n >> 8) & 0xFF), UInt8((n >> 16) & 0xFF), UInt8(n >> 24)]
        out += dictBytes
        for s in samples {
            let c = try runCommand("/usr/bin/env", ["zstd", "-q", "-c", "-D", dict, s, "-o", s + ".zst"])
            try #require(c.status == 0, "\(c.stderr)")
            out += try readFile(s + ".zst")
        }
        let path = dir.file("dict.warc.zst")
        try writeFile(path, out)
        let read = try readAll(path)
        let plain = try readAll(fixture("multilang.warc"))
        #expect(read.ids == plain.ids)
        #expect(read.problems.isEmpty)
    }

    @Test("reader options decode from the input block with defaults and validation")
    func optionsDecode() throws {
        let o = try JSONDecoder().decode(WARCReaderOptions.self, from: Data("{}".utf8))
        #expect(o.recordTypes == ["response", "resource", "conversion"])
        #expect(o.httpStatuses == [200])
        #expect(o.maxRecordBytes.bytes == 64 << 20)
        #expect(throws: (any Error).self) {
            try JSONDecoder().decode(WARCReaderOptions.self, from: Data(#"{"record_types": ["request"]}"#.utf8))
        }
        #expect(throws: (any Error).self) {
            try JSONDecoder().decode(WARCReaderOptions.self, from: Data(#"{"mime_types": ["html"]}"#.utf8))
        }
    }
}

/// Splits a plain WARC into its records (by Content-Length).
func splitRecords(_ bytes: [UInt8]) throws -> [[UInt8]] {
    var out: [[UInt8]] = []
    var i = 0
    while i < bytes.count {
        guard let headerEnd = find(bytes, Array("\r\n\r\n".utf8), from: i) else { break }
        let header = String(decoding: bytes[i..<headerEnd], as: UTF8.self)
        guard let line = header.split(separator: "\r\n").first(where: { $0.hasPrefix("Content-Length:") }),
            let n = Int(line.dropFirst(15).trimmingCharacters(in: .whitespaces))
        else { throw FixtureError() }
        let end = headerEnd + 4 + n + 4
        out.append(Array(bytes[i..<end]))
        i = end
    }
    return out
}

func find(_ hay: [UInt8], _ needle: [UInt8], from: Int) -> Int? {
    var i = from
    while i + needle.count <= hay.count {
        if hay[i] == needle[0] && Array(hay[i..<(i + needle.count)]) == needle { return i }
        i += 1
    }
    return nil
}
