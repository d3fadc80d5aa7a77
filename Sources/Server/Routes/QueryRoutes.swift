import Foundation
import Hummingbird
import ResidualStore

/// A moment as the API returns it: the library's `Moment` plus what a page needs to show it.
struct MomentBody: Encodable {
    var videoID: Int64
    var path: String
    var name: String
    var start: Double
    var end: Double
    var score: Float
    var firstFrame: Int
    var lastFrame: Int
    var refined: Bool
    /// A representative frame (the middle of the moment) and its thumbnail URL.
    var frame: Int
    var thumbnail: String
    var media: String

    init(_ m: Moment) {
        videoID = m.videoID
        path = m.path
        name = (m.path as NSString).lastPathComponent
        start = m.start
        end = m.end
        score = m.score
        firstFrame = m.firstFrame
        lastFrame = m.lastFrame
        refined = m.refined
        frame = (m.firstFrame + m.lastFrame) / 2
        thumbnail = "/v1/videos/\(m.videoID)/frames/\(frame).jpg"
        media = "/v1/videos/\(m.videoID)/media"
    }
}

struct SearchBody: Encodable {
    var query: String
    var k: Int
    var seconds: Double
    var moments: [MomentBody]
    var stage1_ms: Double
    var stage2_ms: Double
    var p_frames: Int
    var decoded_frames: Int
    var frame_cache_hits: Int
    /// False when some moments kept coarse boundaries (refine=false, or the P-frame budget ran out).
    var refined: Bool
    /// text, image, like or vector.
    var query_kind = "text"
    /// What stage 1 scored (a filter's part of the library) and which videos stage 2 read.
    var stage1_videos = 0
    var stage1_rows = 0
    var stage2_videos: [Int64] = []
}

struct GroundBody: Encodable {
    var video: Int64
    var query: String
    var seconds: Double
    var proposals: [MomentBody]
}

struct CurveBody: Encodable {
    var video: Int64
    var query: String
    var dense: Bool
    var points: [Library.CurvePoint]
}

extension RStoreServer {
    func registerQueryRoutes(_ t: inout RouteTable) {
        // GET /v1/search?q=TEXT&k=10: text-to-moment search over the library (filters as
        // query parameters: root, video_id, path_prefix, from, to). stream=true: JSON lines,
        // stage 1's moments first (`streamSearch`).
        t.get("/v1/search") { [self] request, context in
            let params = QueryParameters(request)
            let q = try params.text("q", maxLength: configuration.limits.maxQueryLength)
            let k = try params.int("k", default: 10, range: 1...configuration.limits.maxK)
            // refine=false: stage 1 only (coarse boundaries at once; the page asks again for refined ones).
            let refine = try params.bool("refine", default: true)
            let stream = try params.bool("stream", default: false)
            let filter = try Self.filter(params)
            let library = self.library
            let t0 = Date()
            // Stage 2 stops refining when the request's P-frame budget is spent (at once with refine=false).
            var limits = queryLimits
            if !refine { limits.maxPFrames = 0 }
            if stream {
                return try await streamSearch(context, limits: limits, started: t0) { control, progress in
                    try library.searchReport(.text(q), k: k, filter: filter, control: control, progress: progress)
                } answer: { r, seconds in
                    SearchBody(r, query: q, k: k, seconds: seconds)
                }
            }
            let r = try await heavy(context, limits: limits) { control in
                try library.searchReport(.text(q), k: k, filter: filter, control: control)
            }
            metrics.search(
                stage1Ms: r.stage1Ms, stage2Ms: r.stage2Ms, tierHits: r.frameCacheHits, decoded: r.decodedFrames)
            return try JSONResponse.make(SearchBody(r, query: q, k: k, seconds: Date().timeIntervalSince(t0)))
        }

        // GET /v1/videos/{id}/ground?q=TEXT&k=5: zero-shot grounding in one video.
        t.get("/v1/videos/{id}/ground") { [self] request, context in
            let v = try await videoRecord(context)
            let params = QueryParameters(request)
            let q = try params.text("q", maxLength: configuration.limits.maxQueryLength)
            let k = try params.int("k", default: 5, range: 1...configuration.limits.maxK)
            try checkFrameBudget(v, from: 0, to: v.duration, what: "grounding (every frame of the video)")
            let library = self.library
            let t0 = Date()
            let proposals = try await heavy(context) { control in try library.ground(v, text: q, control: control) }
            return try JSONResponse.make(
                GroundBody(
                    video: v.id ?? -1, query: q, seconds: Date().timeIntervalSince(t0),
                    proposals: proposals.prefix(k).map(MomentBody.init)))
        }

        // GET /v1/videos/{id}/curve?q=TEXT&dense=false: per-frame similarity to a text.
        t.get("/v1/videos/{id}/curve") { [self] request, context in
            let v = try await videoRecord(context)
            let params = QueryParameters(request)
            let q = try params.text("q", maxLength: configuration.limits.maxQueryLength)
            let dense = try params.bool("dense", default: false)
            let from = try params.double("from") ?? 0
            let to = try params.double("to") ?? v.duration
            guard from >= 0, to >= from else {
                throw APIError.badParameter("need 0 <= from <= to, got from=\(from) to=\(to)")
            }
            // Without dense, only stored I-features are read: nothing is decoded or reconstructed.
            if dense { try checkFrameBudget(v, from: from, to: to, what: "a dense curve from \(from) s to \(to) s") }
            let library = self.library
            let points = try await heavy(context) { control in
                try library.similarityCurve(v, text: q, from: from, to: to, dense: dense, control: control)
            }
            return try JSONResponse.make(CurveBody(video: v.id ?? -1, query: q, dense: dense, points: points))
        }
    }
}
