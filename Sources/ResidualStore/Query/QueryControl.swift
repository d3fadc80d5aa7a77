import Foundation

/// Bounds and cancellation for the work of one query (a search, a range of embeddings, a
/// grounding). A server creates one per request, so a request's work is bounded in frames,
/// not seconds, and stops when its client goes away; the CLI uses the defaults.
public final class QueryControl: @unchecked Sendable {
    /// How much one query may do.
    public struct Limits: Sendable, Equatable {
        /// P-features reconstructed by the residual encoder for one query.
        public var maxPFrames: Int
        /// Frames decoded from source files for one query.
        public var maxDecodedFrames: Int

        public init(maxPFrames: Int = .max, maxDecodedFrames: Int = .max) {
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
    public var remainingPFrames: Int { lock.withLock { max(0, limits.maxPFrames - pFrames) } }

    /// Records `count` P-features about to be computed; throws when that would pass the limit
    /// (nothing is recorded then) or the query was cancelled.
    public func charge(pFrames count: Int) throws {
        try lock.withLock { try Self.add(count, to: &pFrames, limit: limits.maxPFrames, what: "P-frames", cancelled: cancelled) }
    }

    /// Records `count` frames about to be decoded from a source file; throws past the limit.
    public func charge(decodedFrames count: Int) throws {
        try lock.withLock { try Self.add(count, to: &decoded, limit: limits.maxDecodedFrames, what: "decoded frames", cancelled: cancelled) }
    }

    private static func add(_ count: Int, to used: inout Int, limit: Int, what: String, cancelled: Bool) throws {
        if cancelled { throw QueryError.cancelled }
        guard count <= limit - used else { throw QueryError.overBudget(what: what, needed: used + count, limit: limit) }
        used += count
    }

    /// Where this query's P-frame inputs came from: the decoded-frame tier, or decoding the
    /// original file (counted, not limited: `charge(decodedFrames:)` is the limit).
    public func noteFrameSources(tierHits: Int, decoded: Int) {
        lock.withLock { self.tierHits += tierHits; sourceDecoded += decoded }
    }

    public var frameSources: (tierHits: Int, decoded: Int) { lock.withLock { (tierHits, sourceDecoded) } }

    /// What this query has used so far.
    public var usage: (pFrames: Int, decodedFrames: Int) { lock.withLock { (pFrames, decoded) } }
}

/// Why a query stopped before it finished.
public enum QueryError: Error, CustomStringConvertible, Equatable {
    case cancelled
    case overBudget(what: String, needed: Int, limit: Int)

    public var description: String {
        switch self {
        case .cancelled: return "the query was cancelled"
        case .overBudget(let what, let needed, let limit):
            return "this query needs \(needed) \(what), more than the limit of \(limit) per query; ask for a shorter range"
        }
    }
}
