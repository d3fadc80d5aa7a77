import Foundation
import Hummingbird
import ResidualStore

/// Store and file calls of a handler (a video's record, a listing, a stat of its file) block:
/// on a stopped database until its timeout, on a hung disk for ever. Run on Swift's
/// cooperative pool (2 threads here) a few of them would freeze every request, `GET /`
/// included; so they run on the server's own bounded lines (`RStoreServer.storeCalls`, and
/// `fileCalls` for calls that touch files only, so a stopped database does not hold up a
/// stat; each at most `storeThreads` at once), and the request gets 503 `store_timeout` after
/// `storeTimeout` seconds whatever the call does.
extension RStoreServer {
    /// `store`: whether `body` calls the store (false: files only), which alone tells whether
    /// the store is down.
    func blocking<T: Sendable>(_ what: String, store: Bool = true, _ body: @escaping @Sendable () throws -> T)
        async throws -> T
    {
        let control = QueryControl(limits: QueryControl.Limits(maxPFrames: 0, maxDecodedFrames: 0))
        // A store known down gets a short wait (see `RecordCache`): answers from memory come
        // quickly and calls do not pile up; the first call that answers clears it.
        let seconds =
            store && records.storeDown
            ? min(configuration.storeTimeout, records.downTimeout) : configuration.storeTimeout
        do {
            let value = try await (store ? storeCalls : fileCalls).run(
                control, timeout: seconds, timedOut: { Self.storeTimeout(what, seconds) }, body)
            if store { records.storeAnswered() }
            return value
        } catch {
            if store {
                APIError.from(error).status == .serviceUnavailable ? records.storeFailed() : records.storeAnswered()
            }
            throw error
        }
    }

    static func storeTimeout(_ what: String, _ seconds: Double) -> APIError {
        var e = APIError(
            .serviceUnavailable, "store_timeout",
            "\(what): the store or the disk did not answer within \(seconds) s; retry later")
        e.headers[.retryAfter] = "5"
        return e
    }
}
