import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Server
import XCTest

func body(_ json: String) -> ByteBuffer { ByteBuffer(string: json) }

final class IndexJobTests: XCTestCase {
    func testIndexJobRunsWhileReadsAreServed() async throws {
        let f = try await ServerFixture.shared.value
        let token = ServerFixture.token
        try await withClient(try f.server(token: token)) { client in
            var h = bearer(token)
            h[.contentType] = "application/json"
            let r = try await client.execute(
                uri: "/v1/index", method: .post, headers: h, body: body(#"{"paths": ["later"]}"#))
            XCTAssertEqual(r.status, .accepted, r.text)
            let id = try XCTUnwrap(r.json["id"] as? String)
            XCTAssertEqual(r.headers[.location], "/v1/jobs/\(id)")
            XCTAssertEqual(r.json["files_total"] as? Int, 1)

            // Reads keep being answered while the job is queued or running.
            var sawUnfinished = false
            var state = ""
            let deadline = Date().addingTimeInterval(60)
            repeat {
                let t0 = Date()
                let list = try await client.execute(uri: "/v1/videos", method: .get, headers: bearer(token))
                XCTAssertEqual(list.status, .ok)
                let job = try await client.execute(uri: "/v1/jobs/\(id)", method: .get, headers: bearer(token))
                XCTAssertEqual(job.status, .ok)
                state = job.json["state"] as? String ?? ""
                if state == "queued" || state == "running" {
                    sawUnfinished = true
                    XCTAssertLessThan(Date().timeIntervalSince(t0), 5, "reads answered while indexing")
                    try await Task.sleep(nanoseconds: 50_000_000)
                }
            } while (state == "queued" || state == "running") && Date() < deadline
            XCTAssertEqual(state, "succeeded")
            XCTAssertTrue(sawUnfinished, "polled at least once before the job finished")
            let job = try await client.execute(uri: "/v1/jobs/\(id)", method: .get, headers: bearer(token))
            XCTAssertEqual(job.json["progress"] as? Double, 1)
            let results = job.json["results"] as? [[String: Any]] ?? []
            XCTAssertEqual(results.first?["outcome"] as? String, "indexed")
            let list = try await client.execute(uri: "/v1/videos", method: .get, headers: bearer(token))
            XCTAssertTrue(
                (list.json["videos"] as? [[String: Any]] ?? []).contains {
                    ($0["path"] as? String ?? "").hasSuffix("later/c.mp4")
                })

            assertError(
                try await client.execute(uri: "/v1/jobs/nope", method: .get, headers: bearer(token)), 404, "unknown_job"
            )
        }
    }

    func testIndexRequestErrors() async throws {
        let f = try await ServerFixture.shared.value
        let token = ServerFixture.token
        try await withClient(try f.server(token: token)) { client in
            let h = bearer(token)
            func post(_ json: String) async throws -> TestResponse {
                try await client.execute(uri: "/v1/index", method: .post, headers: h, body: body(json))
            }
            assertError(try await post("not json"), 400, "bad_parameter")
            assertError(try await post(#"{"paths": []}"#), 400, "bad_parameter")
            assertError(try await post(#"{"path": "../outside/secret.mp4"}"#), 400, "path_traversal")
            assertError(try await post(#"{"path": "later/../../outside"}"#), 400, "path_traversal")
            assertError(
                try await post("{\"path\": \"\(f.outside.appendingPathComponent("secret.mp4").path)\"}"), 403,
                "outside_library_roots")
            assertError(try await post(#"{"path": "/etc/passwd"}"#), 403, "outside_library_roots")
            assertError(try await post(#"{"path": "escape.mp4"}"#), 403, "outside_library_roots")
            assertError(try await post(#"{"path": "missing.mp4"}"#), 404, "no_such_path")
            // An existing absolute path outside the roots and a missing one read the same.
            for (p, missing) in [
                ("/etc/passwd", "/etc/no-such-file-\(getpid())"), (f.outside.path, f.outside.path + "/nope.mp4"),
            ] {
                let a = try await post("{\"path\": \"\(p)\"}")
                let b = try await post("{\"path\": \"\(missing)\"}")
                assertError(a, 403, "outside_library_roots")
                assertError(b, 403, "outside_library_roots")
                XCTAssertEqual(a.errorMessage, "path \(p): not inside a library root")
                XCTAssertEqual(b.errorMessage?.replacingOccurrences(of: missing, with: p), a.errorMessage)
            }
            // Oversize body: 413 by Content-Length, before it is read.
            let big = "{\"path\": \"" + String(repeating: "x", count: 70_000) + "\"}"
            assertError(try await post(big), 413, "body_too_large")
        }
        // No library roots: nothing can be indexed.
        try await withClient(try f.server(token: token, roots: false)) { client in
            let r = try await client.execute(
                uri: "/v1/index", method: .post, headers: bearer(token), body: body(#"{"path": "a.mp4"}"#))
            assertError(r, 403, "no_library_roots")
        }
    }
}
