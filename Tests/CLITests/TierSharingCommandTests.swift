import Foundation
import TestSupport
import XCTest

/// Two processes share the decoded-frame tier (`<store>.frames`): a `rstore serve` reads it
/// (search stage 2, embeddings) while a CLI `rstore index` adds videos and fills it. Reads stay
/// valid, neither process fails, and the file is intact afterwards.
final class TierSharingCommandTests: CLITestCase {
    override var tempPrefix: String { "tiershare" }

    /// GET over loopback with curl; returns status and body.
    func get(_ port: Int, _ target: String) throws -> (status: Int, body: Data) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [
            "curl", "-s", "-o", "-", "-w", "\n%{http_code}", "--max-time", "120", "http://127.0.0.1:\(port)\(target)",
        ]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let nl = try XCTUnwrap(data.lastIndex(of: UInt8(ascii: "\n")))
        return (Int(String(decoding: data[(nl + 1)...], as: UTF8.self)) ?? -1, Data(data[..<nl]))
    }

    static func cosine(_ a: [Double], _ b: [Double]) -> Double {
        let d = zip(a, b).reduce(0) { $0 + $1.0 * $1.1 }
        return d / max(1e-12, a.reduce(0) { $0 + $1 * $1 }.squareRoot() * b.reduce(0) { $0 + $1 * $1 }.squareRoot())
    }

    func testServerReadsTheTierWhileACLIIngestWritesIt() throws {
        let sources = [
            "testsrc2=size=320x240:rate=25", "smptehdbars=size=320x240:rate=25,hue=H=0.5*t",
            "rgbtestsrc=size=320x240:rate=25,rotate=a=0.3*t", "testsrc=size=320x240:rate=25,negate",
        ]
        var videos: [URL] = []
        for (i, src) in sources.enumerated() {
            let v = dir.appendingPathComponent("v\(i).mp4")
            try ffmpeg([
                "-f", "lavfi", "-i", src, "-t", i == 0 ? "40" : "90", "-c:v", "libx264", "-preset", "ultrafast", "-g",
                "50",
                "-pix_fmt", "yuv420p", v.path,
            ])
            videos.append(v)
        }
        let store = dir.appendingPathComponent("lib.rstore")
        let common = ["--model", RStoreProcess.tinyModel.path, "--store", store.path]
        let first = try RStoreProcess.run(["index"] + common + [videos[0].path])
        XCTAssertEqual(first.status, 0, first.stderr)

        // The server, on a free port.
        let server = Process()
        server.executableURL = RStoreProcess.binary
        server.arguments = ["serve"] + common + ["--port", "0"]
        let out = Pipe()
        server.standardOutput = out
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer {
            if server.isRunning { server.terminate() }
            server.waitUntilExit()
        }
        var banner = ""
        while !banner.contains("\n") {
            let chunk = out.fileHandleForReading.availableData
            XCTAssertFalse(chunk.isEmpty, "server exited: \(banner)")
            if chunk.isEmpty { return }
            banner += String(decoding: chunk, as: UTF8.self)
        }
        let port = try XCTUnwrap(
            banner.range(of: "http://127.0.0.1:").flatMap { Int(banner[$0.upperBound...].prefix { $0.isNumber }) })

        // The ingest of three more videos, as a separate process writing the tier.
        let ingest = Process()
        ingest.executableURL = RStoreProcess.binary
        ingest.arguments = ["index"] + common + ["--chunk-frames", "16"] + videos[1...].map(\.path)
        ingest.standardOutput = FileHandle.nullDevice
        let ingestErr = Pipe()
        ingest.standardError = ingestErr
        try ingest.run()

        // While it runs: searches (stage 2 reads P-frames from the tier) and 2 s windows of
        // embeddings of the first video, each window read once (so from the tier, not memory).
        var windows: [(from: Int, frames: [[String: Any]])] = []
        var searches = 0
        var tierHits = 0
        var duringIngest = 0
        var w = 0
        while ingest.isRunning || searches < 3 {
            let s = try get(port, "/v1/search?q=pattern%20\(searches)&k=3")
            XCTAssertEqual(s.status, 200, String(decoding: s.body, as: UTF8.self))
            let body = try XCTUnwrap(JSONSerialization.jsonObject(with: s.body) as? [String: Any])
            XCTAssertNotNil(body["moments"] as? [Any])
            tierHits += body["frame_cache_hits"] as? Int ?? 0
            searches += 1
            if w < 38 {
                let e = try get(port, "/v1/videos/1/embeddings?from=\(w)&to=\(w + 2)")
                XCTAssertEqual(e.status, 200, String(decoding: e.body, as: UTF8.self))
                let frames = try XCTUnwrap(
                    (JSONSerialization.jsonObject(with: e.body) as? [String: Any])?["frames"] as? [[String: Any]])
                XCTAssertFalse(frames.isEmpty)
                windows.append((w, frames))
                w += 2
            }
            if ingest.isRunning { duringIngest += 1 }
        }
        ingest.waitUntilExit()
        XCTAssertEqual(
            ingest.terminationStatus, 0,
            String(decoding: ingestErr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
        XCTAssertGreaterThan(duringIngest, 2, "the server was read while the ingest ran")
        XCTAssertGreaterThan(tierHits, 0, "stage 2 was served from the tier")
        XCTAssertTrue(server.isRunning, "the server survived")

        // Reads stayed valid: every window equals what a fresh process reads afterwards.
        for (from, frames) in windows {
            let e = try RStoreProcess.run(
                ["embed"] + common + [videos[0].path, "--from", "\(from)", "--to", "\(from + 2)"])
            XCTAssertEqual(e.status, 0, e.stderr)
            let rows = e.stdout.split(separator: "\n").compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }
            XCTAssertEqual(rows.map { $0["index"] as? Int }, frames.map { $0["index"] as? Int })
            for (a, b) in zip(rows, frames) {
                let x = try XCTUnwrap(a["embedding"] as? [Double])
                let y = try XCTUnwrap(b["embedding"] as? [Double])
                XCTAssertGreaterThan(Self.cosine(x, y), 0.9999, "window at \(from) s, frame \(a["index"] ?? "?")")
            }
        }

        // The tier is intact and holds all four videos; the server still answers.
        let check = Process()
        check.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        check.arguments = [
            "sqlite3", store.path + ".frames", "PRAGMA integrity_check; SELECT COUNT(DISTINCT video) FROM payloads;",
        ]
        let checkOut = Pipe()
        check.standardOutput = checkOut
        try check.run()
        let report = String(decoding: checkOut.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        check.waitUntilExit()
        XCTAssertEqual(report.split(separator: "\n"), ["ok", "4"])
        let last = try get(port, "/v1/search?q=bars&k=5")
        XCTAssertEqual(last.status, 200)
        let moments = try XCTUnwrap(
            (JSONSerialization.jsonObject(with: last.body) as? [String: Any])?["moments"] as? [[String: Any]])
        XCTAssertFalse(moments.isEmpty)
    }
}
