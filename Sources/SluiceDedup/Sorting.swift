/// Sorts `keys` ascending and moves `values` with them, keeping the original order of equal
/// keys (LSD radix sort on 16-bit digits; passes where every key has the same digit are
/// skipped). Memory: one extra copy of both arrays.
func radixSort(keys: inout [UInt64], values: inout [UInt32]) {
    let n = keys.count
    precondition(values.count == n)
    if n < 2048 {
        let order = (0..<n).sorted { keys[$0] != keys[$1] ? keys[$0] < keys[$1] : $0 < $1 }
        keys = order.map { keys[$0] }
        values = order.map { values[$0] }
        return
    }
    var k2 = [UInt64](repeating: 0, count: n)
    var v2 = [UInt32](repeating: 0, count: n)
    var counts = [Int](repeating: 0, count: 65536)
    for pass in 0..<4 {
        let shift = UInt64(pass * 16)
        for i in counts.indices { counts[i] = 0 }
        keys.withUnsafeBufferPointer { k in
            for x in k { counts[Int((x >> shift) & 0xFFFF)] += 1 }
        }
        if counts.contains(n) { continue }
        var sum = 0
        for i in counts.indices {
            let c = counts[i]
            counts[i] = sum
            sum += c
        }
        keys.withUnsafeBufferPointer { k in
            values.withUnsafeBufferPointer { v in
                k2.withUnsafeMutableBufferPointer { ko in
                    v2.withUnsafeMutableBufferPointer { vo in
                        counts.withUnsafeMutableBufferPointer { c in
                            for i in 0..<n {
                                let d = Int((k[i] >> shift) & 0xFFFF)
                                let p = c[d]
                                ko[p] = k[i]
                                vo[p] = v[i]
                                c[d] = p + 1
                            }
                        }
                    }
                }
            }
        }
        swap(&keys, &k2)
        swap(&values, &v2)
    }
}
