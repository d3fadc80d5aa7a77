import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import ResidualStore
import Server
import TestSupport
import XCTest

/// `POST /v1/search`: JSON (text, vector, like, filter), an uploaded image (raw or
/// multipart), bounded in bytes and pixels, errors typed; open like a GET without a token.
final class SearchPostTests: XCTestCase {
    static func post(_ client: any TestClientProtocol, _ json: String, uri: String = "/v1/search") async throws
        -> TestResponse
    {
        var h = HTTPFields()
        h[.contentType] = "application/json"
        return try await client.execute(uri: uri, method: .post, headers: h, body: ByteBuffer(string: json))
    }

    static func moments(_ r: TestResponse) -> [String] {
        ((r.json["moments"] as? [[String: Any]]) ?? []).map {
            "\($0["video_id"]!)/\($0["first_frame"]!)-\($0["last_frame"]!)"
        }
    }

    func testJSONQueriesAndFiltersAnswerLikeTheTextSearch() async throws {
        let fixture = try await ServerFixture.shared.value
        let dim = fixture.library.embedDim
        let vector = try fixture.library.queryVector(.text("colour bars"))
        try await withClient(try fixture.server()) { client in
            let get = try await client.execute(uri: "/v1/search?q=colour+bars&k=4", method: .get)
            XCTAssertEqual(get.status, .ok, get.text)
            XCTAssertEqual(get.json["query_kind"] as? String, "text")
            let text = try await Self.post(client, #"{"text": "colour bars", "k": 4}"#)
            XCTAssertEqual(text.status, .ok, text.text)
            XCTAssertEqual(Self.moments(text), Self.moments(get))
            XCTAssertFalse(Self.moments(text).isEmpty)
            let body = "{\"vector\": [\(vector.map { "\($0)" }.joined(separator: ","))], \"k\": 4}"
            let byVector = try await Self.post(client, body)
            XCTAssertEqual(byVector.status, .ok, byVector.text)
            XCTAssertEqual(byVector.json["query_kind"] as? String, "vector")
            XCTAssertEqual(Self.moments(byVector), Self.moments(get))

            let like = try await Self.post(
                client, "{\"like\": {\"video_id\": \(fixture.videoA), \"time\": 1.0}, \"k\": 3}")
            XCTAssertEqual(like.status, .ok, like.text)
            XCTAssertEqual(like.json["query_kind"] as? String, "like")

            let filtered = try await Self.post(
                client,
                """
                {\"text\": \"colour bars\", \"k\": 4, \"filter\": {\"video_ids\": [\(fixture.videoB)], \"from\": 0.5, \
                \"to\": 2.5}}
                """
            )
            XCTAssertEqual(filtered.status, .ok, filtered.text)
            XCTAssertEqual(filtered.json["stage1_videos"] as? Int, 1)
            XCTAssertEqual(filtered.json["stage2_videos"] as? [Int], [Int(fixture.videoB)])
            XCTAssertTrue(Self.moments(filtered).allSatisfy { $0.hasPrefix("\(fixture.videoB)/") }, filtered.text)

            // GET takes the same filter as query parameters.
            let getFiltered = try await client.execute(
                uri: "/v1/search?q=colour+bars&k=4&video_id=\(fixture.videoB)&from=0.5&to=2.5", method: .get)
            XCTAssertEqual(Self.moments(getFiltered), Self.moments(filtered))
            assertError(
                try await client.execute(uri: "/v1/search?q=colour+bars&video_id=x", method: .get), 400, "bad_parameter"
            )
            assertError(
                try await client.execute(uri: "/v1/search?q=colour+bars&from=3&to=1", method: .get), 400, "bad_filter")

            // Hostile bodies: typed errors, never a 500.
            assertError(try await Self.post(client, "{\"vector\": [1, 2, 3]}"), 400, "bad_vector")
            assertError(
                try await Self.post(
                    client, "{\"vector\": [\(Array(repeating: "0", count: dim).joined(separator: ","))]}"), 400,
                "bad_vector")
            assertError(try await Self.post(client, #"{"vector": [NaN]}"#), 400, "bad_parameter")
            assertError(try await Self.post(client, #"{"vector": [1e400]}"#), 400, "bad_parameter")
            assertError(try await Self.post(client, #"{"like": {"video_id": 99999, "time": 1}}"#), 404, "unknown_video")
            assertError(
                try await Self.post(client, "{\"like\": {\"video_id\": \(fixture.videoA), \"time\": 999}}"), 400,
                "time_outside_video")
            assertError(try await Self.post(client, #"{"text": "a", "vector": [1]}"#), 400, "bad_parameter")
            assertError(try await Self.post(client, #"{}"#), 400, "bad_parameter")
            assertError(try await Self.post(client, #"{"text": "a", "k": 0}"#), 400, "bad_parameter")
            assertError(
                try await Self.post(client, #"{"text": "a", "filter": {"from": 5, "to": 1}}"#), 400, "bad_filter")
            assertError(try await Self.post(client, #"{"text": "#), 400, "bad_parameter")
            assertError(
                try await Self.post(client, "{\"text\": \"\(String(repeating: "a", count: 501))\"}"), 400,
                "bad_parameter")
            var h = HTTPFields()
            h[.contentType] = "text/plain"
            assertError(
                try await client.execute(uri: "/v1/search", method: .post, headers: h, body: ByteBuffer(string: "dog")),
                415, "unsupported_media_type")
            h[.contentType] = "application/json"
            assertError(
                try await client.execute(
                    uri: "/v1/search", method: .post, headers: h, body: ByteBuffer(repeating: 0x20, count: 70_000)),
                413, "body_too_large")
        }
    }

    func testAnUploadedImageIsSearchedAndBoundedInPixelsBeforeDecoding() async throws {
        let fixture = try await ServerFixture.shared.value
        let dir = try TempDirectory.make("search-image")
        defer { TempDirectory.remove(dir) }
        let small = dir.appendingPathComponent("small.jpg")
        let big = dir.appendingPathComponent("big.png")
        try ExternalCommand.ffmpeg(["-f", "lavfi", "-i", "smptebars=size=160x120", "-frames:v", "1", small.path])
        let huge = dir.appendingPathComponent("huge.png")
        try ExternalCommand.ffmpeg(["-f", "lavfi", "-i", "color=c=blue:size=2500x2000", "-frames:v", "1", big.path])
        try ExternalCommand.ffmpeg(["-f", "lavfi", "-i", "color=c=blue:size=4000x4000", "-frames:v", "1", huge.path])
        let smallBytes = try Data(contentsOf: small)
        let bigBytes = try Data(contentsOf: big)
        let hugeBytes = try Data(contentsOf: huge)
        XCTAssertLessThan(hugeBytes.count, 60_000, "within the body limit: only its pixels are too many")
        // The same filter as the request: the shared fixture may hold more videos by now (IndexJobTests adds one).
        let expected = try fixture.library.searchReport(
            .image(small), k: 3, filter: SearchFilter(videoIDs: [fixture.videoA, fixture.videoB]))
        let server = try fixture.server { $0.limits.maxImagePixels = 4_000_000 }
        try await withClient(server) { client in
            var h = HTTPFields()
            h[.contentType] = "image/jpeg"
            let raw = try await client.execute(
                uri: "/v1/search?k=3&video_id=\(fixture.videoA),\(fixture.videoB)", method: .post, headers: h,
                body: ByteBuffer(bytes: smallBytes))
            XCTAssertEqual(raw.status, .ok, raw.text)
            XCTAssertEqual(raw.json["query_kind"] as? String, "image")
            XCTAssertEqual(Self.moments(raw), expected.moments.map { "\($0.videoID)/\($0.firstFrame)-\($0.lastFrame)" })

            let boundary = "rstore-test-boundary"
            var form = Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"k\"\r\n\r\n3\r\n".utf8)
            form += Data(
                """
                --\(boundary)\r\nContent-Disposition: form-data; name=\"filter\"\r\n\r\n{\"video_ids\": \
                [\(fixture.videoA)]}\r\n
                """
                .utf8)
            form += Data(
                """
                --\(boundary)\r\nContent-Disposition: form-data; name=\"image\"; filename=\"q.jpg\"\r\nContent-Type: \
                image/jpeg\r\n\r\n
                """
                .utf8)
            form += smallBytes + Data("\r\n--\(boundary)--\r\n".utf8)
            h[.contentType] = "multipart/form-data; boundary=\(boundary)"
            let multi = try await client.execute(
                uri: "/v1/search", method: .post, headers: h, body: ByteBuffer(bytes: form))
            XCTAssertEqual(multi.status, .ok, multi.text)
            XCTAssertTrue(
                Self.moments(multi).allSatisfy { $0.hasPrefix("\(fixture.videoA)/") } && !Self.moments(multi).isEmpty,
                multi.text)

            h[.contentType] = "image/png"
            let tooMany = try await client.execute(
                uri: "/v1/search", method: .post, headers: h, body: ByteBuffer(bytes: bigBytes))
            assertError(tooMany, 413, "image_too_large")
            XCTAssertTrue(tooMany.errorMessage?.contains("2500x2000") ?? false, tooMany.text)
            let farTooMany = try await client.execute(
                uri: "/v1/search", method: .post, headers: h, body: ByteBuffer(bytes: hugeBytes))
            assertError(farTooMany, 400, "bad_image")
            XCTAssertTrue(farTooMany.errorMessage?.contains("limit of 4000000 pixels") ?? false, farTooMany.text)
            XCTAssertFalse(farTooMany.text.contains("rstore-query-"), "no temp path in messages: \(farTooMany.text)")
            assertError(
                try await client.execute(
                    uri: "/v1/search", method: .post, headers: h, body: ByteBuffer(string: "not a picture")), 400,
                "bad_image")
            assertError(try await client.execute(uri: "/v1/search", method: .post, headers: h, body: ByteBuffer()), 400)
            h[.contentType] = "multipart/form-data; boundary=\(boundary)"
            assertError(
                try await client.execute(
                    uri: "/v1/search", method: .post, headers: h,
                    body: ByteBuffer(string: "--\(boundary)\r\nno headers end")), 400, "bad_parameter")
            assertError(
                try await client.execute(
                    uri: "/v1/search", method: .post, headers: h,
                    body: ByteBuffer(
                        string:
                            """
                            --\(boundary)\r\nContent-Disposition: form-data; \
                            name=\"k\"\r\n\r\n3\r\n--\(boundary)--\r\n
                            """
                    )), 400, "bad_parameter")
        }
        // No temp file is left behind by any of these.
        let left = try FileManager.default.contentsOfDirectory(atPath: NSTemporaryDirectory()).filter {
            $0.hasPrefix("rstore-query-")
        }
        XCTAssertEqual(left, [])
    }

    func testAQueryPostIsAReadForAuthentication() async throws {
        let fixture = try await ServerFixture.shared.value
        // The page offers "more like this" on every moment, as a like-query.
        try await withClient(try fixture.server()) { client in
            let page = try await client.execute(uri: "/", method: .get)
            XCTAssertTrue(
                page.text.contains("more like this") && page.text.contains("like: { video_id: m.video_id"), "page")
        }
        // No token: reads are open, and POST /v1/search is a read (POST /v1/index stays refused).
        try await withClient(try fixture.server()) { client in
            let open = try await Self.post(client, #"{"text": "bars"}"#)
            XCTAssertEqual(open.status, .ok, open.text)
            assertError(try await Self.post(client, #"{"paths": ["a.mp4"]}"#, uri: "/v1/index"), 403, "writes_disabled")
        }
        try await withClient(try fixture.server(token: ServerFixture.token)) { client in
            assertError(try await Self.post(client, #"{"text": "bars"}"#), 401)
            var h = bearer(ServerFixture.token)
            h[.contentType] = "application/json"
            let withToken = try await client.execute(
                uri: "/v1/search", method: .post, headers: h, body: ByteBuffer(string: #"{"text": "bars"}"#))
            XCTAssertEqual(withToken.status, .ok, withToken.text)
        }
    }
}
