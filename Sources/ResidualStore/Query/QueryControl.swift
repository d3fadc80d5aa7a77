import Foundation
import Store
import Video

/// Bounds and cancellation for the work of one query (a search, a range of embeddings, a
/// grounding). A server creates one per request, so a request's work is bounded in frames,
/// not seconds, and stops when its client goes away; the CLI uses the defaults. Decoding is
/// charged as it happens, frame by frame, in 720p frames (`DecodeCost`).
public final class QueryControl: @unchecked Sendable {
    /// How much one query may do.
    public struct Limits: Sendable, Equatable {
        /// P-features reconstructed by the residual encoder for one query.
        public var maxPFrames: Int
        /// Decoding from source files for one query, in 720p frames (`DecodeCost`): every frame
        /// the decoder outputs counts, from the seek keyframe on, weighted by its pixels.
        public var maxDecodedFrames: Double

        public init(maxPFrames: Int = .max, maxDecodedFrames: Double = .infinity) {
            self.maxPFrames = maxPFrames
            self.maxDecodedFrames = maxDecodedFrames
        }

        public static let unlimited = Limits()
    }

    public let limits: Limits
    private let lock = NSLock()
    private var cancelled = false
    private var pFrames = 0
    private var decoded = 0
    private var decodedPixels = 0
    private var tierHits = 0
    private var sourceDecoded = 0

    public init(limits: Limits = .unlimited) { self.limits = limits }

    /// Asks the work to stop at its next check (the client disconnected, the server shuts down).
    public func cancel() { lock.withLock { cancelled = true } }

    public var isCancelled: Bool { lock.withLock { cancelled } }

    /// Throws `QueryError.cancelled` once `cancel()` was called; long loops call it between steps.
    public func checkCancelled() throws {
        if isCancelled { throw QueryError.cancelled }
    }

    /// P-features still allowed for this query.
    package var remainingPFrames: Int { lock.withLock { max(0, limits.maxPFrames - pFrames) } }

    /// Records `count` P-features about to be computed; throws when that would pass the limit
    /// (nothing is recorded then) or the query was cancelled.
    package func charge(pFrames count: Int) throws {
        try lock.withLock {
            if cancelled { throw QueryError.cancelled }
            guard count <= limits.maxPFrames - pFrames else {
                throw QueryError.overBudget(
                    .pFrames, needed: Double(pFrames) + Double(count), limit: Double(limits.maxPFrames))
            }
            pFrames += count
        }
    }

    /// Records one frame the decoder has just output (`width` x `height`): throws, recording
    /// nothing, when it would take the query past `maxDecodedFrames` or the query was cancelled.
    /// Passed to the video layer as its `DecodeMeter`, so decoding stops mid-way.
    package func chargeDecoded(width: Int, height: Int) throws {
        let cost = DecodeCost.pixels(width: width, height: height)
        try lock.withLock {
            if cancelled { throw QueryError.cancelled }
            let limit = DecodeCost.pixels(frames: limits.maxDecodedFrames)
            guard cost <= limit - decodedPixels else {
                throw QueryError.overBudget(
                    .decoding, needed: DecodeCost.frames(pixels: decodedPixels + cost), limit: limits.maxDecodedFrames)
            }
            decodedPixels += cost
            decoded += 1
        }
    }

    /// This control as the video layer's meter.
    package var decodeMeter: DecodeMeter { { [self] w, h in try chargeDecoded(width: w, height: h) } }

    /// Where this query's P-frame inputs came from: the decoded-frame tier, or decoding the
    /// original file (counted, not limited: `charge(decodedFrames:)` is the limit).
    package func noteFrameSources(tierHits: Int, decoded: Int) {
        lock.withLock {
            self.tierHits += tierHits
            sourceDecoded += decoded
        }
    }

    package var frameSources: (tierHits: Int, decoded: Int) { lock.withLock { (tierHits, sourceDecoded) } }

    /// What this query has used so far: P-frames, frames the decoder output, and their cost in
    /// 720p frames.
    public var usage: (pFrames: Int, decodedFrames: Int, decodeCost: Double) {
        lock.withLock { (pFrames, decoded, DecodeCost.frames(pixels: decodedPixels)) }
    }
}

extension QueryControl {
    /// The least decoding `frames` sampled frames of `v` cost, in 720p frames (`DecodeCost`),
    /// if none is cached: one decoded picture each at the size probed at ingest (the minimum
    /// when the stored probe does not parse). Lets a server refuse a range before any work;
    /// the real charge (keyframe distance included) comes as the decoder goes.
    public static func decodeEstimate(_ v: VideoRecord, frames: Int) -> Double {
        let info = try? JSONDecoder().decode(VideoInfo.self, from: Data(v.info.utf8))
        let pixels = DecodeCost.pixels(width: info?.codedWidth ?? 0, height: info?.codedHeight ?? 0)
        return Double(max(0, frames)) * DecodeCost.frames(pixels: pixels)
    }
}

/// Why a query stopped before it finished.
public enum QueryError: Error, CustomStringConvertible, Equatable {
    /// Which of `QueryControl.Limits` a query ran out of.
    public enum Budget: String, Sendable {
        case pFrames = "P-frames"
        case decoding = "decoded 720p frames"
    }

    case cancelled
    /// `needed`: what the query would have used with the step that was refused.
    case overBudget(Budget, needed: Double, limit: Double)

    public var description: String {
        switch self {
        case .cancelled: return "the query was cancelled"
        case .overBudget(let budget, let needed, let limit):
            let verb = budget == .decoding ? "reached" : "needs"
            return
                """
                this query \(verb) \(Self.figure(needed)) \(budget.rawValue), more than the limit of \
                \(Self.figure(limit)) per query; ask for a shorter range
                """
        }
    }

    /// A whole number as is, else at most two decimals (for messages).
    public static func figure(_ x: Double) -> String {
        guard x.isFinite, abs(x) < 1e15 else { return "\(x)" }
        let r = (x * 100).rounded() / 100
        return r == r.rounded() ? String(Int(r)) : "\(r)"
    }
}
