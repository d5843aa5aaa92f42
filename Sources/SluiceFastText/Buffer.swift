#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

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
        base = Self.allocate(count)
        base.initialize(repeating: value, count: count)
    }

    /// A copy of `array`.
    init(_ array: [Element]) {
        count = array.count
        base = Self.allocate(count)
        array.withUnsafeBufferPointer { src in
            if let s = src.baseAddress { base.initialize(from: s, count: count) }
        }
    }

    /// Takes ownership of memory from ``allocate(_:)``.
    private init(taking base: UnsafeMutablePointer<Element>, count: Int) {
        self.base = base
        self.count = count
    }

    /// `count` values filled by `fill`, which must set all of them. When `fill` throws the
    /// memory is freed here, before any `Buffer` owns it.
    static func filled(count: Int, _ fill: (UnsafeMutablePointer<Element>) throws -> Void) rethrows -> Buffer {
        let p = allocate(count)
        do {
            try fill(p)
        } catch {
            free(p)
            throw error
        }
        return Buffer(taking: p, count: count)
    }

    deinit { free(base) }

    /// Memory for `count` values, cache-line aligned. Blocks of 4 MiB or more (a model's
    /// weight matrices) are aligned to 2 MiB and marked for transparent huge pages: rows are
    /// read at random, and with 4 KiB pages nearly every row read is also a TLB miss.
    private static func allocate(_ count: Int) -> UnsafeMutablePointer<Element> {
        let bytes = max(count, 1) * MemoryLayout<Element>.stride
        let huge = 2 << 20
        let alignment = bytes >= 2 * huge ? huge : max(64, MemoryLayout<Element>.alignment)
        var raw: UnsafeMutableRawPointer?
        guard posix_memalign(&raw, alignment, bytes) == 0, let raw else {
            fatalError("out of memory allocating \(bytes) bytes for model weights")
        }
        #if os(Linux)
        if alignment == huge {
            // Advice only: where huge pages are off this changes nothing.
            _ = madvise(raw, bytes, MADV_HUGEPAGE)
        }
        #endif
        return raw.bindMemory(to: Element.self, capacity: max(count, 1))
    }

    @inline(__always)
    subscript(i: Int) -> Element {
        get { base[i] }
    }

    var array: [Element] { Array(UnsafeBufferPointer(start: base, count: count)) }

    var bufferPointer: UnsafeBufferPointer<Element> { UnsafeBufferPointer(start: base, count: count) }

    var byteCount: Int { count * MemoryLayout<Element>.stride }
}
