import Foundation
import XCTest

/// Runs the command-line tools tests compare against or make inputs with (ffmpeg, ffprobe).
public enum ExternalCommand {
    /// A tool that exited with a failure status; names the command line and its stderr.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Runs `exe` to the end (environment: the caller's when nil) and returns its exit status,
    /// stdout and stderr.
    public static func capture(_ exe: URL, _ args: [String], environment: [String: String]? = nil)
        throws -> (status: Int32, stdout: Data, stderr: Data)
    {
        let p = Process()
        p.executableURL = exe
        p.arguments = args
        if let environment { p.environment = environment }
        let out = Pipe()
        let err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        // Read both pipes concurrently enough: stdout first (may be large), then stderr.
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, data, errData)
    }

    /// Runs `exe` and returns its stdout; a failure status throws `Failure` with stderr's tail.
    @discardableResult
    public static func run(_ exe: String, _ args: [String]) throws -> Data {
        let r = try capture(URL(fileURLWithPath: exe), args)
        if r.status != 0 {
            throw Failure(
                description: "\(exe) \(args.joined(separator: " ")) failed (\(r.status)): "
                    + String(decoding: r.stderr.suffix(2000), as: UTF8.self))
        }
        return r.stdout
    }

    /// The tool's path on $PATH, if any.
    public static func find(_ tool: String) -> String? {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":") {
            let p = "\(dir)/\(tool)"
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return nil
    }

    public static var ffmpegPath: String? { find("ffmpeg") }

    /// Runs the ffmpeg CLI (tests only, to make inputs and references); skips the test when
    /// ffmpeg is not installed and CI is unset.
    @discardableResult
    public static func ffmpeg(_ args: [String]) throws -> Data {
        guard let exe = ffmpegPath else {
            if ProcessInfo.processInfo.environment["CI"] != nil { XCTFail("ffmpeg CLI not found") }
            throw XCTSkip("ffmpeg CLI not found")
        }
        return try run(exe, ["-hide_banner", "-nostdin", "-v", "error", "-y"] + args)
    }
}
