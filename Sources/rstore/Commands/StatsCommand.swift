import ArgumentParser
import Foundation
import RStoreCommandLine
import ResidualStore
import Store  // StoreStats, the JSON of `stats`

/// `rstore stats`: what the store holds and what it costs per video-hour.
struct StatsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats", abstract: "Videos, hours, frames, stored bytes, bytes per video-hour vs dense float32.")

    @OptionGroup var library: LibraryOptions
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        let lib = try library.open()
        let s = try lib.stats()
        let all = try lib.videos()
        let cache = lib.frameCache.stats
        let ready = all.filter { $0.status == .ready }
        let damaged = ready.compactMap { v in v.damageReport.map { Damaged(id: v.id ?? -1, path: v.path, damage: $0) } }
        let stale = ready.compactMap { v in
            lib.staleness(v).map { Stale(id: v.id ?? -1, path: v.path, reason: $0.description) }
        }
        let tier = try lib.tierStats()
        let ann = lib.stage1IndexInfo()
        let annPerHour = s.hours > 0 ? Double(ann?.fileBytes ?? 0) / s.hours : 0
        if json {
            struct ANN: Encodable {
                let path: String
                let factory: String
                let bytes: Int
                let i_features: Int
                let videos: Int
                let bytes_per_hour: Double
            }
            struct Tier: Encodable {
                let path: String
                let bytes: Int
                let entries: Int
                let byte_budget: Int
                /// Payload bytes per video-hour the tier holds.
                let bytes_per_hour: Double
                let stills: Int
                let still_bytes: Int
                let still_budget: Int
                let still_bytes_per_hour: Double
                /// "library" (the default follows it) or "fixed" (--frame-tier-mb).
                let budget: String
                let capped_by_disk: Bool
                let hours_held: Double
                let library_hours: Double
                let share_held: Double
                let hit_rate: Double
                let hits: Int
                let misses: Int
            }
            struct Out: Encodable {
                let store: StoreStats
                let indexing: Int
                let failed: Int
                let frame_cache: String
                let damaged: [Damaged]
                let stale: [Stale]
                let frame_tier: Tier?
                let stage1_index: ANN?
            }
            try printJSON(
                Out(
                    store: s, indexing: all.filter { $0.status == .indexing }.count,
                    failed: all.filter { $0.status == .failed }.count,
                    frame_cache: "\(cache)", damaged: damaged, stale: stale,
                    frame_tier: tier.map {
                        Tier(
                            path: $0.path, bytes: $0.bytes, entries: $0.entries, byte_budget: $0.byteBudget,
                            bytes_per_hour: $0.bytesPerHour, stills: $0.stills, still_bytes: $0.stillBytes,
                            still_budget: $0.stillBudget, still_bytes_per_hour: $0.stillBytesPerHour,
                            budget: $0.followsLibrary ? "library" : "fixed", capped_by_disk: $0.cappedByDisk,
                            hours_held: $0.hoursHeld, library_hours: $0.libraryHours, share_held: $0.shareHeld,
                            hit_rate: $0.hitRate, hits: $0.hits, misses: $0.misses)
                    },
                    stage1_index: ann.map {
                        ANN(
                            path: $0.path, factory: $0.factory, bytes: $0.fileBytes, i_features: $0.rows,
                            videos: $0.videos, bytes_per_hour: annPerHour)
                    }))
            return
        }
        print("store        \(lib.storePath)")
        print("model        \(lib.modelName) (sha256 \(lib.weightsSHA256.prefix(12))…)")
        print(
            String(
                format: "videos       %d ready, %d indexing, %d failed", s.videos,
                all.filter { $0.status == .indexing }.count, all.filter { $0.status == .failed }.count))
        print(
            String(format: "duration     %.3f h; %d sampled frames, %d stored I-features", s.hours, s.frames, s.iFrames)
        )
        print(
            String(
                format: "stored       %.1f KB (features %.1f KB, offsets %.1f KB)", Double(s.fileBytes) / 1e3,
                Double(s.featureBytes) / 1e3, Double(s.offsetBytes) / 1e3))
        if s.hours > 0 {
            print(
                String(
                    format: "per hour     %.2f MB vs %.2f MB dense float32 (1/%.1f)", s.bytesPerHour / 1e6,
                    s.denseFloat32BytesPerHour / 1e6,
                    s.denseFloat32BytesPerHour / max(1, s.bytesPerHour)))
        }
        print("frame cache  \(cache) (this process)")
        print("damaged      \(damaged.count) ready videos with concealed damage")
        for d in damaged { print("  \(d.id) \(d.path): \(d.damage.summary)") }
        print("stale        \(stale.count) ready videos whose file changed or went away (run `rstore index` on them)")
        for x in stale { print("  \(x.id) \(x.reason)") }
        if let tier {
            print(
                String(
                    format:
                        """
                        frame tier   %.1f MB of %.0f MB (%@), %d P-frame inputs, %.2f MB per video-hour, hit rate \
                        %.1f%% (%d hits, %d misses)
                        """,
                    Double(tier.bytes) / 1e6, Double(tier.byteBudget) / 1e6,
                    tier.followsLibrary
                        ? (tier.cappedByDisk ? "follows the library, capped by free disk" : "follows the library")
                        : "fixed by --frame-tier-mb",
                    tier.entries, tier.bytesPerHour / 1e6, tier.hitRate * 100, tier.hits, tier.misses))
            print(
                String(
                    format:
                        "  holds      %.2f of %.2f video-hours (%.0f%%); stills %d, %.1f MB of %.0f MB, %.2f MB per video-hour",
                    tier.hoursHeld, tier.libraryHours, tier.shareHeld * 100, tier.stills,
                    Double(tier.stillBytes) / 1e6, Double(tier.stillBudget) / 1e6, tier.stillBytesPerHour / 1e6))
        } else {
            print("frame tier   off")
        }
        if let ann {
            // What a search server holds for stage 1 above the threshold: the index (codes, ids,
            // centroids) plus the bounded cache of candidate videos' I-features.
            print(
                String(
                    format:
                        """
                        stage 1      ANN index %@ (%@): %d I-features of %d videos, %.1f MB, %.1f KB per video-hour \
                        resident
                        """,
                    ann.path, ann.factory, ann.rows, ann.videos, Double(ann.fileBytes) / 1e6, annPerHour / 1e3))
        } else {
            print(
                String(
                    format:
                        """
                        stage 1      exact int8 scan (%.0f KB per video-hour resident); the ANN index is built from \
                        %d stored I-features
                        """,
                    s.hours > 0 ? Double(s.iFrames) * Double(lib.embedDim + 20) / s.hours / 1e3 : 0,
                    lib.configuration.stage1.annThreshold))
        }
    }

    struct Damaged: Encodable {
        let id: Int64
        let path: String
        let damage: Library.DamageReport
    }
    struct Stale: Encodable {
        let id: Int64
        let path: String
        let reason: String
    }
}
