import CLIP
import Foundation
import Synchronization
import Video

extension Reconstructor {
    /// What stage 2 takes from one video's original file for a pass: model inputs by frame, and
    /// (motion strategy, `.vectors` source) codec motion of P-frames from their anchors.
    struct SourceFrames: Sendable {
        var pixels: [Int: RGBImage] = [:]
        var motion: [Int: [Float]] = [:]
        /// Sampled frames decoded from the file (not in the memory cache).
        var decoded = 0
    }

    /// Videos whose original files one request decodes at once: the machine's two cores.
    static var sourceWorkers: Int { max(1, min(2, ProcessInfo.processInfo.activeProcessorCount)) }

    /// Pixels of `wanted` (memory cache first) and the codec motion of `motionOf` (P-frames),
    /// from one decode per needed GOP: the GOPs that hold motion spans are decoded once with
    /// vectors exported, serving the pixels too (`VideoReader.decode(offsets:motionSpans:...)`);
    /// the others skip non-reference frames. Every frame the decoder outputs is charged to
    /// `control`. P-frames whose span has no usable vectors are left out of `motion` (they fall
    /// back to the pixel difference, as at ingest).
    func sourceFrames(
        of source: Source, pixels wanted: [Int], motionOf: [Int], control: QueryControl, threads: Int = 0,
        reader open: ((Int) throws -> VideoReader)? = nil
    ) throws -> SourceFrames {
        var out = SourceFrames()
        var missing: [Int] = []
        for k in Set(wanted) {
            if let img = decodedFrames.get(source.frameKey(k)) { out.pixels[k] = img } else { missing.append(k) }
        }
        let layout = source.layout
        let byAnchor = Dictionary(grouping: motionOf.filter { !layout.isIFrame($0) }) { layout.anchor(of: $0) }
        guard !missing.isEmpty || !byAnchor.isEmpty else { return out }
        missing.sort()
        try control.checkCancelled()
        let reader = try (open ?? { try self.openReader(source, threads: $0) })(threads)
        let size = encoder.model.config.imageSize
        let anchors = byAnchor.keys.sorted()
        let (decoded, deltas) = try reader.decode(
            offsets: missing.map { source.offset($0) },
            motionSpans: anchors.map { a in (a...byAnchor[a]!.max()!).map(source.offset) }, grid: motionGrid,
            meter: control.decodeMeter
        ) { CLIPPreprocessor.resizeAndCrop($0, size: size) }
        for (k, crop) in zip(missing, decoded) {
            decodedFrames.put(source.frameKey(k), crop)
            out.pixels[k] = crop
        }
        out.decoded = missing.count
        for (a, d) in zip(anchors, deltas) {
            for k in byAnchor[a]! { out.motion[k] = PatchMotion.span(d[0..<(k - a)]) }
        }
        return out
    }

    /// A reader of `source`'s original, checked first (gone or changed since indexing is an
    /// error naming it). Concealing, as ingest did; one thread for damaged files, so a damaged
    /// span decodes to the same pictures every time.
    func openReader(_ source: Source, threads: Int) throws -> VideoReader {
        try source.checkFile()
        let reader = try VideoReader(url: source.url, threads: source.damaged ? 1 : threads, concealDamage: true)
        reader.deblockTargetsOnly = deblockTargetsOnly && !source.damaged
        return reader
    }

    /// `sourceFrames` of several videos, at most `sourceWorkers` decoders at a time; results
    /// in the order of `jobs`. A pixels-only job is split by GOP (seek point), so the two cores
    /// share the GOPs of one video as well as those of several: random access decodes a few
    /// hundred frames from each keyframe, where frame threads gain little (measured) and one
    /// decoder per core gains nearly 2x. The longest GOP spans go first; a worker keeps the
    /// reader of each video it has opened for that video's next GOPs. The first error (in
    /// job order) is thrown once every started decode has stopped; after an error or a
    /// cancellation no new GOP starts.
    func sourceFrames(
        _ jobs: [(source: Source, pixels: [Int], motionOf: [Int])], control: QueryControl
    ) throws -> [SourceFrames] {
        // Units of work: (job, its pixel frames of one GOP), or the whole job when it needs
        // motion spans or decodes on one thread for determinism (damaged files).
        var units: [(job: Int, pixels: [Int], motionOf: [Int], cost: Int64)] = []
        for (j, job) in jobs.enumerated() {
            let all = Set(job.pixels)
            let frames = all.filter(job.source.hasOffset)
            if !job.motionOf.isEmpty || job.source.damaged {
                units.append((j, job.pixels, job.motionOf, .max))
                continue
            }
            let gops = Dictionary(grouping: frames) { job.source.offset($0).seekPTS }
            for (seek, ks) in gops {
                units.append((j, ks.sorted(), [], ks.map { job.source.offset($0).pts - seek }.max() ?? 0))
            }
            if frames.count < all.count {  // frames outside the window: let the decode say so
                units.append((j, all.subtracting(frames).sorted(), [], 0))
            }
        }
        units.sort { $0.cost > $1.cost }
        let work = units
        let workers = min(Self.sourceWorkers, units.count)
        let threads = workers > 1 ? 1 : 0
        if workers <= 1 {
            return try jobs.map {
                try sourceFrames(of: $0.source, pixels: $0.pixels, motionOf: $0.motionOf, control: control)
            }
        }
        struct Shared {
            var results: [Result<SourceFrames, Error>?]
            var next = 0
            var failed = false
        }
        let shared = Mutex(Shared(results: .init(repeating: nil, count: units.count)))
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            // One reader per video per worker, opened at its first GOP (an open probes the file).
            var readers: [Int: VideoReader] = [:]
            while true {
                let i: Int? = shared.withLock { s in
                    guard !s.failed, s.next < work.count else { return nil }
                    defer { s.next += 1 }
                    return s.next
                }
                guard let i else { return }
                let unit = work[i]
                let source = jobs[unit.job].source
                let r = Result {
                    try self.sourceFrames(
                        of: source, pixels: unit.pixels, motionOf: unit.motionOf, control: control, threads: threads
                    ) { threads in
                        if let open = readers[unit.job] { return open }
                        let reader = try self.openReader(source, threads: threads)
                        readers[unit.job] = reader
                        return reader
                    }
                }
                shared.withLock { s in
                    s.results[i] = r
                    if case .failure = r { s.failed = true }
                }
            }
        }
        let results = shared.withLock { $0.results }
        // The first error in job order, as before the split.
        var merged = [SourceFrames](repeating: SourceFrames(), count: jobs.count)
        var firstError: (job: Int, error: Error)?
        var unfinished = false
        for (unit, r) in zip(units, results) {
            switch r {
            case .success(let got)?:
                merged[unit.job].pixels.merge(got.pixels) { a, _ in a }
                merged[unit.job].motion.merge(got.motion) { a, _ in a }
                merged[unit.job].decoded += got.decoded
            case .failure(let e)?:
                if firstError == nil || unit.job < firstError!.job { firstError = (unit.job, e) }
            case nil:
                unfinished = true  // not started after an earlier failure
            }
        }
        if let firstError { throw firstError.error }
        if unfinished { throw QueryError.cancelled }
        return merged
    }
}
