import Foundation
import Hummingbird

extension RStoreServer {
    func registerMetricsRoute(_ t: inout RouteTable) {
        // GET /metrics: Prometheus text. Behind the token like /v1 (request counts per route
        // tell what a library is used for) unless --metrics-public.
        let handler: RouteTable.Handler = { [self] _, _ in
            let w = work.stats
            metrics.gauge("rstore_work_running", Double(w.running))
            metrics.gauge("rstore_work_queued", Double(w.queued))
            metrics.gauge("rstore_videos", Double(counts.current.videos))
            metrics.gauge("rstore_index_queue_depth", Double(try await indexQueueDepth()))
            var h = HTTPFields()
            h[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            h[.cacheControl] = "no-store"
            return Response(status: .ok, headers: h, body: .init(byteBuffer: ByteBuffer(bytes: metrics.render())))
        }
        if configuration.metricsPublic { t.publicGet("/metrics", handler) } else { t.get("/metrics", handler) }
    }

    /// Files waiting to be indexed: the shared store's queue (queued, not yet claimed), or
    /// this server's index jobs queued or running.
    func indexQueueDepth() async throws -> Int {
        guard library.hasIndexQueue else { return jobs.pending }
        let library = self.library
        return try await blocking("reading the queue") { try library.queueCounts() }?.queued ?? 0
    }
}
