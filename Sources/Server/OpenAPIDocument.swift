import Foundation

/// The OpenAPI 3.1 description of every route, written by hand (a test checks it against the
/// routes the router really registers, both ways).
public enum OpenAPIDocument {
    typealias J = [String: Any]

    static func param(_ name: String, _ location: String, _ type: String, _ description: String, required: Bool = false, extra: J = [:]) -> J {
        var schema: J = ["type": type]
        for (k, v) in extra { schema[k] = v }
        return ["name": name, "in": location, "required": location == "path" ? true : required, "description": description, "schema": schema]
    }

    nonisolated(unsafe) static let id = param("id", "path", "integer", "Video id (see GET /v1/videos).", extra: ["minimum": 0])
    nonisolated(unsafe) static let cursor = param("cursor", "query", "string", "`nextCursor` of the previous page; absent for the first page.", extra: ["pattern": "^[0-9]{1,18}$"])
    nonisolated(unsafe) static let q = param("q", "query", "string", "Query text, 1-500 characters.", required: true, extra: ["maxLength": 500])

    static func json(_ ref: String) -> J { ["application/json": ["schema": ["$ref": "#/components/schemas/\(ref)"]]] }
    static func ok(_ ref: String, _ description: String = "OK") -> J { ["description": description, "content": json(ref)] }
    nonisolated(unsafe) static let err: J = ["$ref": "#/components/responses/Error"]

    /// An operation. Every one may answer 421 (a `Host` that is not this server's) and 503
    /// (`store_timeout`/`store_unavailable` when the store does not answer, `busy` when the
    /// line of store calls is full, with Retry-After); heavy ones (`heavy`) also 400
    /// `over_limit` and 503 `busy` from the bounded work line, or 503 `root_not_mounted` when
    /// the video's library root is not mounted on this server.
    static func op(_ summary: String, _ operationID: String, params: [J] = [], responses: J, heavy: Bool = false, extra: J = [:]) -> J {
        var r = responses
        r["421"] = err
        r["503"] = err
        if heavy { r["400"] = err }
        var o: J = ["summary": summary, "operationId": operationID, "parameters": params, "responses": r]
        for (k, v) in extra { o[k] = v }
        return o
    }

    /// The filter of a search as query parameters (GET, and POST with an image body).
    nonisolated(unsafe) static let filterParams: [J] = [
        param("root", "query", "string", "Only videos under these named library roots (comma-separated)."),
        param("video_id", "query", "string", "Only these video ids (comma-separated).", extra: ["pattern": "^[0-9]{1,18}(,[0-9]{1,18})*$"]),
        param("path_prefix", "query", "string", "Only videos under this stored path prefix (folder-wise)."),
        param("from", "query", "number", "Only frames from this time of each video (s).", extra: ["minimum": 0]),
        param("to", "query", "number", "Only frames up to this time of each video (s).", extra: ["minimum": 0])]

    nonisolated(unsafe) static let paths: J = [
        "/": ["get": op("The search page (HTML, no build step).", "page", responses: [
            "200": ["description": "HTML", "content": ["text/html": ["schema": ["type": "string"]]]]], extra: ["security": []])],
        "/healthz": ["get": op("Liveness and cache figures, from memory: the video counts are refreshed in the background (countsAgeSeconds old); status `degraded` with storeError when the last refresh failed.", "health", responses: ["200": ok("Health")], extra: ["security": []])],
        "/openapi.json": ["get": op("This document.", "openapi", responses: [
            "200": ["description": "OpenAPI 3.1", "content": ["application/json": ["schema": ["type": "object"]]]]], extra: ["security": []])],
        "/v1/videos": ["get": op("Stored videos with their indexing status, by id, one page at a time: at most `limit` (default and most 1000); when more follow, `nextCursor` is the `cursor` of the next page (a client that ignores it sees the first 1000).", "listVideos",
            params: [param("status", "query", "string", "Only videos with this status.", extra: ["enum": ["indexing", "ready", "failed"]]),
                     param("limit", "query", "integer", "Videos per page (default 1000).", extra: ["minimum": 1, "maximum": 1000]), cursor],
            responses: ["200": ok("VideoList"), "400": err, "401": err])],
        "/v1/videos/{id}": ["get": op("One video's metadata and status.", "getVideo", params: [id],
            responses: ["200": ok("Video"), "400": err, "401": err, "404": err]),
                            "delete": op("Remove this stored version from the library (its features, offsets and cached frames; the file stays). Needs the bearer token. 409 while another process is still indexing it.", "deleteVideo", params: [id],
            responses: ["204": ["description": "Removed"], "400": err, "401": err, "403": err, "404": err, "409": err, "503": err])],
        "/v1/videos/{id}/frames": ["get": op("The sampled-frame timeline: index, time, kind (I stored / P reconstructed), anchor; one page at a time: at most `limit` frames (default and most 10000) and, when more follow, `nextCursor`, the `cursor` of the next page.", "listFrames",
            params: [id, param("limit", "query", "integer", "Frames per page (default 10000).", extra: ["minimum": 1, "maximum": 10000]), cursor],
            responses: ["200": ok("FrameList"), "400": err, "401": err, "404": err])],
        "/v1/videos/{id}/embeddings": ["get": op(
            "Dense embeddings of frames with time in [from, to] (I stored, P reconstructed lazily). JSON by default; with `Accept: application/octet-stream` a little-endian binary: magic `RSE1`, uint32 count, uint32 dims, uint32 0, count float64 times, count uint32 frame indices, count uint8 kinds ('I'/'P') zero-padded to a multiple of 4, then count x dims float32 rows. Headers X-RStore-Count and X-RStore-Dims repeat count and dims.",
            "embeddings",
            params: [id, param("from", "query", "number", "Start, seconds (default 0)."), param("to", "query", "number", "End, seconds (default: the duration). The frames in [from, to] must fit the per-request limits (--max-p-frames, --max-decoded-frames), else 400 over_limit.")],
            responses: ["200": ["description": "Embeddings", "content": [
                "application/json": ["schema": ["$ref": "#/components/schemas/Embeddings"]],
                "application/octet-stream": ["schema": ["type": "string", "format": "binary"]]]],
                        "400": err, "401": err, "404": err, "409": err], heavy: true)],
        "/v1/videos/{id}/frames/{index}.jpg": ["get": op("A sampled frame as a JPEG thumbnail (decoded at its stored seek point, MJPEG-encoded, cached).", "frameJPEG",
            params: [id, param("index", "path", "integer", "Sampled-frame index.", extra: ["minimum": 0])],
            responses: ["200": ["description": "JPEG", "content": ["image/jpeg": ["schema": ["type": "string", "format": "binary"]]]],
                        "400": err, "401": err, "403": err, "404": err], heavy: true)],
        "/v1/videos/{id}/media": ["get": op("The video file, with single-range `Range: bytes=` support (206 + Content-Range; one reply is at most 8 MiB).", "media",
            params: [id, param("Range", "header", "string", "e.g. bytes=0-1023")],
            responses: ["200": ["description": "The whole file", "content": ["video/*": ["schema": ["type": "string", "format": "binary"]]]],
                        "206": ["description": "Part of the file", "content": ["video/*": ["schema": ["type": "string", "format": "binary"]]]],
                        "400": err, "401": err, "403": err, "404": err, "416": err, "503": err])],
        "/v1/videos/{id}/ground": ["get": op("Zero-shot temporal grounding of a text in one video (ranked proposals; the last is the whole video).", "ground",
            params: [id, q, param("k", "query", "integer", "Proposals to return (1-100, default 5).", extra: ["minimum": 1, "maximum": 100])],
            responses: ["200": ok("Ground"), "400": err, "401": err, "404": err, "409": err], heavy: true)],
        "/v1/videos/{id}/curve": ["get": op("Per-frame cosine similarity of a text with a video's frames (I-frames only unless dense=true).", "curve",
            params: [id, q, param("dense", "query", "boolean", "Reconstruct P-frames too (default false)."),
                     param("from", "query", "number", "Start, seconds."), param("to", "query", "number", "End, seconds.")],
            responses: ["200": ok("Curve"), "400": err, "401": err, "404": err, "409": err], heavy: true)],
        "/v1/search": ["get": op("Text-to-moment search over the library. Stage 2 refines candidates within the request's P-frame budget (--max-p-frames). Filters (root, video_id, path_prefix, from, to) restrict stage 1.", "search",
            params: [q, param("k", "query", "integer", "Moments to return (1-100, default 10).", extra: ["minimum": 1, "maximum": 100])] + filterParams,
            responses: ["200": ok("Search"), "400": err, "401": err], heavy: true),
                       "post": op("Moment search by a text, a vector, a stored frame (\"more like this\") or an uploaded image, optionally within a filter (applied in stage 1: nothing outside it is scored, no P-frame outside it is computed). JSON body: exactly one of `text`, `vector` (the model's width, finite), `like` ({video_id, time}); `k`, `refine`, `filter`. Or an image: the raw body with Content-Type image/* (k, refine and the filter as query parameters: root, video_id comma-separated, path_prefix, from, to), or multipart/form-data with parts `image`, `k`, `refine`, `filter` (JSON). Bodies are bounded by the body limit (413 body_too_large), images by their declared pixels before decoding (413 image_too_large). Errors: 400 bad_parameter, bad_vector, bad_image, bad_filter, time_outside_video; 404 unknown_video; 409 not_ready; 415 unsupported_media_type.", "searchPost",
            params: [param("k", "query", "integer", "Moments (1-100, default 10); the JSON body's `k` wins.", extra: ["minimum": 1, "maximum": 100]),
                     param("refine", "query", "boolean", "false: stage 1 only (default true).")] + filterParams,
            responses: ["200": ok("Search"), "400": err, "401": err, "404": err, "409": err, "413": err, "415": err], heavy: true,
            extra: ["requestBody": ["required": true, "content": [
                "application/json": ["schema": ["$ref": "#/components/schemas/SearchRequest"]],
                "image/*": ["schema": ["type": "string", "format": "binary"]],
                "multipart/form-data": ["schema": obj(["image": ["type": "string", "format": "binary"], "k": int, "refine": ["type": "boolean"],
                                                       "filter": ["$ref": "#/components/schemas/SearchFilter"]], required: ["image"])]]]])],
        "/v1/index": ["post": op("Index files or folders inside the library roots (needs the bearer token). On a SQLite store this server runs an index job (a Job; Location names it). On a shared PostgreSQL store the files go onto the queue of the `rstore worker`s, stored relative to the server's named library roots (a Queued; Location is GET /v1/queue).", "index",
            responses: ["202": ["description": "Accepted: a Job (this server indexes) or a Queued (the workers of a shared store index)",
                                "content": ["application/json": ["schema": ["oneOf": [["$ref": "#/components/schemas/Job"], ["$ref": "#/components/schemas/Queued"]]]]]],
                        "400": err, "401": err, "403": err, "404": err, "413": err, "429": err],
            extra: ["requestBody": ["required": true, "content": json("IndexRequest")]])],
        "/v1/session": ["post": op("Trade the bearer token (Authorization header) for a session cookie `rstore_session_<server id>` (a name per server process, so servers on one host keep apart; HttpOnly, SameSite=Strict, Path=/): how the search page authenticates its reads, <img> and <video> included. The cookie never authenticates writes.", "createSession",
            responses: ["200": ["description": "Session created; Set-Cookie carries it",
                                "headers": ["Set-Cookie": ["description": "rstore_session_<server id>=...; Path=/; HttpOnly; SameSite=Strict; Max-Age=...", "schema": ["type": "string"]]],
                                "content": json("Session")],
                        "401": err, "403": err])],
        "/v1/queue": ["get": op("The shared store's ingest queue by status: how files queued by POST /v1/index progress. 404 `no_queue` on a store that is not shared.", "getQueue",
            responses: ["200": ok("QueueCounts"), "401": err, "404": err])],
        "/v1/jobs/{id}": ["get": op("Progress of an index job.", "getJob",
            params: [param("id", "path", "string", "Job id returned by POST /v1/index.")],
            responses: ["200": ok("Job"), "401": err, "404": err])],
    ]

    static func obj(_ props: J, required: [String] = []) -> J { ["type": "object", "properties": props, "required": required] }
    /// An object whose every property is required.
    static func all(_ props: J) -> J { obj(props, required: props.keys.sorted()) }
    nonisolated(unsafe) static let num: J = ["type": "number"], int: J = ["type": "integer"], str: J = ["type": "string"]
    nonisolated(unsafe) static let moment = all(["videoID": int, "path": str, "name": str, "start": num, "end": num, "score": num,
                             "firstFrame": int, "lastFrame": int, "frame": int, "thumbnail": str, "media": str])
    nonisolated(unsafe) static let cache = all(["entries": int, "bytes": int, "budget": int, "hits": int, "misses": int])
    nonisolated(unsafe) static let schemas: J = [
        "Error": obj(["error": obj(["code": str, "message": str], required: ["code", "message"])], required: ["error"]),
        "Video": obj(["id": int, "path": str, "name": str, "status": ["type": "string", "enum": ["indexing", "ready", "failed"]],
                      "error": str, "duration": num, "frames": int, "iFrames": int, "fps": num, "n": int, "p": num,
                      "strategy": str, "codec": str, "width": int, "height": int, "videoCodec": str, "frameRate": num,
                      "sizeBytes": int, "indexedAt": num],
                     required: ["id", "path", "name", "status", "duration", "frames", "iFrames", "fps", "n", "p", "strategy", "codec", "sizeBytes", "indexedAt"]),
        "VideoList": obj(["videos": ["type": "array", "items": ["$ref": "#/components/schemas/Video"]], "nextCursor": str], required: ["videos"]),
        "FrameList": obj(["video": int, "frames": ["type": "array", "items": all(["index": int, "time": num, "kind": ["type": "string", "enum": ["I", "P"]], "anchor": int])],
                          "nextCursor": str], required: ["video", "frames"]),
        "Embeddings": all(["video": int, "from": num, "to": num, "dims": int, "frames": ["type": "array", "items": all([
            "index": int, "time": num, "kind": ["type": "string", "enum": ["I", "P"]], "anchor": int, "vector": ["type": "array", "items": num]])]]),
        "Moment": moment,
        "Search": all(["query": str, "k": int, "seconds": num, "moments": ["type": "array", "items": ["$ref": "#/components/schemas/Moment"]],
                       "query_kind": ["type": "string", "enum": ["text", "image", "like", "vector"]],
                       "stage1_videos": int, "stage1_rows": int, "stage2_videos": ["type": "array", "items": int]]),
        "SearchFilter": obj(["roots": ["type": "array", "items": str, "maxItems": 1000], "path_prefix": ["type": "string", "maxLength": 4096],
                             "video_ids": ["type": "array", "items": ["type": "integer", "minimum": 0], "maxItems": 1000],
                             "from": ["type": "number", "minimum": 0], "to": ["type": "number", "minimum": 0]]),
        "SearchRequest": obj(["text": ["type": "string", "maxLength": 500], "vector": ["type": "array", "items": num],
                              "like": obj(["video_id": ["type": "integer", "minimum": 0], "time": ["type": "number", "minimum": 0]], required: ["video_id", "time"]),
                              "k": ["type": "integer", "minimum": 1, "maximum": 100], "refine": ["type": "boolean"],
                              "filter": ["$ref": "#/components/schemas/SearchFilter"]]),
        "Ground": all(["video": int, "query": str, "seconds": num, "proposals": ["type": "array", "items": ["$ref": "#/components/schemas/Moment"]]]),
        "Curve": all(["video": int, "query": str, "dense": ["type": "boolean"], "points": ["type": "array", "items": all(["index": int, "time": num, "kind": ["type": "string", "enum": ["I", "P"]], "score": num])]]),
        "IndexRequest": obj(["path": str, "paths": ["type": "array", "items": str, "maxItems": 64]]),
        "Job": obj(["id": str, "state": ["type": "string", "enum": ["queued", "running", "succeeded", "failed"]], "paths": ["type": "array", "items": str],
                    "filesTotal": int, "filesDone": int, "currentFile": str, "currentFrames": int, "currentFramesDone": int, "progress": num,
                    "createdAt": num, "startedAt": num, "finishedAt": num, "error": str, "results": ["type": "array", "items": ["type": "object"]]],
                   required: ["id", "state", "paths", "filesTotal", "filesDone", "currentFrames", "currentFramesDone", "progress", "createdAt", "results"]),
        "QueueCounts": all(["queued": int, "claimed": int, "done": int, "failed": int]),
        "Queued": all(["shared": ["type": "boolean"], "files": int, "queued": int, "already_queued": int, "queue": ["$ref": "#/components/schemas/QueueCounts"]]),
        "Session": all(["expiresInSeconds": int]),
        "Health": obj(["status": ["type": "string", "enum": ["ok", "degraded"]], "uptimeSeconds": num, "videos": int, "readyVideos": int,
                       "countsAgeSeconds": num, "storeError": str, "model": str, "embedDim": int,
                       "thumbnailCache": cache, "frameCache": cache,
                       "work": all(["running": int, "queued": int, "limit": int, "queueLimit": int, "rejected": int, "cancelled": int]),
                       "storeCalls": all(["running": int, "queued": int, "limit": int, "queueLimit": int, "rejected": int, "cancelled": int]),
                       "authRequired": ["type": "boolean"], "writesEnabled": ["type": "boolean"]],
                      required: ["status", "uptimeSeconds", "videos", "readyVideos", "model", "embedDim", "thumbnailCache", "frameCache",
                                 "work", "storeCalls", "authRequired", "writesEnabled"]),
    ]

    nonisolated(unsafe) static let document: J = [
        "openapi": "3.1.0",
        "info": ["title": "ResidualStore", "version": "1",
                 "description": "CLIP embeddings of a video library (ResidualViT: stored I-features, lazily reconstructed P-features) and temporal queries over them. Errors are {\"error\": {\"code\", \"message\"}}."],
        "paths": paths,
        "components": [
            "schemas": schemas,
            "responses": ["Error": ["description": "An error", "content": json("Error")]],
            "securitySchemes": ["bearer": ["type": "http", "scheme": "bearer",
                                           "description": "Needed by every /v1 route when the server has a token, and always by POST routes. GET routes also accept the session cookie from POST /v1/session."]],
        ],
        "security": [["bearer": []]],
    ]

    /// The document as JSON bytes (sorted keys).
    public static let json: [UInt8] = {
        let data = (try? JSONSerialization.data(withJSONObject: document, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return Array(data)
    }()
}
