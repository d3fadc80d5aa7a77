import Foundation

/// What to do with a file about to be indexed: the answer of `FeatureStoring.begin`, the same
/// from either backend.
public enum StorePlan: Sendable, Equatable {
    /// Already indexed with these settings: nothing to do.
    case unchanged(VideoRecord)
    /// Continue this row from its `frameCount` (0 for a new row).
    case resume(VideoRecord)
    /// Another ingest holds a live lease on the resumable row: wait for it or skip the file.
    case busy(VideoRecord)
}
