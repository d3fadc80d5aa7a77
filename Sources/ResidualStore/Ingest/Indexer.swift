import CLIP
import Digest
import Foundation
import Store
import Timeline
import Video

extension Library {
    /// File extensions `index` picks up inside folders.
    public static let videoExtensions: Set<String> = [
        "mp4", "m4v", "mov", "mkv", "webm", "avi", "ts", "mts", "m2ts", "mpg", "mpeg", "wmv", "flv", "3gp", "ogv",
    ]

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
        return Set(out).sorted { $0.path < $1.path }
    }

    public enum IndexEvent: Sendable {
        case started(file: Int, of: Int, path: String, frames: Int)
        case progress(file: Int, of: Int, path: String, done: Int, frames: Int)
        /// Another live ingest holds the file's lease; this one waits (or skips, see
        /// `Configuration.waitForLeases`) until it finishes or its lease expires.
        case waiting(file: Int, of: Int, path: String, holder: String, until: Double)
        case finished(FileResult)
    }

    public struct FileResult: Sendable, Codable {
        public enum Outcome: String, Sendable, Codable { case indexed, resumed, unchanged, failed, skipped }
        public var path: String
        public var outcome: Outcome
        public var frames: Int
        public var seconds: Double
        public var error: String?
        /// What was concealed (damaged packets/pictures, truncation), nil for a clean file.
        public var damage: String?
        /// Where the ingest's time went (indexed and resumed files).
        public var cost: IngestCost?
    }

    public struct IndexSummary: Sendable, Codable {
        public var files: [FileResult]
        public var seconds: Double
        public var framesEncoded: Int
        /// The files' costs added up (nil when nothing was indexed).
        public var cost: IngestCost?
        public var indexed: Int { files.filter { $0.outcome == .indexed || $0.outcome == .resumed }.count }
        public var failed: Int { files.filter { $0.outcome == .failed }.count }
    }

    /// Indexes files and folders. A bad file is reported and skipped; the others go on and
    /// nothing already stored changes. Unchanged files (same content hash and settings) are
    /// skipped; interrupted ingests resume from their last committed frame. A file another
    /// live process is indexing is left for last, then waited for (or skipped); one whose
    /// indexer died is taken over once its lease expires. Cancelling the calling task stops the
    /// ingest within the frame it is on (its row marked failed: the next index starts it over;
    /// chunks committed by other files stay) and throws `CancellationError` before the next file.
    public func index(_ paths: [URL], progress: (@Sendable (IndexEvent) -> Void)? = nil) async throws -> IndexSummary {
        let files = Self.expand(paths)
        let start = Date()
        var results = [FileResult?](repeating: nil, count: files.count)
        var prepared: [Int: Prepared] = [:]
        var busy: [Int] = []
        let encoded = SharedCount()
        for (i, url) in files.enumerated() {
            try Task.checkCancellation()
            refreshTierBudget()  // a default budget grows with the library
            switch await attempt(
                url, file: i + 1, of: files.count, prepared: &prepared[i], encoded: encoded, progress: progress)
            {
            case .done(let r):
                results[i] = r
                progress?(.finished(r))
            case .busy(let holder):
                busy.append(i)
                progress?(
                    .waiting(
                        file: i + 1, of: files.count, path: url.path, holder: holder.leaseOwner ?? "?",
                        until: holder.leaseExpiresAt ?? 0))
            }
        }
        let poll = min(1.0, max(0.05, configuration.leaseSeconds / 4))
        for i in busy {
            while results[i] == nil {
                if !configuration.waitForLeases {
                    results[i] = FileResult(
                        path: files[i].path, outcome: .skipped, frames: 0, seconds: 0,
                        error: "\(files[i].path): being indexed by another process; skipped")
                    break
                }
                try await Task.sleep(nanoseconds: UInt64(poll * 1e9))
                if case .done(let r) = await attempt(
                    files[i], file: i + 1, of: files.count, prepared: &prepared[i], encoded: encoded, progress: progress
                ) {
                    results[i] = r
                }
            }
            progress?(.finished(results[i]!))
        }
        let costs = results.compactMap { $0?.cost }
        let total = costs.isEmpty ? nil : costs.reduce(into: IngestCost()) { $0.add($1) }
        return IndexSummary(
            files: results.map { $0! }, seconds: Date().timeIntervalSince(start), framesEncoded: encoded.value,
            cost: total)
    }

    /// A file's facts, read once however many attempts it takes.
    struct Prepared {
        var record: VideoRecord
        var fingerprint: FileFingerprint
        var duration: Double
    }

    enum Attempt {
        case done(FileResult)
        case busy(VideoRecord)
    }

    private func prepare(_ url: URL) throws -> Prepared {
        let stored = try configuration.roots.storedPath(for: url)  // a file leaving its root is not opened
        let reader = try VideoReader(url: url)  // typed errors for missing/unreadable files first
        let info = reader.info
        let fingerprint = try FileFingerprint.of(url)
        let hash = try SHA256.hex(fileAt: url)
        var recipe = configuration.recipe
        recipe.iframes = placement(stored: stored, contentHash: hash)
        var v = VideoRecord(
            file: stored, contentHash: hash, size: fingerprint.size, mtime: fingerprint.mtime, duration: info.duration,
            timeBaseNum: Int(info.timeBase.num), timeBaseDen: Int(info.timeBase.den),
            info: String(decoding: try JSONEncoder().encode(info), as: UTF8.self), fingerprint: fingerprint.hash,
            recipe: recipe)
        v.maskSeed = Self.maskSeed(contentHash: hash)
        v.motionSource =
            MotionSource.of(reader, preferring: configuration.motionSource ?? Configuration.defaultMotionSource)
            .rawValue
        return Prepared(record: v, fingerprint: fingerprint, duration: info.duration)
    }

    /// The placement for a file: the configured one, else the one its stored version of the
    /// same content has, ready or still indexing (so a crashed ingest resumes instead of starting
    /// over; see `IndexRecipe.iframes`), else the default for new files.
    private func placement(stored path: String, contentHash: String) -> IFramePlacement {
        if let chosen = configuration.recipe.iframes { return chosen }
        if let known = try? store.video(path: path), known.status != .failed, known.contentHash == contentHash,
            let kept = IFramePlacement(rawValue: known.iframes)
        {
            return kept
        }
        return IndexRecipe.defaultIFrames
    }

    /// One try at one file: unchanged, busy (leased by another live ingest), or indexed under
    /// a lease of its own, heartbeat running, from the last committed chunk.
    private func attempt(
        _ url: URL, file i: Int, of total: Int, prepared: inout Prepared?, encoded: SharedCount,
        progress: (@Sendable (IndexEvent) -> Void)?
    ) async -> Attempt {
        let t0 = Date()
        let lease = Lease.make(seconds: configuration.leaseSeconds)
        let meter = CostMeter()
        var record: VideoRecord?
        do {
            if prepared == nil { prepared = try meter.measure(.probe) { try prepare(url) } }
            let facts = prepared!
            let previous = try? store.video(path: facts.record.path)
            switch try store.begin(facts.record, model: modelRecord, lease: lease) {
            case .unchanged(let ready):
                let f = facts.fingerprint
                if ready.fingerprint != f.hash || ready.mtime != f.mtime || ready.size != f.size {
                    try store.refreshFileFacts(video: ready.id!, size: f.size, mtime: f.mtime, fingerprint: f.hash)
                }
                return .done(FileResult(path: url.path, outcome: .unchanged, frames: ready.frameCount, seconds: 0))
            case .busy(let holder):
                return .busy(holder)
            case .resume(let r):
                record = r
            }
            let r = record!
            // The row's recipe (a resume goes on as it began), in chunks of this run's size.
            let recipe = try r.recipe(chunkFrames: configuration.recipe.chunkFrames)
            let estimate = max(r.frameCount, Int((facts.duration * recipe.fps).rounded(.down)) + 1)
            progress?(.started(file: i, of: total, path: url.path, frames: estimate))
            let pipeline = try IngestPipeline(
                model: model,
                settings: .init(
                    recipe: recipe, batch: configuration.batch,
                    concealDamage: !configuration.strict))
            let heartbeat = Heartbeat(store: store, video: r.id!, lease: lease)
            defer { heartbeat.stop() }
            var frames = r.frameCount
            let sink = try frameTier.map {
                TierIngestSink(
                    tier: $0, encoder: try reconstructor(for: r).encoder.withMaskSeed(UInt64(bitPattern: r.maskSeed)),
                    video: r.contentHash, motionSource: MotionSource(stored: r.motionSource))
            }
            defer { sink?.flush() }
            let damage = try await pipeline.run(
                url: url, resumeFrom: r.frameCount,
                commit: { chunk in
                    try store.append(
                        video: r.id!, offsets: chunk.offsets.map(FrameOffsetRecord.init),
                        iFeatures: chunk.iFeatures, shotStarts: chunk.shotStarts, lease: lease)
                    frames = chunk.offsets.last!.index + 1
                    encoded.add(chunk.iFeatures.count)
                },
                progress: { done in
                    progress?(.progress(file: i, of: total, path: url.path, done: done, frames: estimate))
                },
                pFrameInput: sink?.add, motion: sink?.motionGrid, meter: meter,
                iFrame: sink.map { s in { s.addStill($0, $1, startsShot: $2) } })
            meter.measure(.tier) { sink?.flush() }
            guard frames > 0 else { throw VideoError.noFrames(path: url.path) }
            // The pixels read must be those of the file that was hashed.
            let after = try FileFingerprint.of(url)
            if after != facts.fingerprint {
                throw FreshnessError.stale(path: url.path, what: "it changed while it was being indexed")
            }
            let report = damage.flatMap { $0.isClean ? nil : $0 }
            try meter.measure(.commit) {
                try store.finish(
                    video: r.id!, lease: lease,
                    damage: try report.map { String(decoding: try JSONEncoder().encode($0), as: UTF8.self) })
            }
            // The file's bytes changed: finish dropped the old row; its tier entries and stills go too.
            if let old = previous?.contentHash, old != r.contentHash { try? dropTierEntries(ofContent: old) }
            // Video seconds this run covered: the file's, less the part indexed before a resume.
            let covered = facts.duration * Double(frames - r.frameCount) / Double(max(1, frames))
            return .done(
                FileResult(
                    path: url.path, outcome: r.frameCount > 0 ? .resumed : .indexed, frames: frames,
                    seconds: Date().timeIntervalSince(t0), damage: report?.summary,
                    cost: meter.finish(videoSeconds: covered)))
        } catch is CancellationError {
            let why =
                """
                \(url.path): indexing was cancelled after \(String(format: "%.1f", Date().timeIntervalSince(t0))) s; \
                index it again to start over
                """
            if let r = record { try? store.fail(video: r.id!, error: why, lease: lease) }
            return .done(
                FileResult(
                    path: url.path, outcome: .failed, frames: 0, seconds: Date().timeIntervalSince(t0), error: why))
        } catch let e as StoreError {
            if case .leaseLost = e {
                // Another ingest took the row over: its data is its own; ours stops here.
                return .done(
                    FileResult(
                        path: url.path, outcome: .skipped, frames: 0, seconds: Date().timeIntervalSince(t0),
                        error: "\(e)"))
            }
            if let r = record { try? store.fail(video: r.id!, error: "\(e)", lease: lease) }
            return .done(
                FileResult(
                    path: url.path, outcome: .failed, frames: 0, seconds: Date().timeIntervalSince(t0), error: "\(e)"))
        } catch {
            if let r = record { try? store.fail(video: r.id!, error: "\(error)", lease: lease) }
            return .done(
                FileResult(
                    path: url.path, outcome: .failed, frames: 0, seconds: Date().timeIntervalSince(t0),
                    error: "\(error)"))
        }
    }
}

/// A count shared between an ingest's commit callbacks.
final class SharedCount: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    var value: Int { lock.withLock { n } }
    func add(_ k: Int) { lock.withLock { n += k } }
}
