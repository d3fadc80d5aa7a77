import Foundation
import Hummingbird
import ResidualStore

/// `POST /v1/search` JSON body: exactly one of `text`, `vector`, `like`; snake_case.
struct SearchRequest: Decodable {
    struct Like: Decodable {
        var video_id: Int64
        var time: Double
    }
    var text: String?
    var vector: [Float]?
    var like: Like?
    var k: Int?
    var refine: Bool?
    var filter: SearchFilter?
}

extension RStoreServer {
    func registerSearchRequestRoutes(_ t: inout RouteTable) {
        // POST /v1/search: a JSON body ({"text"|"vector"|"like", "k", "filter", "refine"}), or an
        // image: the raw body with Content-Type image/* (k, refine and the filter in the query
        // string) or multipart/form-data (parts image, k, refine, filter as JSON). The body is
        // bounded by --max-body-bytes and the image by its declared pixels, before decoding.
        t.queryPost("/v1/search") { [self] request, context in
            var request = request
            let contentType = request.headers[.contentType] ?? "application/json"
            let body = Data(try await request.collectBody(limit: configuration.limits.maxBodyBytes).readableBytesView)
            let params = QueryParameters(request)
            let maxK = configuration.limits.maxK
            var k = try params.int("k", default: 10, range: 1...maxK)
            var refine = try params.bool("refine", default: true)
            var filter = try Self.filter(params)
            let input: QueryInput
            var upload: Data?
            let lower = contentType.lowercased()
            if lower.hasPrefix("application/json") {
                let req: SearchRequest
                do { req = try JSONDecoder().decode(SearchRequest.self, from: body) } catch {
                    throw APIError.badParameter(
                        """
                        body must be JSON like {\"text\": \"a dog\", \"k\": 10} or {\"like\": {\"video_id\": 3, \
                        \"time\": 12.5}}: \(Self.reason(error))
                        """
                    )
                }
                let given = [req.text != nil, req.vector != nil, req.like != nil].filter { $0 }.count
                guard given == 1 else {
                    throw APIError.badParameter("give exactly one of `text`, `vector`, `like` (or upload an image)")
                }
                if let text = req.text {
                    let t = text.trimmingCharacters(in: .whitespacesAndNewlines)
                    guard !t.isEmpty else { throw APIError.badParameter("`text` is empty") }
                    guard t.count <= configuration.limits.maxQueryLength else {
                        throw APIError.badParameter(
                            "`text` is \(t.count) characters; the limit is \(configuration.limits.maxQueryLength)")
                    }
                    input = .text(t)
                } else if let v = req.vector {
                    input = .vector(v)
                } else {
                    input = .storedFrame(video: String(req.like!.video_id), time: req.like!.time)
                }
                if let rk = req.k {
                    guard (1...maxK).contains(rk) else {
                        throw APIError.badParameter("`k` must be in 1...\(maxK), got \(rk)")
                    }
                    k = rk
                }
                refine = req.refine ?? refine
                filter = req.filter ?? filter
            } else if lower.hasPrefix("image/") {
                upload = body
                input = .image(URL(fileURLWithPath: "upload"))
            } else if let boundary = MultipartForm.boundary(of: contentType) {
                let form = try MultipartForm(body, boundary: boundary)
                guard let image = form.part("image") else {
                    throw APIError.badParameter("multipart body: no part named `image`")
                }
                upload = image.data
                input = .image(URL(fileURLWithPath: "upload"))
                if let p = form.part("k") {
                    guard let v = Int(String(decoding: p.data, as: UTF8.self).trimmingCharacters(in: .whitespaces)),
                        (1...maxK).contains(v)
                    else {
                        throw APIError.badParameter("part `k` must be an integer in 1...\(maxK)")
                    }
                    k = v
                }
                if let p = form.part("refine") {
                    refine = ["1", "true", "yes"].contains(String(decoding: p.data, as: UTF8.self).lowercased())
                }
                if let p = form.part("filter") {
                    do { filter = try JSONDecoder().decode(SearchFilter.self, from: p.data) } catch {
                        throw APIError.badParameter(
                            "part `filter` must be JSON like {\"video_ids\": [3]}: \(Self.reason(error))")
                    }
                }
            } else {
                throw APIError(
                    .unsupportedMediaType, "unsupported_media_type",
                    "Content-Type \(contentType.prefix(80)) is not application/json, image/* or multipart/form-data")
            }
            if upload?.isEmpty == true { throw APIError.badParameter("the uploaded image is empty") }
            var limits = queryLimits
            if !refine { limits.maxPFrames = 0 }
            let library = self.library
            let maxPixels = configuration.limits.maxImagePixels
            let (count, chosen, uploaded) = (k, filter, upload)
            let t0 = Date()
            let (query, r) = try await heavy(context, limits: limits) { control -> (QueryInput, SearchReport) in
                var query = input
                var file: URL?
                defer { if let file { try? FileManager.default.removeItem(at: file) } }
                if let upload = uploaded {
                    // libav reads files: the upload goes to a private temp file for the request's lifetime.
                    let url = FileManager.default.temporaryDirectory.appendingPathComponent(
                        "rstore-query-\(UUID().uuidString)")
                    guard
                        FileManager.default.createFile(
                            atPath: url.path, contents: upload, attributes: [.posixPermissions: 0o600])
                    else {
                        throw APIError(
                            .internalServerError, "internal", "cannot write the uploaded image to a temporary file")
                    }
                    file = url
                    query = .image(url)
                }
                do {
                    return (
                        query,
                        try library.searchReport(
                            query, k: count, filter: chosen, limits: .init(maxImagePixels: maxPixels), control: control)
                    )
                } catch LibraryError.badImage(_, let reason) {
                    throw LibraryError.badImage(
                        path: "the uploaded image",
                        reason: reason.replacingOccurrences(of: file?.path ?? "\u{0}", with: "upload"))
                } catch LibraryError.imageTooLarge(_, let w, let h, let limit) {
                    throw LibraryError.imageTooLarge(path: "the uploaded image", width: w, height: h, limit: limit)
                }
            }
            metrics.search(
                stage1Ms: r.stage1Ms, stage2Ms: r.stage2Ms, tierHits: r.frameCacheHits, decoded: r.decodedFrames)
            var text = ""
            if case .text(let s) = query { text = s }
            return try JSONResponse.make(
                SearchBody(
                    query: text, k: k, seconds: Date().timeIntervalSince(t0), moments: r.moments.map(MomentBody.init),
                    stage1_ms: r.stage1Ms, stage2_ms: r.stage2Ms, p_frames: r.pFrames, decoded_frames: r.decodedFrames,
                    frame_cache_hits: r.frameCacheHits, refined: r.refined, query_kind: query.kind,
                    stage1_videos: r.stage1Videos, stage1_rows: r.stage1Rows, stage2_videos: r.stage2Videos))
        }
    }

    /// A filter from query parameters: `root` and `video_id` (comma-separated), `path_prefix`,
    /// `from`, `to` (seconds).
    static func filter(_ params: QueryParameters) throws -> SearchFilter {
        var f = SearchFilter()
        if let roots = params.string("root"), !roots.isEmpty { f.roots = roots.split(separator: ",").map(String.init) }
        if let ids = params.string("video_id"), !ids.isEmpty {
            f.videoIDs = try ids.split(separator: ",").prefix(SearchFilter.maxItems + 1).map {
                guard let id = Int64($0) else {
                    throw APIError.badParameter("`video_id` must be comma-separated integers, got \"\($0.prefix(40))\"")
                }
                return id
            }
        }
        f.pathPrefix = params.string("path_prefix").flatMap { $0.isEmpty ? nil : $0 }
        f.from = try params.double("from")
        f.to = try params.double("to")
        return f
    }

    /// A decoding error's gist, without echoing the body back.
    static func reason(_ error: any Error) -> String {
        switch error {
        case DecodingError.typeMismatch(_, let c), DecodingError.valueNotFound(_, let c),
            DecodingError.dataCorrupted(let c):
            let path = c.codingPath.map(\.stringValue).joined(separator: ".")
            return (path.isEmpty ? "" : "at `\(path)`: ") + String(c.debugDescription.prefix(120))
        case DecodingError.keyNotFound(let key, _):
            return "missing `\(key.stringValue)`"
        default:
            return "not valid JSON"
        }
    }
}
