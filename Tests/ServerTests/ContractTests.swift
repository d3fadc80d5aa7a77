import BuildInfo
import Foundation
import Hummingbird
import HummingbirdTesting
import TestSupport
import XCTest

@testable import Server

/// `openapi.json` is the contract, proved both ways against the code: every route the router
/// registers is documented and every documented route is registered; every query parameter
/// a handler reads is documented for that route and every documented one is read; every field
/// of real responses (a private library: index, list, search, ground, curve, embeddings, jobs,
/// errors) is in its schema, and every documented field is produced by some response.
final class ContractTests: XCTestCase {
    static var document: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(OpenAPIDocument.checkedIn))) as? [String: Any] ?? [:]
    }

    static var operations: [(method: String, path: String, op: [String: Any])] {
        let paths = document["paths"] as? [String: [String: Any]] ?? [:]
        return paths.flatMap { path, ops in
            ops.compactMap { m, o in (o as? [String: Any]).map { (m.uppercased(), path, $0) } }
        }
        .sorted { ($0.path, $0.method) < ($1.path, $1.method) }
    }

    static func parameters(_ op: [String: Any], in location: String) -> Set<String> {
        Set(
            (op["parameters"] as? [[String: Any]] ?? []).filter { $0["in"] as? String == location }.compactMap {
                $0["name"] as? String
            })
    }

    func testVersionsAndTheServedDocument() async throws {
        let doc = Self.document
        let info = try XCTUnwrap(doc["info"] as? [String: Any])
        XCTAssertEqual(doc["openapi"] as? String, "3.1.0")
        XCTAssertEqual(
            info["version"] as? String, BuildInfo.packageVersion, "the file's info.version is the package version")
        XCTAssertEqual(info["x-api-version"] as? Int, BuildInfo.apiVersion)
        XCTAssertEqual(
            BuildInfo.packageVersion.split(separator: ".").first.map(String.init), String(BuildInfo.apiVersion),
            "the major version is the API version")
        XCTAssertTrue(BuildInfo.version.hasPrefix(BuildInfo.packageVersion))
        let f = try await ServerFixture.shared.value
        try await withClient(try f.server()) { client in
            let r = try await client.execute(uri: "/openapi.json", method: .get)
            XCTAssertEqual(
                (r.json["info"] as? [String: Any])?["version"] as? String, BuildInfo.version,
                "served with this build's version")
            var served = r.json
            var file = Self.document
            served["info"] = nil
            file["info"] = nil
            XCTAssertTrue(NSDictionary(dictionary: served).isEqual(to: file), "otherwise the file as checked in")
            let h = try await client.execute(uri: "/healthz", method: .get)
            XCTAssertEqual(h.json["version"] as? String, BuildInfo.version)
            XCTAssertEqual(h.json["api_version"] as? Int, BuildInfo.apiVersion)
        }
    }

    func testEveryRouteAndPathParameterBothWays() async throws {
        let f = try await ServerFixture.shared.value
        for metricsPublic in [false, true] {
            let server = try f.server { $0.metricsPublic = metricsPublic }
            let registered = Set(server.makeRouter().routes.map { "\($0.method) \($0.path)" })
            let documented = Set(Self.operations.map { "\($0.method) \($0.path)" })
            XCTAssertEqual(
                documented, registered,
                """
                documented, not served: \(documented.subtracting(registered)); served, not documented: \
                \(registered.subtracting(documented))
                """
            )
            // Public routes say so (`security: []`), and only they.
            let publicRoutes = Set(server.makeRouter().routes.filter(\.isPublic).map { "\($0.method) \($0.path)" })
            let documentedPublic = Set(
                Self.operations.filter { ($0.op["security"] as? [Any])?.isEmpty == true }.map {
                    "\($0.method) \($0.path)"
                })
            if metricsPublic {
                XCTAssertEqual(documentedPublic.union(["GET /metrics"]), publicRoutes)
            } else {
                XCTAssertEqual(documentedPublic, publicRoutes)
            }
        }
        for (method, path, op) in Self.operations {
            let inPath = Set(
                path.components(separatedBy: "{").dropFirst().compactMap { $0.components(separatedBy: "}").first })
            XCTAssertEqual(Self.parameters(op, in: "path"), inPath, "\(method) \(path): path parameters")
        }
        // Every $ref resolves.
        let check = SchemaCheck(document: Self.document)
        let text = String(decoding: OpenAPIDocument.checkedIn, as: UTF8.self)
        for ref in text.components(separatedBy: "\"$ref\": \"").dropFirst().map({ String($0.prefix { $0 != "\"" }) }) {
            XCTAssertNotNil(check.resolve(ref), "unresolved \(ref)")
        }
    }

    /// A valid value for each query parameter the document names (the test fails on a new one
    /// until it is given here).
    static let sample: [String: String] = [
        "q": "red", "k": "2", "refine": "false", "stream": "false", "dense": "true", "from": "0", "to": "1",
        "limit": "1", "cursor": "0", "status": "ready",
        "root": "archive", "video_id": "1", "path_prefix": "/",
    ]

    func testEveryQueryParameterBothWays() async throws {
        let f = try await ServerFixture.shared.value
        let token = ServerFixture.token
        try await withClient(try f.server(token: token)) { client in
            for (method, path, op) in Self.operations {
                let names = Self.parameters(op, in: "query")
                var query: [String] = []
                for n in names.sorted() {
                    let v = try XCTUnwrap(
                        Self.sample[n], "no sample value for query parameter `\(n)` of \(method) \(path)")
                    query.append("\(n)=\(v)")
                }
                let uri =
                    path.replacingOccurrences(of: "{id}", with: "\(f.videoA)").replacingOccurrences(
                        of: "{index}", with: "0")
                    + (query.isEmpty ? "" : "?" + query.joined(separator: "&"))
                // POST /v1/search reads the query string too (k, refine and the filter of an image upload).
                let postWithQuery = method == "POST" && path == "/v1/search"
                guard (method == "GET" && !path.contains("/jobs/")) || postWithQuery else {
                    XCTAssertTrue(names.isEmpty, "\(method) \(path) takes no query parameters")
                    continue
                }
                let log = QueryParameters.NameLog()
                var headers = bearer(token)
                if postWithQuery { headers[.contentType] = "application/json" }
                let r = try await QueryParameters.$readNames.withValue(log) {
                    try await client.execute(
                        uri: uri, method: postWithQuery ? .post : .get, headers: headers,
                        body: postWithQuery ? ByteBuffer(string: #"{"text": "red"}"#) : nil)
                }
                // GET /v1/queue answers 404 no_queue on a store that is not shared (reading
                // nothing); a search with every filter names a root this library does not have
                // (400 after every parameter was read).
                XCTAssertTrue(
                    r.status.code < 300 || path == "/v1/queue" || (path == "/v1/search" && r.status.code == 400),
                    "\(uri): \(r.text)")
                XCTAssertEqual(log.all, names, "\(method) \(path): read by the handler vs documented")
            }
        }
    }

    func testEveryResponseFieldBothWays() async throws {
        let f = try await ServerFixture.shared.value
        let dir = try TempDirectory.make("contract")
        defer { TempDirectory.remove(dir) }
        let (library, _, a, b) = try await f.privateLibrary(in: dir)
        try FileManager.default.copyItem(
            at: f.root.appendingPathComponent("later/c.mp4"), to: dir.appendingPathComponent("c.mp4"))
        try Data("not a video at all".utf8).write(to: dir.appendingPathComponent("broken.mp4"))
        let token = ServerFixture.token
        let server = try RStoreServer(
            library: library, configuration: ServerConfiguration(token: token, libraryRoots: [dir]))
        let check = SchemaCheck(document: Self.document)

        try await withClient(server) { client in
            let ops = Dictionary(
                Self.operations.map { ("\($0.method) \($0.path)", $0.op) }, uniquingKeysWith: { a, _ in a })
            /// Sends a request and checks its body against the schema the document gives for
            /// that operation and status.
            func call(
                _ method: HTTPRequest.Method, _ template: String, _ uri: String, json: String? = nil, auth: Bool = true
            ) async throws -> TestResponse {
                var h = auth ? bearer(token) : HTTPFields()
                if json != nil { h[.contentType] = "application/json" }
                let r = try await client.execute(
                    uri: uri, method: method, headers: h, body: json.map { ByteBuffer(string: $0) })
                let op = try XCTUnwrap(ops["\(method.rawValue) \(template)"], "\(method) \(template) is documented")
                let responses = op["responses"] as? [String: Any] ?? [:]
                var response = try XCTUnwrap(
                    responses[String(r.status.code)] as? [String: Any],
                    "\(method) \(uri): status \(r.status.code) is documented (\(r.text.prefix(300)))")
                if let ref = response["$ref"] as? String { response = check.resolve(ref) as? [String: Any] ?? [:] }
                let content = response["content"] as? [String: Any]
                if r.status == .noContent {
                    XCTAssertNil(content)
                    return r
                }
                let given = r.headers[.contentType]?.split(separator: ";").first.map(String.init) ?? ""
                if given == "application/json" || content?["application/x-ndjson"] == nil,
                    let json = (content?["application/json"] as? [String: Any])?["schema"] as? [String: Any]
                {
                    XCTAssertTrue(r.headers[.contentType]?.hasPrefix("application/json") ?? false, "\(uri): JSON")
                    let value = try JSONSerialization.jsonObject(with: Data(r.bytes))
                    let p = check.problems(value, json, at: "\(method) \(template) \(r.status.code)")
                    XCTAssertTrue(p.isEmpty, "\(method) \(uri): \(p.prefix(10))")
                } else {
                    let type = r.headers[.contentType]?.split(separator: ";").first.map(String.init) ?? ""
                    XCTAssertTrue(
                        content?.keys.contains { $0 == type || ($0.hasSuffix("/*") && type.hasPrefix($0.dropLast())) }
                            ?? false,
                        "\(uri): \(type) is documented")
                }
                return r
            }

            _ = try await call(.get, "/healthz", "/healthz", auth: false)
            _ = try await call(.get, "/", "/", auth: false)
            _ = try await call(.get, "/openapi.json", "/openapi.json", auth: false)
            _ = try await call(.post, "/v1/session", "/v1/session")
            let first = try await call(.get, "/v1/videos", "/v1/videos?limit=1")
            XCTAssertNotNil(first.json["next_cursor"])
            _ = try await call(.get, "/v1/videos/{id}", "/v1/videos/\(a)")
            _ = try await call(.get, "/v1/videos/{id}", "/v1/videos/999999")
            _ = try await call(.get, "/v1/videos/{id}/frames", "/v1/videos/\(a)/frames?limit=2")
            _ = try await call(.get, "/v1/videos/{id}/embeddings", "/v1/videos/\(a)/embeddings?from=0&to=1.5")
            _ = try await call(.get, "/v1/videos/{id}/frames/{index}.jpg", "/v1/videos/\(a)/frames/1.jpg")
            _ = try await call(.get, "/v1/videos/{id}/media", "/v1/videos/\(a)/media")
            let search = try await call(.get, "/v1/search", "/v1/search?q=red+bars&k=3")
            XCTAssertFalse((search.json["moments"] as? [Any] ?? []).isEmpty)
            _ = try await call(.get, "/v1/search", "/v1/search?q=")
            // Streamed: each JSON line against the schema documented for application/x-ndjson.
            let streamed = try await call(.get, "/v1/search", "/v1/search?q=red+bars&k=3&stream=true")
            let lineSchema = try XCTUnwrap(
                ((((ops["GET /v1/search"]?["responses"] as? [String: Any])?["200"] as? [String: Any])?["content"]
                    as? [String: Any])?["application/x-ndjson"] as? [String: Any])?["schema"] as? [String: Any])
            let lines = streamed.text.split(separator: "\n")
            XCTAssertGreaterThanOrEqual(lines.count, 3, streamed.text)
            for line in lines {
                let p = check.problems(
                    try JSONSerialization.jsonObject(with: Data(line.utf8)), lineSchema, at: "GET /v1/search 200 ndjson"
                )
                XCTAssertTrue(p.isEmpty, "\(line): \(p.prefix(10))")
            }
            _ = try await call(.get, "/v1/search", "/v1/search?q=red&video_id=\(a)&from=0&to=2")
            _ = try await call(
                .post, "/v1/search", "/v1/search", json: #"{"text": "red", "k": 2, "filter": {"video_ids": [\#(a)]}}"#)
            _ = try await call(
                .post, "/v1/search", "/v1/search", json: #"{"like": {"video_id": \#(a), "time": 1.5}, "refine": false}"#
            )
            _ = try await call(.post, "/v1/search", "/v1/search", json: #"{"vector": [1, 2]}"#)
            _ = try await call(.get, "/v1/videos/{id}/ground", "/v1/videos/\(a)/ground?q=red")
            _ = try await call(.get, "/v1/videos/{id}/curve", "/v1/videos/\(a)/curve?q=red&dense=true")
            _ = try await call(.get, "/v1/queue", "/v1/queue")
            _ = try await call(.get, "/metrics", "/metrics")
            _ = try await call(.get, "/metrics", "/metrics", auth: false)

            // Index jobs: one that works (results with their cost), one that fails.
            for (file, expected) in [("c.mp4", "succeeded"), ("broken.mp4", "failed")] {
                let job = try await call(.post, "/v1/index", "/v1/index", json: #"{"paths": ["\#(file)"]}"#)
                let id = try XCTUnwrap(job.json["id"] as? String, job.text)
                var state = ""
                let deadline = Date().addingTimeInterval(60)
                repeat {
                    try await Task.sleep(nanoseconds: 50_000_000)
                    state = try await call(.get, "/v1/jobs/{id}", "/v1/jobs/\(id)").json["state"] as? String ?? ""
                } while state != "succeeded" && state != "failed" && Date() < deadline
                XCTAssertEqual(state, expected, file)
            }
            _ = try await call(.get, "/v1/jobs/{id}", "/v1/jobs/nope")
            _ = try await call(.get, "/v1/videos", "/v1/videos?status=failed")
            _ = try await call(.delete, "/v1/videos/{id}", "/v1/videos/\(b)")
        }

        // The other way: every documented field is produced by some response, except these,
        // which this library cannot show (no damaged file, no store outage, no shared queue).
        let notShownHere: Set<String> = [
            "Health/properties/store_error", "Job/properties/current_file", "Video/properties/damage",
            "Video/properties/error",  // a file that fails after its record is written (a broken one fails before)
            "FileResult/properties/damage", "Queued/properties/shared", "Queued/properties/files",
            "Queued/properties/queued",
            "Queued/properties/already_queued", "Queued/properties/queue", "QueueCounts/properties/queued",
            "QueueCounts/properties/claimed", "QueueCounts/properties/done", "QueueCounts/properties/failed",
            "IndexRequest/properties/path", "IndexRequest/properties/paths",
            // A failure after a stream's first line (SearchStreamTests makes one).
            "SearchEvent/properties/error", "SearchEvent/properties/status",
        ]
        let unseen = check.documentedProperties.subtracting(check.seen)
            .map { $0.replacingOccurrences(of: "#/components/schemas/", with: "") }
            .filter { !notShownHere.contains($0) && !$0.hasPrefix("DamageReport/") }
            .filter { !$0.hasPrefix("SearchRequest/") && !$0.hasPrefix("SearchFilter/") }  // request bodies
        XCTAssertEqual(unseen.sorted(), [], "documented fields no response carried")
    }
}
