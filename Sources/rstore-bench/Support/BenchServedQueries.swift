import Foundation

/// Times text queries against a real `rstore serve` process over HTTP (what a user of the
/// server waits for), for `rstore bench search`. The server is started on a free loopback
/// port and stopped afterwards.
enum ServedQueries {
    /// The fields of `GET /v1/search` the benchmark reads.
    struct Body: Decodable {
        var stage1_ms: Double, stage2_ms: Double
        var p_frames: Int, decoded_frames: Int, frame_cache_hits: Int
    }

    struct Timed {
        var ms: Double
        var body: Body
    }

    /// Runs each of `texts` once, in order, and returns the client-side latency with the
    /// server's own figures.
    static func run(
        exe: URL, model: URL, store: URL, texts: [String], k: Int, maxPFrames: Int = 4096,
        log: (String) -> Void
    ) throws -> [Timed] {
        let p = Process()
        p.executableURL = exe
        p.arguments = [
            "serve", "--model", model.path, "--store", store.path, "--port", "0", "--max-p-frames", "\(maxPFrames)",
        ]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        defer {
            if p.isRunning { p.terminate() }
            p.waitUntilExit()
        }
        let t0 = Date()
        let port = try serverPort(out.fileHandleForReading)
        log(String(format: "`rstore serve` up on port %d after %.0f ms", port, Date().timeIntervalSince(t0) * 1000))
        return try texts.map { text in
            let q = text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? text
            let t = Date()
            let (status, data) = try BenchHTTPClient.get(port: port, "/v1/search?q=\(q)&k=\(k)")
            let ms = Date().timeIntervalSince(t) * 1000
            guard status == 200 else {
                throw BenchHTTPClient.Failure(
                    description: "GET /v1/search: HTTP \(status): \(String(decoding: data.prefix(300), as: UTF8.self))")
            }
            return Timed(ms: ms, body: try JSONDecoder().decode(Body.self, from: data))
        }
    }

    /// The port from the server's "rstore serving STORE on http://HOST:PORT/" line.
    static func serverPort(_ handle: FileHandle) throws -> Int {
        var text = ""
        while !text.contains("\n") {
            let chunk = handle.availableData
            guard !chunk.isEmpty else {
                throw BenchHTTPClient.Failure(description: "`rstore serve` exited before serving: \(text)")
            }
            text += String(decoding: chunk, as: UTF8.self)
        }
        guard let r = text.range(of: "http://127.0.0.1:"),
            let port = Int(text[r.upperBound...].prefix { $0.isNumber })
        else {
            throw BenchHTTPClient.Failure(description: "no port in `rstore serve` output: \(text)")
        }
        return port
    }
}
