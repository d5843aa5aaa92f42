internal import CLibXML2

/// libxml2 is initialised once per process, before the first parse (swift_once makes this
/// thread-safe); `xmlCleanupParser` is never called.
private let libxml2Ready: Void = { xmlInitParser() }()

/// The one place that touches libxml2: a scoped handle around an HTML push-parser context whose
/// SAX callbacks feed a ``HTMLBlockBuilder``. No DOM is built: libxml2 tokenises, decodes
/// entities and repairs the tag structure (auto-closing, misnesting), and the builder keeps only
/// what extraction needs.
///
/// Options: `RECOVER | NOERROR | NOWARNING | NONET | COMPACT | IGNORE_ENC` and, consciously,
/// `XML_PARSE_HUGE`: without it libxml2 silently cuts text nodes at 10 MB and stops at depth 256
/// (dropping the rest of the page). With it nothing is cut, so the builder enforces its own
/// guards (bytes, depth, time) and stops the parser with `xmlStopParser` when one trips. Input
/// is always UTF-8 (the reader decodes charsets first), so `<meta charset>` is ignored.
///
/// The input is fed in chunks so the time budget is also checked between chunks, where libxml2
/// may work without calling back (long runs of stray end tags).
enum LibXML2SAX {
    static let chunkSize = 1 << 18

    /// Parses UTF-8 `html` into `builder`.
    static func parse(_ html: UnsafeRawBufferPointer, into builder: HTMLBlockBuilder) {
        _ = libxml2Ready
        var sax = htmlSAXHandler()
        sax.startElement = { ctx, name, atts in
            guard let ctx, let name else { return }
            let b = Unmanaged<HTMLBlockBuilder>.fromOpaque(ctx).takeUnretainedValue()
            b.state.startElement(name, atts)
            if b.state.stopRequested { LibXML2SAX.stop(b) }
        }
        sax.endElement = { ctx, name in
            guard let ctx, let name else { return }
            let b = Unmanaged<HTMLBlockBuilder>.fromOpaque(ctx).takeUnretainedValue()
            b.state.endElement(name)
            if b.state.stopRequested { LibXML2SAX.stop(b) }
        }
        sax.characters = { ctx, ch, len in
            guard let ctx, let ch, len > 0 else { return }
            let b = Unmanaged<HTMLBlockBuilder>.fromOpaque(ctx).takeUnretainedValue()
            b.state.characters(ch, Int(len))
            if b.state.stopRequested { LibXML2SAX.stop(b) }
        }
        sax.ignorableWhitespace = sax.characters
        sax.cdataBlock = { _, _, _ in }  // script and style bodies: never text

        let user = Unmanaged.passUnretained(builder).toOpaque()
        guard let ctxt = htmlCreatePushParserCtxt(&sax, user, nil, 0, nil, XML_CHAR_ENCODING_UTF8) else {
            builder.parserFailed = true
            return
        }
        defer {
            if let doc = ctxt.pointee.myDoc { xmlFreeDoc(doc) }
            builder.parserContext = nil
            htmlFreeParserCtxt(ctxt)
        }
        let options = Int32(bitPattern: HTML_PARSE_RECOVER.rawValue | HTML_PARSE_NOERROR.rawValue
            | HTML_PARSE_NOWARNING.rawValue | HTML_PARSE_NONET.rawValue | HTML_PARSE_COMPACT.rawValue
            | HTML_PARSE_IGNORE_ENC.rawValue) | Int32(bitPattern: XML_PARSE_HUGE.rawValue)
        htmlCtxtUseOptions(ctxt, options)
        builder.parserContext = UnsafeMutableRawPointer(ctxt)
        guard let base = html.baseAddress, html.count > 0 else {
            htmlParseChunk(ctxt, nil, 0, 1)
            return
        }
        let chars = base.assumingMemoryBound(to: CChar.self)
        var offset = 0
        while offset < html.count {
            let n = min(chunkSize, html.count - offset)
            let last = offset + n == html.count
            htmlParseChunk(ctxt, chars + offset, Int32(n), last ? 1 : 0)
            offset += n
            if builder.state.stopRequested || builder.state.checkBudgetNow() { return }
        }
    }

    private static func stop(_ b: HTMLBlockBuilder) {
        guard let raw = b.parserContext else { return }
        xmlStopParser(raw.assumingMemoryBound(to: xmlParserCtxt.self))
        b.parserContext = nil
    }
}
