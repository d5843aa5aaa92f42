/// A fixed-size block of trivial values with a stable address: the one place this module keeps
/// raw memory for model weights, tables and dictionaries.
///
/// It is `@unchecked Sendable` because its contents never change once a model is built and
/// shared: a ``FastTextModel`` only reads them. The trainer writes weights from several threads
/// at once on purpose (Hogwild, as official fastText does) before the model exists, and joins
/// those threads before handing the model out.
final class Buffer<Element: BitwiseCopyable>: @unchecked Sendable {
    let base: UnsafeMutablePointer<Element>
    let count: Int

    /// `count` values, all `value`.
    init(count: Int, repeating value: Element) {
        self.count = count
        base = .allocate(capacity: max(count, 1))
        base.initialize(repeating: value, count: count)
    }

    /// A copy of `array`.
    init(_ array: [Element]) {
        count = array.count
        base = .allocate(capacity: max(count, 1))
        array.withUnsafeBufferPointer { src in
            if let s = src.baseAddress { base.initialize(from: s, count: count) }
        }
    }

    /// Takes ownership of memory from `allocate(capacity:)`.
    private init(taking base: UnsafeMutablePointer<Element>, count: Int) {
        self.base = base
        self.count = count
    }

    /// `count` values filled by `fill`, which must set all of them. When `fill` throws the
    /// memory is freed here, before any `Buffer` owns it.
    static func filled(count: Int, _ fill: (UnsafeMutablePointer<Element>) throws -> Void) rethrows -> Buffer {
        let p = UnsafeMutablePointer<Element>.allocate(capacity: max(count, 1))
        do {
            try fill(p)
        } catch {
            p.deallocate()
            throw error
        }
        return Buffer(taking: p, count: count)
    }

    deinit { base.deallocate() }

    @inline(__always)
    subscript(i: Int) -> Element {
        get { base[i] }
    }

    var array: [Element] { Array(UnsafeBufferPointer(start: base, count: count)) }

    var bufferPointer: UnsafeBufferPointer<Element> { UnsafeBufferPointer(start: base, count: count) }

    var byteCount: Int { count * MemoryLayout<Element>.stride }
}
