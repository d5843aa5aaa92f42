/// Requests-per-minute and tokens-per-minute limits as token buckets.
///
/// Each bucket holds up to ten seconds of its rate (at least one request, and at least the
/// cost of the request asking), refills continuously, and is debited when a request starts.
/// Used only by the engine's loop thread.
final class RateLimiter {
    private struct Bucket {
        let perSecond: Double
        let capacity: Double
        var level: Double
        var updated: UInt64

        init(perMinute: Double, now: UInt64) {
            perSecond = perMinute / 60
            capacity = max(1, perMinute / 6)
            level = capacity
            updated = now
        }

        mutating func refill(_ now: UInt64) {
            if now > updated {
                level = min(capacity, level + Double(now - updated) / 1e9 * perSecond)
                updated = now
            }
        }

        /// Nanoseconds until `cost` is available (0 when it is now).
        func wait(for cost: Double) -> UInt64 {
            let need = min(cost, capacity) - level
            if need <= 0 { return 0 }
            return UInt64(need / perSecond * 1e9) + 1
        }
    }

    private var requests: Bucket?
    private var tokens: Bucket?

    init?(requestsPerMinute: Double?, tokensPerMinute: Double?, now: UInt64 = monotonicNow()) {
        if requestsPerMinute == nil && tokensPerMinute == nil { return nil }
        requests = requestsPerMinute.map { Bucket(perMinute: $0, now: now) }
        tokens = tokensPerMinute.map { Bucket(perMinute: $0, now: now) }
    }

    /// Debits one request of `cost` tokens and returns 0, or returns the nanoseconds to wait.
    func reserve(cost: Double, now: UInt64) -> UInt64 {
        requests?.refill(now)
        tokens?.refill(now)
        let w = max(requests?.wait(for: 1) ?? 0, tokens?.wait(for: cost) ?? 0)
        if w > 0 { return w }
        requests?.level -= 1
        if let t = tokens { tokens!.level -= min(cost, t.capacity) }
        return 0
    }
}
