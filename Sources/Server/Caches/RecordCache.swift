import Foundation
import ResidualStore

/// The video records this server read last, for when the store does not answer: a request
/// for a known video (its record, a cached thumbnail) is answered from here instead of 503
/// (stale-if-error). Only used after the store failed to answer; bounded by count.
///
/// While the store is known down (its last call failed with 503, none has answered since),
/// store calls wait `downTimeout` instead of the full `--store-timeout`, so the cached answers
/// come quickly and stuck calls do not pile up behind a dead database.
final class RecordCache: @unchecked Sendable {
    private let lock = NSLock()
    private var records: [Int64: Library.StoredVideo] = [:]
    private var order: [Int64] = []
    private var down = false
    let capacity: Int
    /// Seconds a store call waits while the store is known down.
    let downTimeout = 0.25

    init(capacity: Int = 4096) {
        self.capacity = max(1, capacity)
    }

    func remember(_ v: Library.StoredVideo) {
        guard let id = v.id else { return }
        lock.withLock {
            if records.updateValue(v, forKey: id) == nil {
                order.append(id)
                if order.count > capacity { records[order.removeFirst()] = nil }
            }
        }
    }

    func record(_ id: Int64) -> Library.StoredVideo? { lock.withLock { records[id] } }

    /// A deleted video is not served from the cache either, even while the store is down.
    func forget(_ id: Int64) {
        lock.withLock {
            records[id] = nil
            order.removeAll { $0 == id }
        }
    }

    /// Whether the store's last call failed with an outage.
    var storeDown: Bool { lock.withLock { down } }

    func storeAnswered() { lock.withLock { down = false } }
    func storeFailed() { lock.withLock { down = true } }
}
