import Foundation
import Hummingbird
import HummingbirdTesting
import Server
import XCTest

final class VideoRoutesTests: XCTestCase {
    func testVideosListAndDetail() async throws {
        let f = try await ServerFixture.shared.value
        try await withClient(try f.server()) { client in
            let list = try await client.execute(uri: "/v1/videos", method: .get)
            XCTAssertEqual(list.status, .ok)
            let videos = list.json["videos"] as? [[String: Any]] ?? []
            // a.mp4 and b.mp4 (the index-job test may add later/c.mp4).
            XCTAssertTrue(Set(videos.map { $0["id"] as? Int ?? -1 }).isSuperset(of: [Int(f.videoA), Int(f.videoB)]))
            XCTAssertTrue(videos.allSatisfy { $0["status"] as? String == "ready" })
            let ready = try await client.execute(uri: "/v1/videos?status=ready", method: .get)
            XCTAssertEqual((ready.json["videos"] as? [Any])?.count, videos.count)
            assertError(try await client.execute(uri: "/v1/videos?status=bogus", method: .get), 400, "bad_parameter")

            let one = try await client.execute(uri: "/v1/videos/\(f.videoA)", method: .get)
            XCTAssertEqual(one.status, .ok)
            XCTAssertEqual(one.json["name"] as? String, "a.mp4")
            XCTAssertEqual(one.json["frames"] as? Int, 8)  // 4 s at 2 fps
            XCTAssertEqual(one.json["i_frames"] as? Int, 3)
            XCTAssertEqual(one.json["width"] as? Int, 160)
            assertError(try await client.execute(uri: "/v1/videos/987654", method: .get), 404, "unknown_video")
            assertError(try await client.execute(uri: "/v1/videos/abc", method: .get), 400, "bad_parameter")
            assertError(try await client.execute(uri: "/v1/videos/-3", method: .get), 400, "bad_parameter")
        }
    }

    func testFrameTimeline() async throws {
        let f = try await ServerFixture.shared.value
        try await withClient(try f.server()) { client in
            let r = try await client.execute(uri: "/v1/videos/\(f.videoA)/frames", method: .get)
            XCTAssertEqual(r.status, .ok)
            let frames = r.json["frames"] as? [[String: Any]] ?? []
            XCTAssertEqual(frames.map { $0["kind"] as? String ?? "" }, ["I", "P", "P", "I", "P", "P", "I", "P"])
            XCTAssertEqual(frames.map { $0["anchor"] as? Int ?? -1 }, [0, 0, 0, 3, 3, 3, 6, 6])
            assertError(try await client.execute(uri: "/v1/videos/424242/frames", method: .get), 404, "unknown_video")
        }
    }

    func testEmbeddingsJSONAndBinaryAgree() async throws {
        let f = try await ServerFixture.shared.value
        try await withClient(try f.server()) { client in
            let j = try await client.execute(uri: "/v1/videos/\(f.videoA)/embeddings?from=0.5&to=2.5", method: .get)
            XCTAssertEqual(j.status, .ok, j.text)
            let frames = j.json["frames"] as? [[String: Any]] ?? []
            XCTAssertEqual(frames.map { $0["index"] as? Int ?? -1 }, [1, 2, 3, 4, 5])
            XCTAssertEqual(frames.map { $0["kind"] as? String ?? "" }, ["P", "P", "I", "P", "P"])
            let dims = j.json["dims"] as? Int ?? 0
            XCTAssertEqual(f.library.embedDim, dims)

            var h = HTTPFields()
            h[.accept] = "application/octet-stream"
            let b = try await client.execute(
                uri: "/v1/videos/\(f.videoA)/embeddings?from=0.5&to=2.5", method: .get, headers: h)
            XCTAssertEqual(b.status, .ok)
            XCTAssertEqual(b.headers[.contentType], "application/octet-stream")
            XCTAssertEqual(b.headers[HTTPFields.Element.Name("X-RStore-Count")!], "5")
            XCTAssertEqual(b.headers[HTTPFields.Element.Name("X-RStore-Dims")!], String(dims))
            let decoded = try XCTUnwrap(EmbeddingsBinary.decode(b.bytes))
            XCTAssertEqual(decoded.indices, [1, 2, 3, 4, 5])
            XCTAssertEqual(decoded.kinds, ["P", "P", "I", "P", "P"])
            for (row, fr) in zip(decoded.rows, frames) {
                let v = (fr["embedding"] as? [Double] ?? []).map(Float.init)
                XCTAssertEqual(row.count, dims)
                for (x, y) in zip(row, v) { XCTAssertEqual(x, y, accuracy: 1e-6) }
            }
            for (t, fr) in zip(decoded.times, frames) { XCTAssertEqual(t, fr["time"] as? Double ?? -1, accuracy: 1e-9) }

            // Whole video by default.
            let all = try await client.execute(uri: "/v1/videos/\(f.videoA)/embeddings", method: .get)
            XCTAssertEqual((all.json["frames"] as? [Any])?.count, 8)
            // Bad parameters.
            for q in ["from=abc", "from=-1", "from=3&to=1", "to=nan", "to=inf", "from=1e308&to=1e309"] {
                assertError(
                    try await client.execute(uri: "/v1/videos/\(f.videoA)/embeddings?\(q)", method: .get), 400,
                    "bad_parameter")
            }
            assertError(
                try await client.execute(uri: "/v1/videos/31337/embeddings", method: .get), 404, "unknown_video")
            // A `to` past the end is the end (the range is counted in frames, not seconds).
            let past = try await client.execute(uri: "/v1/videos/\(f.videoA)/embeddings?from=0&to=100000", method: .get)
            XCTAssertEqual((past.json["frames"] as? [Any])?.count, 8, past.text)
        }
        // Ranges are bounded in frames: 0.5...2.5 s at 2 fps is 5 frames, 3 of them P.
        try await withClient(try f.server { $0.limits.maxPFrames = 2 }) { client in
            let r = try await client.execute(uri: "/v1/videos/\(f.videoA)/embeddings?from=0.5&to=2.5", method: .get)
            assertError(r, 400, "over_limit")
            XCTAssertTrue(r.errorMessage?.contains("2 P-frames per request (--max-p-frames)") ?? false, r.text)
            let small = try await client.execute(uri: "/v1/videos/\(f.videoA)/embeddings?from=1.5&to=2.5", method: .get)
            XCTAssertEqual((small.json["frames"] as? [Any])?.count, 3, small.text)
        }
        // 3 P-frames of 160x120 to decode: at least 0.06 720p frames, over 0.05.
        try await withClient(try f.server { $0.limits.maxDecodedFrames = 0.05 }) { client in
            let r = try await client.execute(uri: "/v1/videos/\(f.videoA)/embeddings?from=0.5&to=2.5", method: .get)
            assertError(r, 400, "over_limit")
            XCTAssertTrue(r.errorMessage?.contains("--max-decoded-frames") ?? false, r.text)
        }
    }

    func testThumbnailsAreCachedJPEGs() async throws {
        let f = try await ServerFixture.shared.value
        let server = try f.server()
        try await withClient(server) { client in
            let health0 =
                try await client.execute(uri: "/healthz", method: .get).json["thumbnail_cache"] as? [String: Any]
            let r = try await client.execute(uri: "/v1/videos/\(f.videoA)/frames/4.jpg", method: .get)
            XCTAssertEqual(r.status, .ok, r.text)
            // From the still of I-frame 3 stored at ingest (a new server: not in its cache), not the original.
            XCTAssertEqual(r.headers[HTTPFields.Element.Name("X-RStore-Thumbnail")!], "still")
            XCTAssertEqual(r.headers[.contentType], "image/jpeg")
            XCTAssertEqual(Array(r.bytes.prefix(3)), [0xFF, 0xD8, 0xFF])
            XCTAssertEqual(Array(r.bytes.suffix(2)), [0xFF, 0xD9])
            let again = try await client.execute(uri: "/v1/videos/\(f.videoA)/frames/4.jpg", method: .get)
            XCTAssertEqual(again.bytes, r.bytes)
            XCTAssertEqual(again.headers[HTTPFields.Element.Name("X-RStore-Thumbnail")!], "cache")
            let health1 =
                try await client.execute(uri: "/healthz", method: .get).json["thumbnail_cache"] as? [String: Any]
            XCTAssertEqual((health1?["entries"] as? Int ?? 0) - (health0?["entries"] as? Int ?? 0), 1)
            XCTAssertGreaterThanOrEqual((health1?["hits"] as? Int ?? 0) - (health0?["hits"] as? Int ?? 0), 1)
            XCTAssertLessThanOrEqual(health1?["bytes"] as? Int ?? .max, 4 << 20)

            assertError(
                try await client.execute(uri: "/v1/videos/\(f.videoA)/frames/8.jpg", method: .get), 404, "unknown_frame"
            )
            assertError(
                try await client.execute(uri: "/v1/videos/\(f.videoA)/frames/x.jpg", method: .get), 400, "bad_parameter"
            )
            assertError(
                try await client.execute(uri: "/v1/videos/55555/frames/0.jpg", method: .get), 404, "unknown_video")
            assertError(
                try await client.execute(uri: "/v1/videos/\(f.videoA)/frames/1.png", method: .get), 404, "no_route")
        }
    }
}
