import Foundation
import Hummingbird
import HummingbirdTesting
import Server
import XCTest

final class QueryRoutesTests: XCTestCase {
    func testSearch() async throws {
        let f = try await ServerFixture.shared.value
        try await withClient(try f.server()) { client in
            let r = try await client.execute(uri: "/v1/search?q=a+colour+test+pattern&k=3", method: .get)
            XCTAssertEqual(r.status, .ok, r.text)
            XCTAssertEqual(r.json["query"] as? String, "a colour test pattern")
            let moments = r.json["moments"] as? [[String: Any]] ?? []
            XCTAssertFalse(moments.isEmpty)
            XCTAssertLessThanOrEqual(moments.count, 3)
            for m in moments {
                let id = m["video_id"] as? Int ?? -1
                let known = try f.library.videos().compactMap { $0.id.map(Int.init) }
                XCTAssertTrue(known.contains(id))
                XCTAssertLessThan(m["start"] as? Double ?? 1, m["end"] as? Double ?? 0)
                XCTAssertEqual(m["thumbnail"] as? String, "/v1/videos/\(id)/frames/\(m["frame"] as? Int ?? -1).jpg")
                // The thumbnail URL a result names is served.
                let thumb = try await client.execute(uri: m["thumbnail"] as? String ?? "", method: .get)
                XCTAssertEqual(thumb.status, .ok)
            }
            // Where the time went, and stage 1 alone (what the page shows first).
            for key in ["stage1_ms", "stage2_ms", "p_frames", "decoded_frames", "frame_cache_hits"] {
                XCTAssertNotNil(r.json[key], key)
            }
            XCTAssertEqual(r.json["refined"] as? Bool, true)
            let coarse = try await client.execute(
                uri: "/v1/search?q=a+colour+test+pattern&k=3&refine=false", method: .get)
            XCTAssertEqual(coarse.json["p_frames"] as? Int, 0)
            XCTAssertEqual(coarse.json["refined"] as? Bool, false)
            XCTAssertEqual((coarse.json["moments"] as? [[String: Any]])?.first?["refined"] as? Bool, false)
            let encoded = try await client.execute(uri: "/v1/search?q=caf%C3%A9%20%2B%20bars", method: .get)
            XCTAssertEqual(encoded.json["query"] as? String, "café + bars")

            assertError(try await client.execute(uri: "/v1/search", method: .get), 400, "bad_parameter")
            assertError(try await client.execute(uri: "/v1/search?q=%20%20", method: .get), 400, "bad_parameter")
            assertError(try await client.execute(uri: "/v1/search?q=x&k=0", method: .get), 400, "bad_parameter")
            assertError(try await client.execute(uri: "/v1/search?q=x&k=101", method: .get), 400, "bad_parameter")
            assertError(try await client.execute(uri: "/v1/search?q=x&k=ten", method: .get), 400, "bad_parameter")
            let long = String(repeating: "a", count: 501)
            let tooLong = try await client.execute(uri: "/v1/search?q=\(long)", method: .get)
            assertError(tooLong, 400, "bad_parameter")
            XCTAssertTrue(tooLong.errorMessage?.contains("500") ?? false)
        }
    }

    func testGround() async throws {
        let f = try await ServerFixture.shared.value
        try await withClient(try f.server()) { client in
            let r = try await client.execute(uri: "/v1/videos/\(f.videoA)/ground?q=moving+shapes&k=2", method: .get)
            XCTAssertEqual(r.status, .ok, r.text)
            let proposals = r.json["proposals"] as? [[String: Any]] ?? []
            XCTAssertFalse(proposals.isEmpty)
            XCTAssertLessThanOrEqual(proposals.count, 2)
            XCTAssertTrue(proposals.allSatisfy { $0["video_id"] as? Int == Int(f.videoA) })
            assertError(
                try await client.execute(uri: "/v1/videos/\(f.videoA)/ground", method: .get), 400, "bad_parameter")
            assertError(
                try await client.execute(uri: "/v1/videos/\(f.videoA)/ground?q=x&k=-1", method: .get), 400,
                "bad_parameter")
            assertError(
                try await client.execute(uri: "/v1/videos/999999/ground?q=x", method: .get), 404, "unknown_video")
        }
        // Videos with more frames than a request may reconstruct are refused before any work.
        try await withClient(try f.server { $0.limits.maxPFrames = 4 }) { client in
            let r = try await client.execute(uri: "/v1/videos/\(f.videoA)/ground?q=x", method: .get)
            assertError(r, 400, "over_limit")
            XCTAssertTrue(r.errorMessage?.contains("--max-p-frames") ?? false, r.text)
        }
        // 5 P-frames of 160x120 (1/48 of a 720p frame each) to decode: 0.10 > 0.05.
        try await withClient(try f.server { $0.limits.maxDecodedFrames = 0.05 }) { client in
            let r = try await client.execute(uri: "/v1/videos/\(f.videoA)/ground?q=x", method: .get)
            assertError(r, 400, "over_limit")
            XCTAssertTrue(r.errorMessage?.contains("--max-decoded-frames") ?? false, r.text)
        }
    }

    func testSimilarityCurve() async throws {
        let f = try await ServerFixture.shared.value
        try await withClient(try f.server()) { client in
            let coarse = try await client.execute(uri: "/v1/videos/\(f.videoA)/curve?q=bars", method: .get)
            XCTAssertEqual(coarse.status, .ok, coarse.text)
            let pts = coarse.json["points"] as? [[String: Any]] ?? []
            XCTAssertEqual(pts.map { $0["index"] as? Int ?? -1 }, [0, 3, 6])
            let dense = try await client.execute(uri: "/v1/videos/\(f.videoA)/curve?q=bars&dense=true", method: .get)
            let dpts = dense.json["points"] as? [[String: Any]] ?? []
            XCTAssertEqual(dpts.count, 8)
            // I-frame scores agree between the two.
            for p in pts {
                let d = dpts.first { $0["index"] as? Int == p["index"] as? Int }
                XCTAssertEqual(p["score"] as? Double ?? 0, d?["score"] as? Double ?? 9, accuracy: 1e-4)
            }
            assertError(
                try await client.execute(uri: "/v1/videos/\(f.videoA)/curve?q=bars&dense=maybe", method: .get), 400,
                "bad_parameter")
            assertError(
                try await client.execute(uri: "/v1/videos/\(f.videoA)/curve?q=bars&from=2&to=1", method: .get), 400,
                "bad_parameter")
            assertError(
                try await client.execute(uri: "/v1/videos/\(f.videoA)/curve", method: .get), 400, "bad_parameter")
            assertError(try await client.execute(uri: "/v1/videos/8888/curve?q=x", method: .get), 404, "unknown_video")
        }
        // A dense curve is bounded in frames; the I-frame curve decodes nothing and is not.
        try await withClient(try f.server { $0.limits.maxPFrames = 2 }) { client in
            assertError(
                try await client.execute(uri: "/v1/videos/\(f.videoA)/curve?q=bars&dense=true", method: .get), 400,
                "over_limit")
            let part = try await client.execute(
                uri: "/v1/videos/\(f.videoA)/curve?q=bars&dense=true&from=0&to=1", method: .get)
            XCTAssertEqual(part.status, .ok, part.text)
            XCTAssertEqual((part.json["points"] as? [Any])?.count, 3)
            let coarse = try await client.execute(uri: "/v1/videos/\(f.videoA)/curve?q=bars", method: .get)
            XCTAssertEqual(coarse.status, .ok, coarse.text)
        }
    }
}
