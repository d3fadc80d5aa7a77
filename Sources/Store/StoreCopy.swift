import Foundation

/// Copies a library between stores of any backends (`rstore store copy`): the model binding,
/// then every ready video with its chunk blobs byte for byte. Each video is an ordinary ingest
/// on the target (begin, chunks, finish), so a copy interrupted half-way resumes, a video
/// already on the target is left as it is, and readers of the target never see a partial one.
public enum StoreCopy {
    public struct Summary: Sendable, Codable, Equatable {
        public var copied = 0
        public var unchanged = 0
        public var frames = 0
        public var chunks = 0
    }

    public static func copy(
        from source: any FeatureStoring, to target: any FeatureStoring,
        progress: ((VideoRecord) -> Void)? = nil
    ) throws -> Summary {
        var summary = Summary()
        guard let m = try source.model() else { return summary }
        let bound = try target.bindModel(
            name: m.name, config: m.config, weightsSha256: m.weightsSha256,
            tokenizerSha256: m.tokenizerSha256, embedDim: m.embedDim)
        for v in try source.videos(status: .ready) {
            progress?(v)
            var fresh = v
            fresh.id = nil  // the target numbers its own rows
            switch try target.begin(fresh, model: bound, lease: nil) {
            case .unchanged:
                summary.unchanged += 1
            case .busy(let holder):
                throw StoreError.leaseLost(path: target.path, video: v.path, holder: holder.leaseOwner)
            case .resume(let row):
                for c in try source.rawChunks(of: v) where c.firstFrame >= row.frameCount {
                    try target.appendRaw(video: row.id!, chunk: c)
                    summary.chunks += 1
                }
                try target.finish(video: row.id!, expectedFrames: v.frameCount, lease: nil, damage: v.damage)
                summary.copied += 1
                summary.frames += v.frameCount
            }
        }
        return summary
    }
}
