import BuildInfo
import Foundation
import Hummingbird
import ResidualStore

struct HealthBody: Encodable {
    struct Cache: Encodable {
        var entries: Int
        var bytes: Int
        var budget: Int
        var hits: Int
        var misses: Int
    }
    var status: String
    /// `BuildInfo.version` (as `rstore --version`) and the API's major version.
    var version = BuildInfo.version
    var apiVersion = BuildInfo.apiVersion
    var uptimeSeconds: Double
    /// Counts held in memory (see `VideoCounts`), `countsAgeSeconds` old (nil: not read yet);
    /// `storeError` says why the last refresh failed (the store is then down or slow).
    var videos: Int
    var readyVideos: Int
    var countsAgeSeconds: Double?
    var storeError: String?
    var model: String
    var embedDim: Int
    var thumbnailCache: Cache
    var frameCache: Cache
    var work: WorkLimiter.Stats
    var storeCalls: WorkLimiter.Stats
    var authRequired: Bool
    var writesEnabled: Bool
}

extension RStoreServer {
    func registerMetaRoutes(_ t: inout RouteTable) {
        // GET /: the search page.
        t.publicGet("/") { _, _ in
            var h = HTTPFields()
            h[.contentType] = "text/html; charset=utf-8"
            h[.contentSecurityPolicy] =
                """
                default-src 'self'; img-src 'self' data:; media-src 'self'; style-src 'self' 'unsafe-inline'; \
                script-src 'self' 'unsafe-inline'
                """
            return Response(status: .ok, headers: h, body: .init(byteBuffer: ByteBuffer(string: SearchPage.html)))
        }

        // GET /healthz: liveness plus cache figures, from memory only (public and polled: it
        // must neither load nor wait for the store).
        t.publicGet("/healthz") { [self] _, _ in
            counts.refreshIfStale()
            let n = counts.current
            let th = thumbnails.stats
            let fc = library.frameCache.stats
            return try JSONResponse.make(
                HealthBody(
                    status: n.error == nil ? "ok" : "degraded", uptimeSeconds: Date().timeIntervalSince(startedAt),
                    videos: n.videos,
                    readyVideos: n.ready, countsAgeSeconds: n.at.map { Date().timeIntervalSince($0) },
                    storeError: n.error, model: library.modelName,
                    embedDim: library.embedDim,
                    thumbnailCache: .init(
                        entries: th.count, bytes: th.bytes, budget: th.byteBudget, hits: th.hits, misses: th.misses),
                    frameCache: .init(
                        entries: fc.count, bytes: fc.bytes, budget: fc.byteBudget, hits: fc.hits, misses: fc.misses),
                    work: work.stats, storeCalls: storeCalls.stats, authRequired: configuration.token != nil,
                    writesEnabled: configuration.token != nil && !roots.isEmpty))
        }

        // GET /openapi.json: the API description.
        t.publicGet("/openapi.json") { _, _ in
            var h = HTTPFields()
            h[.contentType] = "application/json; charset=utf-8"
            return Response(status: .ok, headers: h, body: .init(byteBuffer: ByteBuffer(bytes: OpenAPIDocument.json)))
        }
    }
}
