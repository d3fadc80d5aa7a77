import Foundation
import Hummingbird
import ResidualStore

/// `POST /v1/index` body: `{"paths": ["relative/or/absolute", ...]}` or `{"path": "..."}`.
struct IndexRequest: Decodable {
    var path: String?
    var paths: [String]?
}

/// `POST /v1/index` on a shared store: what went onto the workers' queue.
struct QueuedBody: Encodable {
    var shared = true
    /// Video files the request named (folders walked).
    var files: Int
    var queued: Int
    var alreadyQueued: Int
    var queue: Library.QueueCounts
    enum CodingKeys: String, CodingKey {
        case shared, files, queued
        case alreadyQueued = "already_queued"
        case queue
    }
}

extension RStoreServer {
    func registerIndexRoutes(_ t: inout RouteTable) {
        // POST /v1/index: files/folders inside the library roots. On a shared (PostgreSQL)
        // store they go onto the queue of the `rstore worker`s, stored root-relative; otherwise
        // this process indexes them, one job after another.
        t.post("/v1/index") { [self] request, _ in
            var request = request
            let body = try await request.collectBody(limit: configuration.limits.maxBodyBytes)
            let req: IndexRequest
            do { req = try JSONDecoder().decode(IndexRequest.self, from: Data(body.readableBytesView)) } catch {
                throw APIError.badParameter("body must be JSON like {\"paths\": [\"videos/a.mp4\"]}")
            }
            let requested = (req.paths ?? []) + (req.path.map { [$0] } ?? [])
            let files = try await blocking("finding the files to index", store: false) {
                try self.indexableFiles(requested)
            }
            var headers = HTTPFields()
            if library.hasIndexQueue {
                let library = self.library
                let q = try await blocking("queueing \(files.count) files") { try library.enqueue(files) }
                headers[.location] = "/v1/queue"
                return try JSONResponse.make(
                    QueuedBody(files: files.count, queued: q.queued, alreadyQueued: q.alreadyQueued, queue: q.queue),
                    status: .accepted, headers: headers)
            }
            let job = try jobs.submit(files: files, requested: requested)
            headers[.location] = "/v1/jobs/\(job.id)"
            return try JSONResponse.make(job, status: .accepted, headers: headers)
        }

        // GET /v1/jobs/{id}: progress of an index job.
        t.get("/v1/jobs/{id}") { [self] _, context in
            guard let id = context.parameters.get("id"), id.count <= 64 else {
                throw APIError.badParameter("bad job id")
            }
            guard let job = jobs.job(id) else { throw APIError(.notFound, "unknown_job", "no job \(id.prefix(64))") }
            return try JSONResponse.make(job)
        }

        // GET /v1/queue: the shared store's ingest queue, by status (how POST /v1/index progresses there).
        t.get("/v1/queue") { [self] _, _ in
            let library = self.library
            guard let counts = try await blocking("reading the queue", { try library.queueCounts() }) else {
                throw APIError(
                    .notFound, "no_queue",
                    "this store is not shared: POST /v1/index runs jobs in this server (GET /v1/jobs/{id})")
            }
            return try JSONResponse.make(counts)
        }
    }

    /// The video files of an index request, every one confined to the library roots: at most
    /// `maxIndexPaths` paths, each checked (`LibraryRoots.resolve`), folders walked, at most
    /// `maxIndexFiles` files found.
    func indexableFiles(_ requested: [String]) throws -> [URL] {
        guard !requested.isEmpty else { throw APIError.badParameter("give `path` or `paths`") }
        guard requested.count <= configuration.limits.maxIndexPaths else {
            throw APIError.badParameter(
                "\(requested.count) paths; the limit is \(configuration.limits.maxIndexPaths) per request")
        }
        let resolved = try requested.map { try roots.resolve($0) }
        // Folders are walked now, and every file found must still resolve inside a root
        // (a symlink in a folder may point elsewhere).
        let files = Library.expand(resolved).filter { u in
            guard let real = LibraryRoots.realPath(u.path) else { return false }
            return roots.contains(realPath: real)
        }.map { URL(fileURLWithPath: LibraryRoots.realPath($0.path) ?? $0.path) }
        guard !files.isEmpty else {
            throw APIError.badParameter("no video files under \(requested.joined(separator: ", "))")
        }
        guard files.count <= configuration.limits.maxIndexFiles else {
            throw APIError.badParameter(
                """
                \(files.count) video files under the paths given; the limit is \(configuration.limits.maxIndexFiles) \
                per request
                """
            )
        }
        return files
    }
}
