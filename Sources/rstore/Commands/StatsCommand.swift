import ArgumentParser
import Foundation
import ResidualStore
import Store
import Video

/// `rstore stats`: what the store holds and what it costs per video-hour.
struct StatsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stats", abstract: "Videos, hours, frames, stored bytes, bytes per video-hour vs dense float32.")

    @OptionGroup var library: LibraryOptions
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        let lib = try library.open()
        let s = try lib.store.stats()
        let all = try lib.videos()
        let cache = lib.frameCache.stats
        let ready = all.filter { $0.status == .ready }
        let damaged = ready.compactMap { v in v.damageReport.map { Damaged(id: v.id ?? -1, path: v.path, damage: $0) } }
        let stale = ready.compactMap { v in lib.staleness(v).map { Stale(id: v.id ?? -1, path: v.path, reason: $0.description) } }
        if json {
            struct Out: Encodable {
                let store: FeatureStore.Stats; let indexing: Int; let failed: Int; let frame_cache: String
                let damaged: [Damaged]; let stale: [Stale]
            }
            try printJSON(Out(store: s, indexing: all.filter { $0.status == .indexing }.count, failed: all.filter { $0.status == .failed }.count,
                              frame_cache: "\(cache)", damaged: damaged, stale: stale))
            return
        }
        print("store        \(lib.store.path)")
        print("model        \(lib.model.config.archName) (sha256 \(lib.model.weightsSHA256.prefix(12))…)")
        print(String(format: "videos       %d ready, %d indexing, %d failed", s.videos, all.filter { $0.status == .indexing }.count, all.filter { $0.status == .failed }.count))
        print(String(format: "duration     %.3f h; %d sampled frames, %d stored I-features", s.hours, s.frames, s.iFrames))
        print(String(format: "stored       %.1f KB (features %.1f KB, offsets %.1f KB)", Double(s.fileBytes) / 1e3, Double(s.featureBytes) / 1e3, Double(s.offsetBytes) / 1e3))
        if s.hours > 0 {
            print(String(format: "per hour     %.2f MB vs %.2f MB dense float32 (1/%.1f)", s.bytesPerHour / 1e6, s.denseFloat32BytesPerHour / 1e6,
                         s.denseFloat32BytesPerHour / max(1, s.bytesPerHour)))
        }
        print("frame cache  \(cache) (this process)")
        print("damaged      \(damaged.count) ready videos with concealed damage")
        for d in damaged { print("  \(d.id) \(d.path): \(d.damage.summary)") }
        print("stale        \(stale.count) ready videos whose file changed or went away (run `rstore index` on them)")
        for x in stale { print("  \(x.id) \(x.reason)") }
    }

    struct Damaged: Encodable { let id: Int64; let path: String; let damage: DamageReport }
    struct Stale: Encodable { let id: Int64; let path: String; let reason: String }
}
