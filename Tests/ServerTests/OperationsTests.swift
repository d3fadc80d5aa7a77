import BuildInfo
import Foundation
import TestSupport
import XCTest

/// `rstore serve` as an operator runs it, through the built binary: options from RSTORE_*
/// variables (the command line wins), the access log (no token, no query text), /metrics
/// behind the token unless --metrics-public, the version everywhere.
final class OperationsTests: XCTestCase {
    var dir: URL!
    var store = ""
    let token = "op-token-0123456789"
    var tokenFile = ""

    override func setUp() async throws {
        guard RStoreProcess.builtBinary != nil else { throw XCTSkip("rstore is not built beside the tests") }
        dir = try TempDirectory.make("ops")
        let video = dir.appendingPathComponent("a.mp4")
        try ExternalCommand.ffmpeg([
            "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10", "-t", "3", "-c:v", "libx264", "-g", "10", "-pix_fmt",
            "yuv420p", video.path,
        ])
        store = dir.appendingPathComponent("s.rstore").path
        let r = try RStoreProcess.run(["index", "--model", RStoreProcess.tinyModel.path, "--store", store, video.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        tokenFile = dir.appendingPathComponent("token").path
        try token.write(toFile: tokenFile, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: tokenFile)
    }

    override func tearDown() { TempDirectory.remove(dir) }

    func testAccessLogAndMetricsOfARealServer() throws {
        // Token file and log level from the environment.
        let server = try ServeProcess(
            ["--model", RStoreProcess.tinyModel.path, "--store", store],
            environment: ["RSTORE_TOKEN_FILE": tokenFile, "LOG_LEVEL": "info"], logDirectory: dir)
        defer { server.stop() }
        let auth = ["Authorization": "Bearer \(token)"]
        XCTAssertEqual(
            try RawHTTP.request(port: server.port, "GET", "/v1/search?q=zebrasecret+words&k=2", headers: auth).status,
            200)
        XCTAssertEqual(try RawHTTP.request(port: server.port, "GET", "/v1/videos/987654", headers: auth).status, 404)
        XCTAssertEqual(
            try RawHTTP.request(port: server.port, "GET", "/metrics").status, 401, "metrics need the token by default")
        // Methods and paths a client makes up do not become series of their own (bounded labels).
        // (HTTP's parser refuses unknown method tokens with 400 before routing; these it knows.)
        for (i, m) in ["PROPFIND", "MKCOL", "PURGE"].enumerated() {
            _ = try RawHTTP.request(port: server.port, m, "/made/up/\(i)", headers: auth)
        }
        let health = try RawHTTP.request(port: server.port, "GET", "/healthz")
        XCTAssertTrue(health.body.contains("\"version\":\"\(BuildInfo.version)\""), health.body)
        let metrics = try RawHTTP.request(port: server.port, "GET", "/metrics", headers: auth)
        XCTAssertEqual(metrics.status, 200)
        XCTAssertTrue(metrics.head.lowercased().contains("content-type: text/plain; version=0.0.4"), metrics.head)
        for needle in [
            #"rstore_http_requests_total{method="GET",route="/v1/search",status="200"} 1"#,
            #"rstore_http_requests_total{method="GET",route="/v1/videos/{id}",status="404"} 1"#,
            #"rstore_http_requests_total{method="GET",route="/metrics",status="401"} 1"#,
            #"rstore_http_request_duration_seconds_bucket{method="GET",route="/v1/search",status="200",le="+Inf"} 1"#,
            "rstore_search_stage1_seconds_count 1", "rstore_search_stage2_seconds_count 1",
            #"rstore_http_requests_total{method="other",route="unmatched",status="404"} 3"#,
            "rstore_index_queue_depth 0", "rstore_frame_tier_hit_ratio", "rstore_videos 1",
        ] {
            XCTAssertTrue(metrics.body.contains(needle), "metrics lack \(needle):\n\(metrics.body.prefix(3000))")
        }
        Thread.sleep(forTimeInterval: 0.2)
        let log = server.stderr
        for line in ["GET /v1/search 200 ", "GET /v1/videos/{id} 404 ", "GET /metrics 401 ", "GET /healthz 200 "] {
            XCTAssertTrue(log.contains(line), "access log lacks \(line):\n\(log)")
        }
        XCTAssertFalse(log.contains("zebrasecret"), "no query text at info:\n\(log)")
        XCTAssertFalse(log.contains(token), "never the token")
        XCTAssertFalse(
            log.contains("987654") || log.contains("/made/up") || log.contains("PROPFIND"),
            "the route pattern, not the raw path:\n\(log)")
    }

    func testMetricsPublicAndTheCommandLineWins() throws {
        // --log-level on the command line beats LOG_LEVEL; the flag from RSTORE_METRICS_PUBLIC.
        let server = try ServeProcess(
            ["--model", RStoreProcess.tinyModel.path, "--store", store, "--log-level", "warning"],
            environment: ["RSTORE_TOKEN_FILE": tokenFile, "LOG_LEVEL": "debug", "RSTORE_METRICS_PUBLIC": "1"],
            logDirectory: dir)
        defer { server.stop() }
        XCTAssertEqual(try RawHTTP.request(port: server.port, "GET", "/metrics").status, 200)
        XCTAssertEqual(
            try RawHTTP.request(port: server.port, "GET", "/v1/videos").status, 401, "the rest still needs the token")
        Thread.sleep(forTimeInterval: 0.2)
        XCTAssertFalse(server.stderr.contains("GET /"), "no access log at warning: \(server.stderr)")
    }

    /// Every option `rstore serve --help` lists can come from RSTORE_<NAME>: a bad value there
    /// is refused naming the option (so the variable was read); the command line wins.
    func testEveryServeOptionFromTheEnvironment() throws {
        let help = try RStoreProcess.run(["serve", "--help"]).stdout
        let names = Set(
            help.components(separatedBy: "--").dropFirst().map {
                String($0.prefix { $0.isLetter || $0.isNumber || $0 == "-" })
            }
        )
        .filter { !$0.isEmpty && $0.first!.isLetter }
        // Options that read their own variable already (RSTORE_STORE, RSTORE_MODEL,
        // RSTORE_TOKENIZER, RSTORE_TOKEN), help, and the one flag (tested above).
        let own: Set<String> = ["store", "model", "tokenizer", "token", "help", "version", "metrics-public"]
        // Values each option refuses, and what the refusal says.
        let bad: [String: (String, String)] = [
            "host": ("0.0.0.0", "refusing to bind 0.0.0.0 without a token"),
            "library-root": ("/nonexistent/lib-root-x", "/nonexistent/lib-root-x"),
            "root": ("a/b=/tmp", "--root"), "token-file": ("/nonexistent/tok", "/nonexistent/tok"),
            "allow-host": ("http://x/", "--allow-host"), "log-level": ("loud", "--log-level"),
        ]
        XCTAssertTrue(
            names.isSuperset(of: ["port", "max-p-frames", "log-level", "token-file", "frame-tier-mb"]), "\(names)")
        for name in names.subtracting(own).sorted() {
            let variable = "RSTORE_" + name.uppercased().replacingOccurrences(of: "-", with: "_")
            let (value, says) = bad[name] ?? ("not-a-number", "--\(name)")
            // --port 70000 stops a run whose variable was not read at validation, never serving.
            // (Not for the options validated after the port.)
            let guardPort = ["port", "host", "allow-host", "library-root"].contains(name) ? [] : ["--port", "70000"]
            let out = try RStoreProcess.run(
                ["serve", "--model", RStoreProcess.tinyModel.path, "--store", store] + guardPort,
                environment: [variable: value])
            XCTAssertNotEqual(out.status, 0, "\(variable)=\(value) was accepted")
            XCTAssertTrue(out.stderr.contains(says), "\(variable)=\(value): \(out.stderr)")
        }
        // The command line wins over the environment.
        let both = try RStoreProcess.run(
            ["serve", "--model", RStoreProcess.tinyModel.path, "--store", store, "--port", "70001"],
            environment: ["RSTORE_PORT": "70000"])
        XCTAssertTrue(both.stderr.contains("70001") && !both.stderr.contains("70000"), both.stderr)
        let env = try RStoreProcess.run(
            ["serve", "--model", RStoreProcess.tinyModel.path, "--store", store], environment: ["RSTORE_PORT": "70000"])
        XCTAssertTrue(env.stderr.contains("--port 70000"), env.stderr)
    }

    func testVersionAndGroupedHelp() throws {
        let v = try RStoreProcess.run(["--version"])
        XCTAssertEqual(v.status, 0)
        XCTAssertEqual(v.stdout.trimmingCharacters(in: .whitespacesAndNewlines), BuildInfo.version)
        XCTAssertTrue(BuildInfo.version.hasPrefix(BuildInfo.packageVersion))
        let help = try RStoreProcess.run(["--help"]).stdout
        var last = help.startIndex
        for group in [
            "LIBRARY SUBCOMMANDS:", "QUERY SUBCOMMANDS:", "MODEL SUBCOMMANDS:", "EVALUATION SUBCOMMANDS:",
            "BENCHMARKS SUBCOMMANDS:",
        ] {
            let r = try XCTUnwrap(
                help.range(of: group, range: last..<help.endIndex), "\(group) after the previous group:\n\(help)")
            last = r.upperBound
        }
        let query = help[help.range(of: "QUERY SUBCOMMANDS:")!.upperBound...].prefix(600)
        XCTAssertTrue(query.contains("search") && query.contains("embed") && query.contains("ground"), String(query))
    }
}
