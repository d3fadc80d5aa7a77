import Foundation
import Store

/// Renews a lease on its own thread every `interval` seconds until stopped, or until `renew`
/// says the lease is gone. The one heartbeat of the engine: an ingest's video lease (its own
/// commits renew it too, but a chunk of a slow model may take longer than the lease) and an
/// `IndexWorker`'s job lease both run on it.
final class Heartbeat: @unchecked Sendable {
    private let stopped = NSCondition()
    private var done = false

    init(every interval: Double, _ renew: @escaping @Sendable () -> Bool) {
        let thread = Thread { [self] in
            stopped.lock()
            defer { stopped.unlock() }
            while !done {
                if stopped.wait(until: Date().addingTimeInterval(interval)) { continue }
                if done { break }
                stopped.unlock()
                let alive = renew()
                stopped.lock()
                if !alive { break }
            }
        }
        thread.name = "rstore.lease"
        thread.start()
    }

    /// An ingest's lease on video row `video`, renewed every third of its lifetime; a failed
    /// renewal (store unreachable) keeps beating, a lost lease stops it.
    convenience init(store: any FeatureStoring, video: Int64, lease: Lease) {
        self.init(every: lease.seconds / 3) { (try? store.heartbeat(video: video, lease: lease)) ?? true }
    }

    func stop() {
        stopped.lock()
        done = true
        stopped.signal()
        stopped.unlock()
    }
}
