import Foundation
import Hummingbird
import NIOCore
import ResidualStore

/// How a handler runs heavy work: with its own `QueryControl` (the request's budget in
/// P-frames and decoded frames), in the bounded work line, cancelled when the client goes
/// away (connection closed or half-closed) or the handler's task is cancelled.
extension RStoreServer {
    /// The per-request limits from the configuration.
    var queryLimits: QueryControl.Limits {
        QueryControl.Limits(
            maxPFrames: configuration.limits.maxPFrames, maxDecodedFrames: configuration.limits.maxDecodedFrames)
    }

    /// Runs `body` with a fresh control for this request (see the type comment).
    func heavy<T: Sendable>(
        _ context: Context, limits: QueryControl.Limits? = nil,
        _ body: @escaping @Sendable (QueryControl) throws -> T
    ) async throws -> T {
        let control = QueryControl(limits: limits ?? queryLimits)
        let work = self.work
        let cancel: @Sendable () -> Void = {
            control.cancel()
            work.abandon(control)
        }
        let watcher = await context.connectionWatcher()
        let registration = watcher?.onGone(cancel)
        defer { watcher?.remove(registration) }
        return try await withTaskCancellationHandler {
            try await work.run(control) { try body(control) }
        } onCancel: {
            cancel()
        }
    }

    /// Refuses a range of `v` whose frames exceed the per-request limits before any work,
    /// counting from the stored frame count and sampling rate: `frames` sampled frames lie in
    /// [from, to], of which all but the I-frames must be reconstructed, and decoded: at least
    /// one picture each at the video's size (`QueryControl.decodeEstimate`). The real decoding
    /// (from each seek keyframe on) is charged as it happens and stops the request mid-way.
    /// A video that is not ready answers 409 first: its frame count is still growing.
    func checkFrameBudget(_ v: Library.StoredVideo, from: Double, to: Double, what: String) throws {
        let budget = try library.frameBudget(v, from: from, to: to)
        let (frames, pFrames, decoding) = (budget.frames, budget.pFrames, budget.decodedFrames)
        let limits = configuration.limits
        if pFrames > limits.maxPFrames {
            throw APIError(
                .badRequest, "over_limit",
                """
                \(what) covers \(frames) sampled frames of video \(v.id ?? -1) (\(pFrames) to reconstruct); the limit \
                is \(limits.maxPFrames) P-frames per request (--max-p-frames): ask for a shorter from/to
                """
            )
        }
        if decoding > limits.maxDecodedFrames {
            throw APIError(
                .badRequest, "over_limit",
                """
                \(what) covers \(frames) sampled frames of video \(v.id ?? -1), \(pFrames) to decode: at least \
                \(QueryError.figure(decoding)) 720p frames of decoding; the limit is \
                \(QueryError.figure(limits.maxDecodedFrames)) decoded 720p frames per request (--max-decoded-frames): \
                ask for a shorter from/to
                """
            )
        }
    }
}

extension ServerContext {
    /// The watcher on this request's connection (nil without a real connection).
    func connectionWatcher() async -> ConnectionWatcher? {
        guard let channel else { return nil }
        return try? await channel.pipeline.handler(type: ConnectionWatcher.self).get()
    }
}
