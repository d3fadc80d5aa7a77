import CLIP
import Digest
import Foundation
import Store
import Video

/// The decoded-frame tier: for every P-frame, only what its recomputation needs, the kept
/// patches of its 224x224 model input (uint8, before normalisation), as one small JPEG
/// mosaic, plus the kept indices. Filled at ingest (which decodes every sampled frame anyway)
/// and on every reconstruction that had to decode the original; read before decoding.
///
/// A payload is served only if it is exactly for this frame: the video's content hash and the
/// recipe (N, p, strategy, the reduction's fingerprint, image and patch size, codec) are the
/// key, and the payload repeats the frame's index, pts and anchor pts, checked against the
/// stored offsets. Kept indices are checked against what the reduction picks now wherever
/// that can be recomputed without pixels (every strategy but motion).
package final class FrameTier: @unchecked Sendable {
    package let file: FrameTierFile
    /// JPEG quality (libavcodec qscale, 2 = best). Chosen by measurement (docs/DESIGN.md).
    package let quality: Int
    /// Full chroma: 4:2:0 lost fine coloured detail (tier-vs-source P-feature cosine min 0.919
    /// on the bench library; docs/DESIGN.md has the figures). Part of the recipe, so payloads
    /// of another codec are never served.
    static let chroma = JPEGEncoder.Chroma.full444
    static var codecTag: String { chroma == .full444 ? "jpeg444" : "jpeg420" }
    static let patchesPerRow = 8

    package init(file: FrameTierFile, quality: Int = 2) {
        self.file = file
        self.quality = quality
    }

    /// What a P-frame needs: its kept patch indices and a model-input image holding those
    /// patches (other pixels black: they are never read).
    package struct Entry {
        package var keep: [Int]
        package var image: RGBImage
    }

    private let recipeLock = NSLock()
    private var recipes: [String: String] = [:]

    /// The key part that fixes which patches are kept and how they are coded (computed once
    /// per setting: the fingerprint runs the reduction on two full-size images). The motion
    /// strategy's recipe names the video's motion source (codec vectors keep other patches
    /// than the pixel difference); for the pixel difference it is what it was before sources
    /// were recorded, so tiers of those videos stay valid.
    package func recipe(_ encoder: ResidualEncoder, motionSource: MotionSource = .pixels) -> String {
        let c = encoder.model.config
        let r = encoder.reduction
        let vectors = r.strategy == .motion && motionSource == .vectors
        let strategy = r.strategy.rawValue + (vectors ? "+mv" : "")
        let setting = "n\(encoder.n)/p\(r.p)/\(strategy)/seed\(r.seed)/s\(c.imageSize)/ps\(c.patchSize)"
        if let known = recipeLock.withLock({ recipes[setting] }) { return known }
        let recipe =
            "n\(encoder.n)/p\(r.p)/\(strategy)@\(Self.fingerprint(r, grid: c.gridSize, patch: c.patchSize, vectors: vectors))/s\(c.imageSize)/ps\(c.patchSize)/\(Self.codecTag)q\(quality)"
        recipeLock.withLock { recipes[setting] = recipe }
        return recipe
    }

    /// A digest of what the reduction selects on fixed inputs: a change of the selection rule
    /// (a fixed strategy, a new motion signal) changes the recipe, so old patches are never
    /// served for a new rule.
    static func fingerprint(_ r: TokenReduction, grid: Int, patch: Int, vectors: Bool = false) -> String {
        let s = grid * patch
        let count = 3 * s * s
        var frame = [Float](repeating: 0, count: count)
        var anchor = [Float](repeating: 0, count: count)
        for i in 0..<count {
            frame[i] = Float((i &* 2_654_435_761) % 1000) / 500 - 1
            anchor[i] = Float((i &* 40503) % 997) / 500 - 1
        }
        // Codec motion: a fixed per-patch score, so a change of how scores are used shows too.
        let motion = vectors ? (0..<grid * grid).map { Float(($0 &* 7919) % 101) } : nil
        var text = ""
        frame.withUnsafeBufferPointer { f in
            anchor.withUnsafeBufferPointer { a in
                for k in 1...6 {
                    text +=
                        r.select(
                            grid: grid, patchSize: patch, frameIndex: k, frame: f.baseAddress, anchor: a.baseAddress,
                            motion: motion
                        )
                        .map(String.init).joined(separator: ",") + ";"
                }
            }
        }
        return String(SHA256.hex(Data(text.utf8)).prefix(12))
    }

    /// Copies one square patch of packed RGB24 between images of different widths.
    static func copyPatch(
        _ patch: Int, from src: [UInt8], width sw: Int, at s: (y: Int, x: Int),
        to dst: inout [UInt8], width dw: Int, at d: (y: Int, x: Int)
    ) {
        for y in 0..<patch {
            let a = ((s.y + y) * sw + s.x) * 3
            let b = ((d.y + y) * dw + d.x) * 3
            dst.replaceSubrange(b..<(b + patch * 3), with: src[a..<(a + patch * 3)])
        }
    }

    // Payload: "RT1", index i64, pts i64, anchor pts i64, keep count u16, keep u16 x count, JPEG.

    /// A JPEG encoder for this tier's mosaics, to keep across writes (one per ingest: opening
    /// one per picture cost more than the picture).
    package func makeJPEGSession() -> JPEGEncoderSession {
        JPEGEncoderSession(JPEGEncoder(quality: quality, chroma: Self.chroma))
    }

    /// The payload of one P-frame: its kept patches of `image` (the model input).
    func payload(
        _ image: RGBImage, keep: [Int], index: Int, pts: Int64, anchorPTS: Int64, patch: Int,
        jpeg: JPEGEncoderSession
    ) throws -> Data {
        let perRow = min(Self.patchesPerRow, keep.count)
        let rows = (keep.count + perRow - 1) / perRow
        let w = perRow * patch
        let h = rows * patch
        let grid = image.width / patch
        var mosaic = [UInt8](repeating: 0, count: w * h * 3)
        for (j, p) in keep.enumerated() {
            Self.copyPatch(
                patch, from: image.pixels, width: image.width, at: ((p / grid) * patch, (p % grid) * patch),
                to: &mosaic, width: w, at: ((j / perRow) * patch, (j % perRow) * patch))
        }
        var out = Data("RT1".utf8)
        for v in [Int64(index), pts, anchorPTS] { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        withUnsafeBytes(of: UInt16(keep.count).littleEndian) { out.append(contentsOf: $0) }
        for p in keep { withUnsafeBytes(of: UInt16(p).littleEndian) { out.append(contentsOf: $0) } }
        out.append(try jpeg.encode(RGBImage(width: w, height: h, pixels: mosaic)))
        return out
    }

    /// Decodes a payload; nil when it is not exactly for this frame or does not parse.
    func entry(_ data: Data, index: Int, pts: Int64, anchorPTS: Int64, keepCount: Int, size: Int, patch: Int) -> Entry?
    {
        let bytes = [UInt8](data)
        guard bytes.count > 29, Array(bytes[0..<3]) == [0x52, 0x54, 0x31] else { return nil }
        func i64(_ at: Int) -> Int64 { (0..<8).reduce(Int64(0)) { $0 | Int64(bytes[at + $1]) << (8 * Int64($1)) } }
        func u16(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 }
        guard i64(3) == Int64(index), i64(11) == pts, i64(19) == anchorPTS else { return nil }
        let count = u16(27)
        let grid = size / patch
        guard count == keepCount, bytes.count > 29 + 2 * count else { return nil }
        let keep = (0..<count).map { u16(29 + 2 * $0) }
        guard keep == keep.sorted(), Set(keep).count == count, keep.allSatisfy({ $0 < grid * grid }) else { return nil }
        guard let mosaic = try? JPEGDecoder(maxDimension: 4096).decode(Data(bytes[(29 + 2 * count)...])) else {
            return nil
        }
        let perRow = min(Self.patchesPerRow, count)
        let rows = (count + perRow - 1) / perRow
        guard mosaic.width == perRow * patch, mosaic.height == rows * patch else { return nil }
        var px = [UInt8](repeating: 0, count: size * size * 3)
        for (j, p) in keep.enumerated() {
            Self.copyPatch(
                patch, from: mosaic.pixels, width: mosaic.width, at: ((j / perRow) * patch, (j % perRow) * patch),
                to: &px, width: size, at: ((p / grid) * patch, (p % grid) * patch))
        }
        return Entry(keep: keep, image: RGBImage(width: size, height: size, pixels: px))
    }

    /// The P-frames of `frames` the tier holds for `encoder`'s recipe (keys only; `read` still
    /// checks each entry, so this may claim one that turns out damaged).
    package func holds(_ source: Reconstructor.Source, frames: [Int], encoder: ResidualEncoder) -> Set<Int> {
        file.present(
            video: source.contentHash, recipe: recipe(encoder, motionSource: source.motionSource), frames: frames)
    }

    /// Entries of the P-frames `frames` of `source` that the tier holds for `encoder`'s recipe.
    package func read(_ source: Reconstructor.Source, frames: [Int], encoder: ResidualEncoder) -> [Int: Entry] {
        let c = encoder.model.config
        let recipe = recipe(encoder, motionSource: source.motionSource)
        let keepCount = encoder.reduction.keepCount(patches: c.patchCount)
        let recomputable = encoder.reduction.strategy != .motion
        var out: [Int: Entry] = [:]
        for (k, data) in file.get(video: source.contentHash, recipe: recipe, frames: frames) {
            let a = source.layout.anchor(of: k)
            guard source.hasOffset(k), source.hasOffset(a) else { continue }
            guard
                let e = entry(
                    data, index: k, pts: source.offset(k).pts, anchorPTS: source.offset(a).pts,
                    keepCount: keepCount, size: c.imageSize, patch: c.patchSize)
            else { continue }
            if recomputable
                && e.keep != encoder.reduction.select(grid: c.gridSize, patchSize: c.patchSize, frameIndex: k)
            {
                continue
            }
            out[k] = e
        }
        return out
    }

    /// One P-frame input to store: its model-input image and kept indices, and the pts of the
    /// frame and its anchor (what a later read checks).
    package struct Input {
        package var index: Int
        package var pts: Int64
        package var anchorPTS: Int64
        package var image: RGBImage
        package var keep: [Int]

        package init(index: Int, pts: Int64, anchorPTS: Int64, image: RGBImage, keep: [Int]) {
            self.index = index
            self.pts = pts
            self.anchorPTS = anchorPTS
            self.image = image
            self.keep = keep
        }
    }

    private let warnOnce = NSLock()
    private var warned = false

    /// Like `write`, for callers to whom the tier is only a cache: a failure is reported once
    /// on stderr and otherwise ignored (the next query decodes the original instead).
    package func refill(
        video: String, _ inputs: [Input], encoder: ResidualEncoder, motionSource: MotionSource = .pixels,
        jpeg: JPEGEncoderSession? = nil
    ) {
        do {
            try write(video: video, inputs, encoder: encoder, motionSource: motionSource, jpeg: jpeg)
        } catch {
            warnNotWritten(error)
        }
    }

    /// Like `writeStills`, for ingest: a failure is reported once and otherwise ignored.
    package func refillStills(video: String, _ stills: [(ms: Int64, data: Data)]) {
        do { try writeStills(video: video, stills) } catch { warnNotWritten(error) }
    }

    private func warnNotWritten(_ error: any Error) {
        let first = warnOnce.withLock { () -> Bool in
            defer { warned = true }
            return !warned
        }
        if first {
            FileHandle.standardError.write(
                Data("warning: decoded-frame tier \(file.url.path) not written: \(error)\n".utf8))
        }
    }

    /// Stores P-frame inputs of the video with content hash `video` (`jpeg`: an encoder kept
    /// by the caller, else one for this call).
    package func write(
        video: String, _ inputs: [Input], encoder: ResidualEncoder, motionSource: MotionSource = .pixels,
        jpeg: JPEGEncoderSession? = nil
    ) throws {
        let patch = encoder.model.config.patchSize
        let jpeg = jpeg ?? makeJPEGSession()
        let payloads = try inputs.map {
            (
                $0.index,
                try payload(
                    $0.image, keep: $0.keep, index: $0.index, pts: $0.pts, anchorPTS: $0.anchorPTS, patch: patch,
                    jpeg: jpeg)
            )
        }
        try file.put(video: video, recipe: recipe(encoder, motionSource: motionSource), payloads: payloads)
    }
}

extension Library {
    /// The tier file beside the store (`<store>.frames`), owned by this store and model. A
    /// tier that cannot be opened is left out: queries decode the originals instead. `bytes`
    /// nil: opened with no budget, which `refreshTierBudget` sets from the library's size.
    static func openFrameTier(store: URL, model: CLIPModel, bytes: Int?) -> FrameTier? {
        if let bytes, bytes <= 0 { return nil }
        let url = URL(fileURLWithPath: store.standardizedFileURL.path + ".frames")
        let owner = "\(store.standardizedFileURL.path)|\(model.weightsSHA256)"
        let budget = TierBudget.compute(hours: 0, freeDiskBytes: nil, fixedFrames: bytes ?? 0)
        return (try? FrameTierFile(url: url, owner: owner, byteBudget: budget.frames, stillBudget: budget.stills)).map {
            FrameTier(file: $0)
        }
    }
}
