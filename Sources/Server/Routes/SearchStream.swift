import Foundation
import Hummingbird
import ResidualStore

/// One line of `GET /v1/search?stream=1`: `coarse` (stage 1's moments, at once), `refined`
/// (each batched pass of stage 2), then `done` (`search`: the body the request answers without
/// `stream`) or `error` (`error` and `status`: what the request would have answered).
struct SearchEventBody: Encodable {
    var event: String
    /// Since the request began.
    var seconds: Double
    var moments: [MomentBody]?
    var stage1Ms: Double?
    /// The videos a `refined` line's moments come from.
    var videos: [Int64]?
    var search: SearchBody?
    var error: APIError.Body.Inner?
    var status: Int?
}

extension SearchBody {
    /// The search's answer as the API gives it (`GET` and `POST /v1/search`, and a stream's `done` line).
    init(_ r: SearchReport, query: String, k: Int, seconds: Double, queryKind: String = "text") {
        self.init(
            query: query, k: k, seconds: seconds, moments: r.moments.map(MomentBody.init), stage1_ms: r.stage1Ms,
            stage2_ms: r.stage2Ms, p_frames: r.pFrames, decoded_frames: r.decodedFrames,
            frame_cache_hits: r.frameCacheHits, refined: r.refined, query_kind: queryKind,
            stage1_videos: r.stage1Videos, stage1_rows: r.stage1Rows, stage2_videos: r.stage2Videos)
    }
}

extension RStoreServer {
    /// What the search's thread hands the response as it goes.
    enum SearchStreamEvent: Sendable {
        case progress(SearchProgress)
        case done(SearchReport)
        case failed(any Error)
    }

    /// A search answered as JSON lines (`application/x-ndjson`), each written as soon as the
    /// engine has it. The work runs as any heavy request's (`heavy`: the work line, the
    /// request's budget, cancelled when the client goes away); the stream ends with its final
    /// line. A failure before the first line answers the usual status and error body.
    func streamSearch(
        _ context: Context, limits: QueryControl.Limits, started t0: Date,
        run: @escaping @Sendable (QueryControl, @escaping @Sendable (SearchProgress) -> Void) throws -> SearchReport,
        answer: @escaping @Sendable (SearchReport, Double) -> SearchBody
    ) async throws -> Response {
        // At most one coarse, one refined per batched pass and one final event: unbounded is bounded.
        let (events, sink) = AsyncStream.makeStream(of: SearchStreamEvent.self)
        let task = Task { [self] in
            do {
                let report = try await heavy(context, limits: limits) { control in
                    try run(control) { sink.yield(.progress($0)) }
                }
                sink.yield(.done(report))
            } catch {
                sink.yield(.failed(error))
            }
            sink.finish()
        }
        let lines = EventLine(events)
        // The handler cancelled before the first line (the client went): the search stops too.
        let head = await withTaskCancellationHandler {
            await lines.next()
        } onCancel: {
            task.cancel()
        }
        guard let first = head else {
            task.cancel()
            throw CancellationError()
        }
        if case .failed(let error) = first {
            throw error
        }
        let metrics = self.metrics
        let encoder = JSONResponse.encoder()
        /// The JSON line of `event`.
        @Sendable func line(_ event: SearchStreamEvent) throws -> ByteBuffer {
            let seconds = Date().timeIntervalSince(t0)
            let body: SearchEventBody
            switch event {
            case .progress(.coarse(let r)):
                body = SearchEventBody(
                    event: "coarse", seconds: seconds, moments: r.moments.map(MomentBody.init), stage1Ms: r.stage1Ms)
            case .progress(.refined(let moments, let videos)):
                body = SearchEventBody(
                    event: "refined", seconds: seconds, moments: moments.map(MomentBody.init), videos: videos)
            case .done(let r):
                metrics.search(
                    stage1Ms: r.stage1Ms, stage2Ms: r.stage2Ms, tierHits: r.frameCacheHits, decoded: r.decodedFrames)
                body = SearchEventBody(event: "done", seconds: seconds, search: answer(r, seconds))
            case .failed(let error):
                let api = APIError.from(error)
                body = SearchEventBody(
                    event: "error", seconds: seconds, error: .init(code: api.code, message: api.message),
                    status: Int(api.status.code))
            }
            var data = try encoder.encode(body)
            data.append(0x0a)
            return ByteBuffer(bytes: data)
        }
        var headers = HTTPFields()
        headers[.contentType] = "application/x-ndjson; charset=utf-8"
        headers[.cacheControl] = "no-store"
        return Response(
            status: .ok, headers: headers,
            body: ResponseBody { writer in
                do {
                    try await withTaskCancellationHandler {
                        var next: SearchStreamEvent? = first
                        while let event = next {
                            try await writer.write(try line(event))
                            next = await lines.next()
                        }
                    } onCancel: {
                        task.cancel()
                    }
                } catch {
                    task.cancel()  // the client went away mid-stream: stop the work
                    throw error
                }
                try await writer.finish(nil)
            })
    }
}

/// The events of one stream, read in order by one reader at a time (the handler reads the
/// first, the response body the rest).
private final class EventLine: @unchecked Sendable {
    private var iterator: AsyncStream<RStoreServer.SearchStreamEvent>.AsyncIterator

    init(_ events: AsyncStream<RStoreServer.SearchStreamEvent>) { iterator = events.makeAsyncIterator() }

    func next() async -> RStoreServer.SearchStreamEvent? { await iterator.next() }
}
