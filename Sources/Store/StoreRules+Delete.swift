import Foundation

extension StoreRules {
    /// Whether one stored version may be deleted now, from its raw columns (a row too damaged
    /// to decode can still be deleted): anything but an `indexing` row whose live lease another
    /// process holds, so a delete never pulls chunks from under a running ingest.
    public static func checkDeletable(
        store: String, id: Int64, path: String, status: String,
        leaseOwner: String?, leaseExpiresAt: Double?, now: Double
    ) throws {
        guard status == VideoRecord.Status.indexing.rawValue, let holder = leaseOwner,
            (leaseExpiresAt ?? 0) > now, !Lease.holderIsGone(holder)
        else { return }
        throw StoreError.leaseLost(path: store, video: "video \(id) (\(path))", holder: holder)
    }
}
