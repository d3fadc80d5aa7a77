import Foundation

/// A real `rstore serve` process on a free loopback port, for tests that must see what a user
/// or a client library sees (its stderr log, its sockets). Started with `start`, stopped by
/// `stop` (SIGTERM, then waited for).
public final class ServeProcess: @unchecked Sendable {
    public let process = Process()
    /// `http://127.0.0.1:PORT/`.
    public private(set) var url = ""
    public private(set) var port = 0
    private let stderrFile: URL

    /// Starts `rstore serve ARGS --port 0` with the caller's environment plus `environment`
    /// (RSTORE_MODEL and RSTORE_TOKEN removed first), and waits up to `timeout` seconds for its
    /// "rstore serving ... on http://..." line.
    public init(_ args: [String], environment: [String: String] = [:], logDirectory: URL, timeout: TimeInterval = 60)
        throws
    {
        var env = ProcessInfo.processInfo.environment
        env["RSTORE_MODEL"] = nil
        env["RSTORE_TOKEN"] = nil
        for (k, v) in environment { env[k] = v }
        stderrFile = logDirectory.appendingPathComponent("serve-\(UUID().uuidString.prefix(6)).log")
        FileManager.default.createFile(atPath: stderrFile.path, contents: nil)
        process.executableURL = RStoreProcess.binary
        process.arguments = ["serve"] + args + (args.contains("--port") ? [] : ["--port", "0"])
        process.environment = env
        let out = Pipe()
        process.standardOutput = out
        process.standardError = try FileHandle(forWritingTo: stderrFile)
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        var text = ""
        let handle = out.fileHandleForReading
        while Date() < deadline, process.isRunning {
            let chunk = handle.availableData
            if chunk.isEmpty {
                Thread.sleep(forTimeInterval: 0.05)
                continue
            }
            text += String(decoding: chunk, as: UTF8.self)
            if let r = text.range(of: "http://127.0.0.1:"), let end = text[r.upperBound...].firstIndex(of: "/") {
                port = Int(text[r.upperBound..<end]) ?? 0
                url = "http://127.0.0.1:\(port)/"
                return
            }
        }
        stop()
        throw ExternalCommand.Failure(description: "rstore serve did not start: \(text) \(stderr)")
    }

    /// What the server wrote to stderr so far (its log).
    public var stderr: String { (try? String(contentsOf: stderrFile, encoding: .utf8)) ?? "" }

    public func stop() {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
    }

    deinit { stop() }
}
