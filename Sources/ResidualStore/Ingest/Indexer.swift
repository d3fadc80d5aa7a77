import CLIP
import Digest
import Foundation
import Store
import Video

extension Library {
    /// File extensions `index` picks up inside folders.
    public static let videoExtensions: Set<String> = ["mp4", "m4v", "mov", "mkv", "webm", "avi", "ts", "mts", "m2ts", "mpg", "mpeg", "wmv", "flv", "3gp", "ogv"]

    /// Files to index: files as given (missing ones too: they fail with a clear error and the
    /// rest go on), folders searched recursively for video extensions.
    public static func expand(_ paths: [URL]) -> [URL] {
        var out: [URL] = []
        for p in paths {
            var isDir: ObjCBool = false
            if !FileManager.default.fileExists(atPath: p.path, isDirectory: &isDir) || !isDir.boolValue {
                out.append(p.standardizedFileURL)
                continue
            }
            let walker = FileManager.default.enumerator(at: p, includingPropertiesForKeys: [.isRegularFileKey])
            while let u = walker?.nextObject() as? URL {
                if videoExtensions.contains(u.pathExtension.lowercased()) { out.append(u.standardizedFileURL) }
            }
        }
        return out.sorted { $0.path < $1.path }
    }

    public enum IndexEvent: Sendable {
        case started(file: Int, of: Int, path: String, frames: Int)
        case progress(file: Int, of: Int, path: String, done: Int, frames: Int)
        case finished(FileResult)
    }

    public struct FileResult: Sendable, Codable {
        public enum Outcome: String, Sendable, Codable { case indexed, resumed, unchanged, failed }
        public var path: String
        public var outcome: Outcome
        public var frames: Int
        public var seconds: Double
        public var error: String?
    }

    public struct IndexSummary: Sendable, Codable {
        public var files: [FileResult]
        public var seconds: Double
        public var framesEncoded: Int
        public var indexed: Int { files.filter { $0.outcome == .indexed || $0.outcome == .resumed }.count }
        public var failed: Int { files.filter { $0.outcome == .failed }.count }
    }

    /// Indexes files and folders. A bad file is reported and skipped; the others go on and
    /// nothing already stored changes. Unchanged files (same content hash and settings) are
    /// skipped; interrupted ingests resume from their last committed frame.
    public func index(_ paths: [URL], progress: (@Sendable (IndexEvent) -> Void)? = nil) async throws -> IndexSummary {
        let files = Self.expand(paths)
        let start = Date()
        var results: [FileResult] = []
        var encoded = 0
        for (i, url) in files.enumerated() {
            let t0 = Date()
            var record: VideoRecord?
            do {
                let reader = try VideoReader(url: url)   // typed errors for missing/unreadable files first
                let attrs = try FileManager.default.attributesOfItem(atPath: url.path)
                let info = reader.info
                let hash = try SHA256.hex(fileAt: url)
                let v = VideoRecord(path: url.path, contentHash: hash, size: (attrs[.size] as? NSNumber)?.int64Value ?? 0,
                                    mtime: (attrs[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0, duration: info.duration,
                                    timeBaseNum: Int(info.timeBase.num), timeBaseDen: Int(info.timeBase.den), fps: configuration.fps,
                                    n: configuration.n, p: configuration.p, strategy: configuration.strategy.rawValue,
                                    codec: configuration.codec, info: String(decoding: try JSONEncoder().encode(info), as: UTF8.self))
                switch try store.begin(v, model: modelRecord) {
                case .unchanged(let ready):
                    results.append(FileResult(path: url.path, outcome: .unchanged, frames: ready.frameCount, seconds: 0))
                    progress?(.finished(results.last!))
                    continue
                case .resume(let r):
                    record = r
                }
                let r = record!
                let estimate = max(r.frameCount, Int((info.duration * configuration.fps).rounded(.down)) + 1)
                progress?(.started(file: i + 1, of: files.count, path: url.path, frames: estimate))
                let pipeline = try IngestPipeline(model: model, settings: .init(fps: configuration.fps, n: configuration.n,
                                                                               chunkFrames: configuration.chunkFrames, batch: configuration.batch))
                var frames = r.frameCount
                let sink = try frameTier.map { TierIngestSink(tier: $0, encoder: try reconstructor(for: r).encoder, video: r.contentHash) }
                defer { sink?.flush() }
                try await pipeline.run(url: url, resumeFrom: r.frameCount, commit: { chunk in
                    try store.append(video: r.id!, offsets: chunk.offsets.map { FrameOffsetRecord(index: $0.index, pts: $0.pts, time: $0.time, seekPTS: $0.seekPTS) },
                                     iFeatures: chunk.iFeatures)
                    frames = chunk.offsets.last!.index + 1
                    encoded += chunk.iFeatures.count
                }, progress: { done in progress?(.progress(file: i + 1, of: files.count, path: url.path, done: done, frames: estimate)) },
                   pFrameInput: sink?.add)
                guard frames > 0 else { throw VideoError.noFrames(path: url.path) }
                try store.finish(video: r.id!)
                results.append(FileResult(path: url.path, outcome: r.frameCount > 0 ? .resumed : .indexed, frames: frames,
                                          seconds: Date().timeIntervalSince(t0)))
            } catch {
                if let r = record { try? store.fail(video: r.id!, error: "\(error)") }
                results.append(FileResult(path: url.path, outcome: .failed, frames: 0, seconds: Date().timeIntervalSince(t0), error: "\(error)"))
            }
            progress?(.finished(results.last!))
        }
        return IndexSummary(files: results, seconds: Date().timeIntervalSince(start), framesEncoded: encoded)
    }
}
