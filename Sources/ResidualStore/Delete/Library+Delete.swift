import Foundation
import Store

extension Library {
    /// Removes one stored version of a video: its row and chunks (one store transaction), then
    /// its decoded-frame tier entries unless another stored row has the same content. Stage 1
    /// drops it at the next query (the store's generation moved); the persisted matrix file
    /// follows at the next start. False when there was no such row. An ingest still running
    /// under a live lease is refused (`StoreError.leaseLost`), never cut short.
    @discardableResult
    public func delete(videoID id: Int64) throws -> Bool {
        let hash = try? store.video(id: id).contentHash
        guard try store.delete(video: id) else { return false }
        if let hash { try dropTierEntries(ofContent: hash) }
        return true
    }

    /// Drops the tier's P-frame payloads and stills of content `hash` unless a stored row
    /// still has that content (after a delete, or a re-index of a file whose bytes changed).
    func dropTierEntries(ofContent hash: String) throws {
        if let tier = frameTier, try !store.videos().contains(where: { $0.contentHash == hash }) {
            try? tier.file.remove(video: hash)  // a cache: failing to trim it loses nothing
        }
    }

    /// Stored versions whose file is gone from its place (moved or deleted): what
    /// `rstore prune --missing` removes. A root not mounted here is not "missing".
    public func missingVideos() throws -> [VideoRecord] {
        try store.videos().filter { v in
            guard isMounted(v), let e = staleness(v) else { return false }
            if case .missing = e { return true }
            return false
        }
    }
}
