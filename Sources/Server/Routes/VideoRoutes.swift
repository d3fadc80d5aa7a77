import Foundation
import Hummingbird
import ResidualStore
import Timeline

extension RStoreServer {
    /// The stored video named by the `{id}` path parameter (400 if not an integer, 404 if
    /// unknown), read off the event loops (`blocking`); when the store does not answer (503),
    /// the record this server read last, if any (`RecordCache`).
    func videoRecord(_ context: Context) async throws -> Library.StoredVideo {
        let id = try context.integerParameter("id", what: "video id")
        let library = self.library
        do {
            let v = try await blocking("reading video \(id)") { try library.video(id: id) }
            records.remember(v)
            return v
        } catch {
            if APIError.from(error).status == .serviceUnavailable, let known = records.record(id) { return known }
            throw error
        }
    }

    func registerVideoRoutes(_ t: inout RouteTable) {
        // GET /v1/videos: every stored video with its indexing status.
        t.get("/v1/videos") { [self] request, _ in
            let params = QueryParameters(request)
            let statusFilter = params.string("status")
            var status: Library.StoredVideo.Status?
            if let s = statusFilter, !s.isEmpty {
                guard let st = Library.StoredVideo.Status(rawValue: s) else {
                    throw APIError.badParameter(
                        "`status` must be one of indexing, ready, failed; got \"\(s.prefix(40))\"")
                }
                status = st
            }
            let page = try PageRequest(params, maxLimit: configuration.limits.maxPageVideos)
            let (library, wanted) = (self.library, status)
            let all = try await blocking("listing the videos") { try library.videos(status: wanted) }.sorted {
                ($0.id ?? -1) < ($1.id ?? -1)
            }
            let (videos, next) = page.page(all) { $0.id ?? -1 }
            return try JSONResponse.make(VideosBody(videos: videos.map(VideoSummary.init), nextCursor: next))
        }

        // GET /v1/videos/{id}: one video.
        t.get("/v1/videos/{id}") { [self] _, context in
            try JSONResponse.make(VideoSummary(try await videoRecord(context)))
        }

        // DELETE /v1/videos/{id}: removes that stored version from the library (a write: the
        // bearer token, never the cookie); the file itself stays. 204, or 404 when unknown,
        // 409 while another process is still indexing it.
        t.delete("/v1/videos/{id}") { [self] _, context in
            let id = try context.integerParameter("id", what: "video id")
            let library = self.library
            guard try await blocking("deleting video \(id)", { try library.delete(videoID: id) }) else {
                throw APIError(.notFound, "unknown_video", "no video \(id) in the library")
            }
            records.forget(id)
            return Response(status: .noContent)
        }

        // GET /v1/videos/{id}/frames?limit=N&cursor=C: a page of the sampled-frame timeline
        // (index, time, I/P, anchor), read from the chunks it overlaps only.
        t.get("/v1/videos/{id}/frames") { [self] request, context in
            let page = try PageRequest(QueryParameters(request), maxLimit: configuration.limits.maxPageFrames)
            let v = try await videoRecord(context)
            let first = Int(min(Int64(Int32.max), page.cursor.map { $0 + 1 } ?? 0))
            let range = first..<max(first, min(v.frameCount, first + page.limit))
            let library = self.library
            let frames = try await blocking("reading the timeline of video \(v.id ?? -1)") {
                try library.timeline(v, frames: range)
            }
            let next = range.upperBound < v.frameCount ? String(range.upperBound - 1) : nil
            return try JSONResponse.make(FramesBody(video: v.id ?? -1, frames: frames, nextCursor: next))
        }

        // GET /v1/videos/{id}/embeddings?from=S&to=S: dense features, JSON or binary.
        t.get("/v1/videos/{id}/embeddings") { [self] request, context in
            let v = try await videoRecord(context)
            let params = QueryParameters(request)
            let from = try params.double("from") ?? 0
            let to = try params.double("to") ?? v.duration
            guard from >= 0 else { throw APIError.badParameter("`from` must be >= 0 seconds, got \(from)") }
            guard to >= from else { throw APIError.badParameter("`to` (\(to)) must not be before `from` (\(from))") }
            try checkFrameBudget(v, from: from, to: to, what: "embeddings from \(from) s to \(to) s")
            let library = self.library
            let rows = try await heavy(context) { control in
                try library.embeddings(v, from: from, to: to, control: control)
            }
            let accept = request.headers[.accept] ?? ""
            if accept.contains("application/octet-stream") {
                let dims = rows.first?.vector.count ?? library.embedDim
                var headers = HTTPFields()
                headers[.contentType] = "application/octet-stream"
                headers[HTTPFields.Element.Name("X-RStore-Count")!] = String(rows.count)
                headers[HTTPFields.Element.Name("X-RStore-Dims")!] = String(dims)
                return Response(
                    status: .ok, headers: headers,
                    body: .init(byteBuffer: ByteBuffer(bytes: EmbeddingsBinary.encode(rows, dims: dims))))
            }
            return try JSONResponse.make(
                EmbeddingsBody(
                    video: v.id ?? -1, from: from, to: to, dims: rows.first?.vector.count ?? library.embedDim,
                    frames: rows.map(EmbeddingsBody.Frame.init)))
        }

        // GET /v1/videos/{id}/frames/{index}.jpg: a sampled frame as a JPEG thumbnail.
        t.get("/v1/videos/{id}/frames/{index}.jpg") { [self] _, context in
            let v = try await videoRecord(context)
            let index = try context.integerParameter("index", what: "frame index")
            guard index < v.frameCount else {
                throw APIError(
                    .notFound, "unknown_frame",
                    "frame \(index) is outside video \(v.id ?? -1) (frames 0..<\(v.frameCount))")
            }
            let k = Int(index)
            let (library, thumbnails) = (self.library, self.thumbnails)
            // A replaced file is not the indexed video.
            try await blocking("checking the file of video \(v.id ?? -1)", store: false) { try library.checkFresh(v) }
            let jpeg: Data
            var source = "cache"
            if let hit = thumbnails.cached(v, k) {
                jpeg = hit
            } else {
                try await blocking("checking the file of video \(v.id ?? -1)", store: false) {
                    try self.checkServable(v)
                }
                // The still stored at ingest (no decoding); else the original, charged by what
                // the decoder outputs from the seek keyframe to frame k.
                if let still = try await blocking(
                    "reading the still of video \(v.id ?? -1)",
                    {
                        try thumbnails.fromStill(library, v, k)
                    })
                {
                    (jpeg, source) = (still, "still")
                } else {
                    jpeg = try await heavy(context) { control in try thumbnails.make(library, v, k, control: control) }
                    source = "decoded"
                }
            }
            var headers = HTTPFields()
            headers[HTTPFields.Element.Name("X-RStore-Thumbnail")!] = source
            headers[.contentType] = "image/jpeg"
            headers[.cacheControl] = "private, max-age=86400"
            headers[.eTag] = "\"\(v.contentHash.prefix(16))-\(k)\""
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: jpeg)))
        }
    }

    /// Media and frames are only served from files inside the library roots (when roots are
    /// configured); the store's own record is the only way a file is named.
    func checkServable(_ v: Library.StoredVideo) throws {
        let file = try library.file(of: v).path
        guard !roots.isEmpty else { return }
        guard let real = LibraryRoots.realPath(file) else {
            throw APIError(.notFound, "file_missing", "\(v.path): the file was moved or deleted since it was indexed")
        }
        guard roots.contains(realPath: real) else {
            throw APIError(.forbidden, "outside_library_roots", "video \(v.id ?? -1) lies outside the library roots")
        }
    }
}

struct FramesBody: Encodable {
    var video: Int64
    var frames: [Library.TimelineFrame]
    /// Present when more frames follow: the `cursor` of the next page.
    var nextCursor: String?
}

struct EmbeddingsBody: Encodable {
    /// A frame's feature as the API shows it: `embedding`, the name the CLI prints too
    /// (`rstore embed`), never `vector`.
    struct Frame: Encodable {
        var index: Int
        var time: Double
        var kind: FrameKind
        var anchor: Int
        var embedding: [Float]
        init(_ f: Library.FrameEmbedding) {
            (index, time, kind, anchor, embedding) = (f.index, f.time, f.kind, f.anchor, f.vector)
        }
    }
    var video: Int64
    var from: Double
    var to: Double
    var dims: Int
    var frames: [Frame]
}

struct VideosBody: Encodable {
    var videos: [VideoSummary]
    /// Present when more videos follow: the `cursor` of the next page.
    var nextCursor: String?
}
