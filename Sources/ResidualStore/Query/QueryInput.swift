import CLIP
import Foundation
import Store
import Tensor
import Video

/// What a search asks with. Each kind becomes one unit-length vector in the model's joint
/// space (`Library.queryVector`), and from there every kind runs the same two-stage search.
public enum QueryInput: Sendable, Equatable {
    /// A text, through the text tower.
    case text(String)
    /// An image file (anything libav reads), through the image tower with the preprocessing
    /// of ingest and `rstore encode --image` (resize, centre crop, CLIP normalisation).
    case image(URL)
    /// "More like this": the feature of the sampled frame of a stored video (id or path)
    /// nearest to `time` seconds: its stored I-feature, or its P-feature reconstructed.
    case storedFrame(video: String, time: Double)
    /// A vector the caller brings, of the model's width; scaled to unit length.
    case vector([Float])

    /// The kind's name as the API and `--json` report it.
    public var kind: String {
        switch self {
        case .text: return "text"
        case .image: return "image"
        case .storedFrame: return "like"
        case .vector: return "vector"
        }
    }

    /// Bounds on what resolving a query may read.
    public struct Limits: Sendable, Equatable {
        /// Largest image, in pixels, checked from the file's header before any picture is
        /// decoded (a small compressed file may declare a huge picture).
        public var maxImagePixels: Int

        public init(maxImagePixels: Int = 40_000_000) { self.maxImagePixels = maxImagePixels }
    }
}

extension Library {
    /// The unit-length query vector of `input` (see `QueryInput`). Bad input throws a typed
    /// error: `LibraryError.badVector`, `.badImage`, `.imageTooLarge`, `.timeOutsideVideo`,
    /// `.emptyQuery`, or `StoreError.unknownVideo` / `.notReady` for a stored frame.
    package func queryVector(
        _ input: QueryInput, limits: QueryInput.Limits = .init(), control: QueryControl = QueryControl()
    ) throws -> [Float] {
        switch input {
        case .text(let text):
            return try textQuery(text)
        case .vector(let v):
            return try Self.checkedUnit(v, dim: embedDim)
        case .image(let url):
            let image: RGBImage
            do {
                image = try ImageFile.load(url, maxPixels: limits.maxImagePixels)
            } catch VideoError.tooManyPixels(let path, let w, let h, let limit) {
                throw LibraryError.imageTooLarge(path: path, width: w, height: h, limit: limit)
            } catch let e as VideoError {
                throw LibraryError.badImage(path: url.path, reason: e.description)
            }
            let e = model.embed(images: [image])[0]
            return try Self.checkedUnit(e, dim: embedDim)
        case .storedFrame(let ref, let time):
            let v = try video(ref)
            try requireReady(v)
            guard time.isFinite, time >= 0, time <= v.duration + 1e-6 else {
                throw LibraryError.timeOutsideVideo(video: v.path, time: time, duration: v.duration)
            }
            let src = try source(v)
            guard let k = Self.nearestFrame(src.offsets.map(\.time), to: time) else {
                throw LibraryError.timeOutsideVideo(video: v.path, time: time, duration: v.duration)
            }
            let f =
                v.layout.isIFrame(k)
                ? try src.iFeature(k)
                : try reconstructor(for: v).features(of: src, range: k..<(k + 1), control: control)[0]
            return try Self.checkedUnit(f, dim: embedDim)
        }
    }

    /// `v` scaled to unit length after checking its width and values.
    static func checkedUnit(_ v: [Float], dim: Int) throws -> [Float] {
        guard v.count == dim else {
            throw LibraryError.badVector("it has \(v.count) values; this library's model embeds in \(dim)")
        }
        if let i = v.firstIndex(where: { !$0.isFinite }) {
            throw LibraryError.badVector("value \(i) is \(v[i]), not a finite number")
        }
        let norm = VectorMath.norm(v)
        guard norm.isFinite, norm > 1e-12 else {
            throw LibraryError.badVector("its length is \(norm): no usable direction")
        }
        return VectorMath.normalized(v)
    }

    /// Index of the time in `times` (ascending) nearest to `t`; nil for none.
    static func nearestFrame(_ times: [Double], to t: Double) -> Int? {
        guard !times.isEmpty else { return nil }
        var lo = 0
        var hi = times.count - 1
        while lo < hi {
            let mid = (lo + hi) / 2
            if times[mid] < t { lo = mid + 1 } else { hi = mid }
        }
        if lo > 0, abs(times[lo - 1] - t) <= abs(times[lo] - t) { return lo - 1 }
        return lo
    }
}
