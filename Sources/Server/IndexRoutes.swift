import Foundation
import Hummingbird
import ResidualStore

/// `POST /v1/index` body: `{"paths": ["relative/or/absolute", ...]}` or `{"path": "..."}`.
struct IndexRequest: Decodable {
    var path: String?
    var paths: [String]?
}

extension RStoreServer {
    func registerIndexRoutes(_ t: inout RouteTable) {
        // POST /v1/index: queue an index job over files/folders inside the library roots.
        t.post("/v1/index") { [self] request, _ in
            var request = request
            let body = try await request.collectBody(limit: configuration.limits.maxBodyBytes)
            let req: IndexRequest
            do { req = try JSONDecoder().decode(IndexRequest.self, from: Data(body.readableBytesView)) } catch {
                throw APIError.badParameter("body must be JSON like {\"paths\": [\"videos/a.mp4\"]}")
            }
            let requested = (req.paths ?? []) + (req.path.map { [$0] } ?? [])
            guard !requested.isEmpty else { throw APIError.badParameter("give `path` or `paths`") }
            guard requested.count <= configuration.limits.maxIndexPaths else {
                throw APIError.badParameter("\(requested.count) paths; the limit is \(configuration.limits.maxIndexPaths) per request")
            }
            let resolved = try requested.map { try roots.resolve($0) }
            // Folders are walked now, and every file found must still resolve inside a root
            // (a symlink in a folder may point elsewhere).
            let files = Library.expand(resolved).filter { u in
                guard let real = LibraryRoots.realPath(u.path) else { return false }
                return roots.contains(realPath: real)
            }.map { URL(fileURLWithPath: LibraryRoots.realPath($0.path) ?? $0.path) }
            guard !files.isEmpty else { throw APIError.badParameter("no video files under \(requested.joined(separator: ", "))") }
            let job = try jobs.submit(files: files, requested: requested)
            var headers = HTTPFields()
            headers[.location] = "/v1/jobs/\(job.id)"
            return try JSONResponse.make(job, status: .accepted, headers: headers)
        }

        // GET /v1/jobs/{id}: progress of an index job.
        t.get("/v1/jobs/{id}") { [self] _, context in
            guard let id = context.parameters.get("id"), id.count <= 64 else { throw APIError.badParameter("bad job id") }
            guard let job = jobs.job(id) else { throw APIError(.notFound, "unknown_job", "no job \(id.prefix(64))") }
            return try JSONResponse.make(job)
        }
    }
}
