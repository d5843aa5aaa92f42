import Foundation
import SluiceCore
import SluiceIO
import SluiceStats
import SluiceTestSupport
import Testing

/// Chromium from Debian's `chromium` package, if installed.
let chromiumPath: String? = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
    .first { FileManager.default.isExecutableFile(atPath: $0) }

/// Measures every chart after layout and writes the result into the page, for --dump-dom.
private let checkScript = """
    <script>
    (function(){
      var charts=[].slice.call(document.querySelectorAll('svg.chart'));
      var res={charts:charts.length,drawn:0,bars:0,visible:0,overflow:document.documentElement.scrollWidth>window.innerWidth+1,
               width:window.innerWidth,smallest:1e9};
      res.failed=[];
      charts.forEach(function(svg){
        var r=svg.getBoundingClientRect(); var n=0;
        var bars=[].slice.call(svg.querySelectorAll('rect.bar')); var big=null, area=0;
        bars.forEach(function(b){var q=b.getBoundingClientRect();
          if(q.width>0&&q.height>0&&q.right<=r.right+1&&q.left>=r.left-1) n++;
          if(q.width*q.height>area){area=q.width*q.height; big=b;}});
        if(r.width>150&&r.height>20&&n>0) res.drawn++; else res.failed.push(svg.getAttribute('aria-label')+' '+r.width+'x'+r.height+' bars '+n);
        res.smallest=Math.min(res.smallest,r.width);
        res.bars+=n;
        if(big){big.scrollIntoView({block:'center'}); var q=big.getBoundingClientRect();
          var hit=document.elementFromPoint(q.left+q.width/2,q.top+q.height/2);
          if(hit===big||(hit&&hit.parentNode===big)) res.visible++; else res.failed.push('hidden: '+svg.getAttribute('aria-label'));}
      });
      var pre=document.createElement('pre'); pre.id='sluice-check'; pre.textContent='SLUICE'+'CHECK:'+JSON.stringify(res)+':END'+'CHECK';
      document.body.appendChild(pre);
    })();
    </script>
    """

@Suite("the HTML report in a real browser", .serialized)
struct ReportBrowserTests {
    let sluice = sluiceExecutable()

    /// Renders `html` in headless Chromium at a window width and returns the check result.
    func measure(_ htmlPath: String, width: Int, dir: TemporaryDirectory) throws -> [String: Any] {
        let html = try String(contentsOfFile: htmlPath, encoding: .utf8)
        let probe = dir.file("probe-\(width).html")
        try writeFile(probe, html.replacingOccurrences(of: "</body>", with: checkScript + "</body>"))
        let r = try runCommand(
            chromiumPath!, ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=\(width),900",
                            "--virtual-time-budget=3000", "--dump-dom", "file://" + probe],
            environment: ["HOME": dir.path])
        #expect(r.status == 0, "chromium failed: \(r.stderr.suffix(500))")
        guard let start = r.stdout.range(of: "SLUICECHECK:"), let end = r.stdout.range(of: ":ENDCHECK", range: start.upperBound..<r.stdout.endIndex) else {
            Issue.record("no check result in the DOM: \(r.stdout.prefix(300))")
            return [:]
        }
        return try JSONSerialization.jsonObject(with: Data(r.stdout[start.upperBound..<end.lowerBound].utf8)) as! [String: Any]
    }

    @Test("the report of a real run is one self-contained file whose charts Chromium draws on a phone and a desktop",
          .enabled(if: chromiumPath != nil, "Chromium is not installed (apt-get install chromium); the browser check is skipped"))
    func reportRendersInChromium() throws {
        let dir = TemporaryDirectory()
        try writeWebCorpus(dir)
        let out = dir.path + "/out"
        let run = try runCommand(sluice, ["run", try webPipeline(dir, out: out), "--quiet"])
        #expect(run.status == 0, "\(run.stderr)")
        let report = dir.path + "/report/report.html"
        let r = try runCommand(sluice, ["report", out, "-o", report])
        #expect(r.status == 0, "\(r.stderr)")
        let html = try String(contentsOfFile: report, encoding: .utf8)
        // Self-contained: no external resources, no script.
        for bad in ["<script", "<link", "src=", "@import", "url(", "href=\"http"] {
            #expect(!html.contains(bad), "the report references \(bad)")
        }
        // Dropped examples per reason are there, escaped.
        #expect(html.contains("Dropped by length_filter: too_few_words"))
        #expect(html.contains("Too short to keep, really."))
        #expect(html.contains("docs.python.org"))
        for width in [390, 1280] {
            let m = try measure(report, width: width, dir: dir)
            let charts = m["charts"] as? Int ?? 0
            // Funnel, reasons, 3 lengths, 2 metadata fields, languages, domains, sources, content types, 2 shard charts.
            #expect(charts >= 13, "only \(charts) charts at \(width)px")
            #expect(m["drawn"] as? Int == charts, "at \(width)px only \(m["drawn"] ?? 0) of \(charts) charts have drawn bars: \(m["failed"] ?? "")")
            #expect(m["visible"] as? Int == charts, "at \(width)px the largest bar of \(charts - (m["visible"] as? Int ?? 0)) charts is hidden: \(m["failed"] ?? "")")
            #expect(m["overflow"] as? Bool == false, "the page scrolls sideways at \(width)px")
            #expect((m["smallest"] as? Double ?? 0) >= (width < 500 ? 300 : 400), "a chart is too narrow at \(width)px: \(m["smallest"] ?? 0)")
        }
        // A screenshot's pixels: the chart colours are there.
        let png = dir.path + "/shot.png"
        let shot = try runCommand(
            chromiumPath!, ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1280,2400",
                            "--screenshot=" + png, "file://" + report], environment: ["HOME": dir.path])
        #expect(shot.status == 0)
        let image = try decodePNG(try readFile(png))
        var blue = 0
        var green = 0
        var red = 0
        for i in stride(from: 0, to: image.pixels.count, by: 4) {
            let (r, g, b) = (Int(image.pixels[i]), Int(image.pixels[i + 1]), Int(image.pixels[i + 2]))
            if abs(r - 0x3b) < 12 && abs(g - 0x5b) < 12 && abs(b - 0xdb) < 12 { blue += 1 }
            if abs(r - 0x2f) < 12 && abs(g - 0x9e) < 12 && abs(b - 0x44) < 12 { green += 1 }
            if abs(r - 0xe0) < 12 && abs(g - 0x31) < 12 && abs(b - 0x31) < 12 { red += 1 }
        }
        #expect(blue > 20_000 && green > 5_000 && red > 1_000, "chart colours in the screenshot: blue \(blue), green \(green), red \(red)")
    }
}

/// A decoded 8-bit RGB or RGBA PNG, as RGBA pixels.
struct DecodedPNG {
    var width: Int
    var height: Int
    var pixels: [UInt8]
}

/// Decodes the PNGs Chromium writes (8-bit RGB/RGBA, not interlaced) with zlib.
func decodePNG(_ bytes: [UInt8]) throws -> DecodedPNG {
    struct PNGError: Error, CustomStringConvertible { let description: String }
    guard bytes.count > 8, bytes[1] == 0x50, bytes[2] == 0x4E, bytes[3] == 0x47 else { throw PNGError(description: "not a PNG") }
    func u32(_ i: Int) -> Int { Int(bytes[i]) << 24 | Int(bytes[i + 1]) << 16 | Int(bytes[i + 2]) << 8 | Int(bytes[i + 3]) }
    var i = 8
    var width = 0
    var height = 0
    var channels = 4
    var idat: [UInt8] = []
    while i + 8 <= bytes.count {
        let len = u32(i)
        let type = String(decoding: bytes[(i + 4)..<(i + 8)], as: UTF8.self)
        let data = Array(bytes[(i + 8)..<(i + 8 + len)])
        if type == "IHDR" {
            width = u32(i + 8)
            height = u32(i + 12)
            guard data[8] == 8, data[12] == 0 else { throw PNGError(description: "only 8-bit non-interlaced PNGs") }
            channels = data[9] == 6 ? 4 : data[9] == 2 ? 3 : 0
            guard channels > 0 else { throw PNGError(description: "colour type \(data[9]) not supported") }
        } else if type == "IDAT" {
            idat += data
        }
        i += 12 + len
    }
    let raw = try GzipDecompressor.decompress(idat)
    let stride = width * channels
    var out = [UInt8](repeating: 0, count: width * height * 4)
    var prev = [UInt8](repeating: 0, count: stride)
    var line = [UInt8](repeating: 0, count: stride)
    for y in 0..<height {
        let base = y * (stride + 1)
        let filter = raw[base]
        for x in 0..<stride {
            let v = raw[base + 1 + x]
            let a = x >= channels ? Int(line[x - channels]) : 0
            let b = Int(prev[x])
            let c = x >= channels ? Int(prev[x - channels]) : 0
            var p: Int
            switch filter {
            case 1: p = a
            case 2: p = b
            case 3: p = (a + b) / 2
            case 4:
                let e = a + b - c
                let (pa, pb, pc) = (abs(e - a), abs(e - b), abs(e - c))
                p = pa <= pb && pa <= pc ? a : (pb <= pc ? b : c)
            default: p = 0
            }
            line[x] = UInt8(truncatingIfNeeded: Int(v) + p)
        }
        for x in 0..<width {
            for ch in 0..<3 { out[(y * width + x) * 4 + ch] = line[x * channels + ch] }
            out[(y * width + x) * 4 + 3] = channels == 4 ? line[x * channels + 3] : 255
        }
        swap(&prev, &line)
    }
    return DecodedPNG(width: width, height: height, pixels: out)
}
