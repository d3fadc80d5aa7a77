import Foundation
import Store

/// What the decoded-frame tier holds, measured against the library (`rstore stats`): its
/// bytes and budgets, and how many of the library's video-hours it can answer without
/// decoding the originals.
public struct TierStats: Sendable, Codable, Equatable {
    public var path: String
    /// P-frame payloads: count, bytes, budget.
    public var entries: Int
    public var bytes: Int
    public var byteBudget: Int
    /// Stills (thumbnails): count, bytes, budget.
    public var stills: Int
    public var stillBytes: Int
    public var stillBudget: Int
    /// True when the budget follows the library (no `--frame-tier-mb`).
    public var followsLibrary: Bool
    /// True when the free-disk ceiling cut the default below the library's needs.
    public var cappedByDisk: Bool
    public var hits: Int
    public var misses: Int
    public var hitRate: Double
    /// Ready video-hours in the store.
    public var libraryHours: Double
    /// Video-hours whose P-frames the tier holds (each video counted by the share of its
    /// P-frames present), and that as a share of `libraryHours` (1 for an empty library).
    public var hoursHeld: Double
    public var shareHeld: Double
    /// Payload bytes per video-hour held (0 when none is).
    public var bytesPerHour: Double
    public var stillBytesPerHour: Double
}

extension Library {
    /// The tier's budget for this library now (see `TierBudget.compute`).
    func tierBudget(for tier: FrameTier) -> TierBudget {
        let hours = (try? store.videos(status: .ready).reduce(0) { $0 + $1.duration } / 3600) ?? 0
        let held = (try? tier.file.stats()).map { $0.bytes + $0.stillBytes } ?? 0
        return TierBudget.compute(
            hours: hours, freeDiskBytes: TierBudget.freeDiskBytes(at: tier.file.url), tierBytes: held,
            fixedFrames: configuration.frameTierBytes)
    }

    /// Sets the tier's budgets from the library's size now (a fixed `frameTierBytes` stays as
    /// given): at open and before each file an ingest indexes, so the budget grows with it.
    package func refreshTierBudget() {
        guard let tier = frameTier, configuration.frameTierBytes == nil else { return }
        let b = tierBudget(for: tier)
        tier.file.setBudgets(frames: b.frames, stills: b.stills)
    }

    /// What the tier holds against the library; nil when the tier is off.
    public func tierStats() throws -> TierStats? {
        guard let tier = frameTier else { return nil }
        let s = try tier.file.stats()
        let perVideo = try tier.file.framesPerVideo()
        let ready = try store.videos(status: .ready)
        var library = 0.0
        var held = 0.0
        for v in ready {
            library += v.duration
            let layout = v.layout
            let p = v.frameCount - layout.iFrameCount(frames: v.frameCount)
            held += p <= 0 ? v.duration : v.duration * min(1, Double(perVideo[v.contentHash] ?? 0) / Double(p))
        }
        let (libraryHours, hoursHeld) = (library / 3600, held / 3600)
        return TierStats(
            path: tier.file.url.path, entries: s.entries, bytes: s.bytes, byteBudget: s.byteBudget, stills: s.stills,
            stillBytes: s.stillBytes, stillBudget: s.stillBudget, followsLibrary: configuration.frameTierBytes == nil,
            cappedByDisk: configuration.frameTierBytes == nil && tierBudget(for: tier).cappedByDisk, hits: s.hits,
            misses: s.misses, hitRate: s.hitRate, libraryHours: libraryHours, hoursHeld: hoursHeld,
            shareHeld: libraryHours > 0 ? hoursHeld / libraryHours : 1,
            bytesPerHour: hoursHeld > 0 ? Double(s.bytes) / hoursHeld : 0,
            stillBytesPerHour: libraryHours > 0 ? Double(s.stillBytes) / libraryHours : 0)
    }
}
