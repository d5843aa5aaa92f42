#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

private let exactPowersOfTen: [Double] = (0...22).map { k in
    var p = 1.0
    for _ in 0..<k { p *= 10 }
    return p
}

/// Appends `value` formatted as C's `%.{precision}g` (what C++ streams print for a float with
/// that precision): `0.894548`, `1.00001`, `3.2e-05`. Exact: values whose rounding is in doubt
/// go through `vsnprintf`.
func appendGeneral(_ value: Double, precision: Int, to out: inout [UInt8]) {
    let p = max(precision, 1)
    guard value.isFinite, value != 0, p <= 15 else {
        out.append(contentsOf: formatC(value, "%.\(p)g").utf8)
        return
    }
    let x = abs(value)
    var e = Int(log10(x).rounded(.down))
    var digits: UInt64 = 0
    var attempt = 0
    while true {
        attempt += 1
        let k = p - 1 - e
        guard abs(k) <= 22, attempt <= 3 else {
            out.append(contentsOf: formatC(value, "%.\(p)g").utf8)
            return
        }
        let scaled = k >= 0 ? x * exactPowersOfTen[k] : x / exactPowersOfTen[-k]
        let floorScaled = scaled.rounded(.down)
        let frac = scaled - floorScaled
        if abs(frac - 0.5) < 1e-6 {
            // Too close to a tie to trust double arithmetic.
            out.append(contentsOf: formatC(value, "%.\(p)g").utf8)
            return
        }
        let r = frac > 0.5 ? floorScaled + 1 : floorScaled
        let low = exactPowersOfTen[p - 1], high = exactPowersOfTen[p]
        if r >= high {
            if floorScaled >= high {
                e += 1
                continue
            }
            // Rounded up to 10^p: one more digit of exponent.
            e += 1
            digits = UInt64(low)
            break
        }
        if r < low {
            e -= 1
            continue
        }
        digits = UInt64(r)
        break
    }
    if value < 0 { out.append(45) }  // -
    var d = [UInt8](repeating: 48, count: p)
    var v = digits
    for i in stride(from: p - 1, through: 0, by: -1) {
        d[i] = 48 + UInt8(v % 10)
        v /= 10
    }
    // Significant digits without trailing zeros.
    var last = p - 1
    while last > 0 && d[last] == 48 { last -= 1 }
    if e < p && e >= -4 {
        if e >= 0 {
            out.append(contentsOf: d[0...e])
            if last > e {
                out.append(46)  // .
                out.append(contentsOf: d[(e + 1)...last])
            }
        } else {
            out.append(48)
            out.append(46)
            for _ in 0..<(-e - 1) { out.append(48) }
            out.append(contentsOf: d[0...last])
        }
    } else {
        out.append(d[0])
        if last > 0 {
            out.append(46)
            out.append(contentsOf: d[1...last])
        }
        out.append(101)  // e
        out.append(e < 0 ? 45 : 43)
        let ae = abs(e)
        if ae < 10 { out.append(48) }
        out.append(contentsOf: String(ae).utf8)
    }
}
