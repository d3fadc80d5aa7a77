import Foundation
import Hummingbird
import HummingbirdTesting
import ResidualStore
import TestSupport
import XCTest

@testable import Server

#if canImport(Glibc)
import Glibc
#endif

/// `GET /v1/search?stream=true`: JSON lines, stage 1's moments first, then the refined ones,
/// then the answer the request gives without `stream` (or a final error line).
final class SearchStreamTests: XCTestCase {
    /// The JSON lines of a streamed answer.
    static func lines(_ r: TestResponse) -> [[String: Any]] {
        r.text.split(separator: "\n").map {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] ?? ["unparsed": String($0)]
        }
    }

    static func same(_ a: Any?, _ b: Any?) -> Bool {
        guard let a = a as? [Any], let b = b as? [Any] else { return false }
        return NSArray(array: a).isEqual(to: b)
    }

    func testCoarseThenRefinedThenTheAnswerOfTheRequestWithoutStream() async throws {
        let f = try await ServerFixture.shared.value
        try await withClient(try f.server()) { client in
            let query = "/v1/search?q=a+colour+test+pattern&k=3"
            let plain = try await client.execute(uri: query, method: .get)
            XCTAssertEqual(plain.status, .ok, plain.text)
            let coarse = try await client.execute(uri: query + "&refine=false", method: .get)
            let streamed = try await client.execute(uri: query + "&stream=true", method: .get)
            XCTAssertEqual(streamed.status, .ok, streamed.text)
            XCTAssertEqual(streamed.headers[.contentType], "application/x-ndjson; charset=utf-8")
            XCTAssertEqual(streamed.headers[.cacheControl], "no-store")
            XCTAssertTrue(streamed.text.hasSuffix("}\n"), "every line ends with a newline")
            let lines = Self.lines(streamed)
            let events = lines.map { $0["event"] as? String ?? "?" }
            XCTAssertGreaterThanOrEqual(events.count, 3, streamed.text)
            XCTAssertEqual(events.first, "coarse")
            XCTAssertEqual(events.last, "done")
            XCTAssertEqual(Set(events.dropFirst().dropLast()), ["refined"], "\(events)")
            // Seconds since the request began, never going back.
            let seconds = lines.compactMap { $0["seconds"] as? Double }
            XCTAssertEqual(seconds.count, lines.count)
            XCTAssertEqual(seconds, seconds.sorted())

            // The coarse line: stage 1's answer, the moments `refine=false` answers.
            let first = lines[0]
            XCTAssertTrue(Self.same(first["moments"], coarse.json["moments"]), "\(first) vs \(coarse.text)")
            XCTAssertTrue((first["moments"] as? [[String: Any]] ?? []).allSatisfy { $0["refined"] as? Bool == false })
            XCTAssertNotNil(first["stage1_ms"] as? Double)

            // Refined lines: refined moments of the videos they name; together, the videos stage 2 read.
            var refinedVideos = Set<Int>()
            for line in lines.dropFirst().dropLast() {
                let videos = Set(line["videos"] as? [Int] ?? [])
                refinedVideos.formUnion(videos)
                for m in line["moments"] as? [[String: Any]] ?? [] {
                    XCTAssertTrue(videos.contains(m["video_id"] as? Int ?? -1), "\(line)")
                    XCTAssertEqual(m["refined"] as? Bool, true)
                }
            }
            let done = try XCTUnwrap(lines.last?["search"] as? [String: Any], streamed.text)
            XCTAssertEqual(refinedVideos, Set(done["stage2_videos"] as? [Int] ?? []))

            // The final line is the answer without `stream`: the same fields, the same moments.
            XCTAssertEqual(Set(done.keys), Set(plain.json.keys))
            XCTAssertTrue(Self.same(done["moments"], plain.json["moments"]), "\(done) vs \(plain.text)")
            for key in ["query", "k", "refined", "query_kind", "stage1_videos", "stage1_rows", "stage2_videos"] {
                XCTAssertEqual(
                    (done[key] as? NSObject), (plain.json[key] as? NSObject), "\(key): \(done) vs \(plain.text)")
            }

            // refine=false streams the coarse line and an answer of the same moments.
            let notRefined = Self.lines(try await client.execute(uri: query + "&refine=false&stream=1", method: .get))
            XCTAssertEqual(notRefined.map { $0["event"] as? String ?? "?" }, ["coarse", "done"])
            XCTAssertTrue(
                Self.same(notRefined.first?["moments"], (notRefined.last?["search"] as? [String: Any])?["moments"]))

            // stream=false (or absent) is the plain JSON body.
            let off = try await client.execute(uri: query + "&stream=false", method: .get)
            XCTAssertEqual(off.headers[.contentType], "application/json; charset=utf-8")
            XCTAssertTrue(Self.same(off.json["moments"], plain.json["moments"]))
        }
    }

    /// Bad parameters are refused before a line is written: the usual status and JSON error.
    func testHostileParametersAreRefusedBeforeTheStream() async throws {
        let f = try await ServerFixture.shared.value
        try await withClient(try f.server()) { client in
            for value in ["abc", "2", "%00", "true%20"] {
                let r = try await client.execute(uri: "/v1/search?q=x&stream=\(value)", method: .get)
                assertError(r, 400, "bad_parameter")
                XCTAssertTrue(r.errorMessage?.contains("`stream` must be true or false") ?? false, r.text)
            }
            assertError(
                try await client.execute(uri: "/v1/search?q=x&k=0&stream=1", method: .get), 400, "bad_parameter")
            assertError(try await client.execute(uri: "/v1/search?stream=1", method: .get), 400, "bad_parameter")
            // Found by the engine (the filter's span), still before any line.
            let span = try await client.execute(uri: "/v1/search?q=x&from=5&to=1&stream=1", method: .get)
            XCTAssertEqual(span.status.code, 400, span.text)
            XCTAssertTrue(span.headers[.contentType]?.hasPrefix("application/json") ?? false)
        }
    }

    /// A failure in stage 2, after the coarse line went out, is the stream's last line: the
    /// error the request would have answered, with its status; the coarse moments stand.
    func testAFailureAfterTheCoarseLineIsAFinalErrorLine() async throws {
        let f = try await ServerFixture.shared.value
        let dir = try TempDirectory.make("stream-error")
        defer { TempDirectory.remove(dir) }
        for name in ["a.mp4", "b.mp4"] {
            try FileManager.default.copyItem(
                at: f.root.appendingPathComponent(name), to: dir.appendingPathComponent(name))
        }
        // No tier and no frame cache: stage 2 must read the files.
        var config = Library.Configuration()
        config.frameTierBytes = 0
        config.frameCacheBytes = 0
        let library = try Library(
            store: dir.appendingPathComponent("s.rstore"), model: TinyCLIP.model.get(), configuration: config)
        _ = try await library.index([dir.appendingPathComponent("a.mp4"), dir.appendingPathComponent("b.mp4")])
        let server = try RStoreServer(library: library, configuration: ServerConfiguration(libraryRoots: [dir]))
        try await withClient(server) { client in
            let query = "/v1/search?q=a+colour+test+pattern&k=3"
            // Stage 1 alone checks the files (size, mtime, fingerprint) and remembers them as fresh...
            let coarse = try await client.execute(uri: query + "&refine=false", method: .get)
            XCTAssertEqual(coarse.status, .ok, coarse.text)
            // ...then their bytes are overwritten at the same size and mtime: decoding fails mid-stage 2.
            for name in ["a.mp4", "b.mp4"] {
                let path = dir.appendingPathComponent(name).path
                var st = stat()
                XCTAssertEqual(stat(path, &st), 0)
                try Data(repeating: 0x5a, count: Int(st.st_size)).write(to: URL(fileURLWithPath: path))
                // The mtime to the nanosecond (a Date round trip may move it, and the file would be stale).
                let times = [st.st_atim, st.st_mtim]
                XCTAssertEqual(utimensat(AT_FDCWD, path, times, 0), 0)
            }
            let r = try await client.execute(uri: query + "&stream=true", method: .get)
            XCTAssertEqual(r.status, .ok, "the coarse line went out with 200")
            let lines = Self.lines(r)
            XCTAssertEqual(lines.map { $0["event"] as? String ?? "?" }, ["coarse", "error"], r.text)
            XCTAssertTrue(Self.same(lines.first?["moments"], coarse.json["moments"]))
            let error = try XCTUnwrap(lines.last?["error"] as? [String: Any], r.text)
            XCTAssertFalse((error["code"] as? String ?? "").isEmpty)
            XCTAssertTrue((error["message"] as? String ?? "").contains(".mp4"), r.text)
            XCTAssertGreaterThanOrEqual(lines.last?["status"] as? Int ?? 0, 400)
            // Without stream, the same failure is the request's status.
            let plain = try await client.execute(uri: query, method: .get)
            XCTAssertEqual(plain.status.code, lines.last?["status"] as? Int, plain.text)
            XCTAssertEqual(plain.errorCode, error["code"] as? String)
        }
    }
}
