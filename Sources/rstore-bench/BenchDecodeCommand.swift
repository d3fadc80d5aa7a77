import ArgumentParser
import Foundation
import Video

/// `rstore bench decode FILE`: sampled frames/s of decode + sample + RGB conversion + 224x224
/// resize (CLIPPreprocessor.resizeAndCrop), against `ffmpeg -vf fps=N,scale=224:224 -f null -`
/// timed in the same run.
struct BenchDecodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode",
        abstract: "Sampled frames/s of decode+sample+RGB+resize vs the ffmpeg CLI on the same file.")

    @Argument(help: "Video file.") var file: String
    @Option(help: "Sampling rate (frames per second).") var fps = 2.0
    @Option(help: "Decoder threads (0 = libav's choice).") var threads = 0
    @Flag(help: "Decode every frame (disable skipping of non-reference frames that are not sampled).")
    var noSkip = false
    @Flag(help: "Skip the ffmpeg CLI comparison.") var noFfmpeg = false
    @Flag(help: "Diagnostics: do not resize to 224x224 (decode + RGB only).") var noResize = false
    @Flag(help: "Print one JSON object.") var json = false

    func validate() throws {
        guard fps.isFinite && fps > 0 && fps <= 1000 else { throw ValidationError("--fps must be in (0, 1000]") }
        guard threads >= 0 && threads <= 64 else { throw ValidationError("--threads must be in 0...64") }
    }

    struct Result: Encodable {
        let frames: Int
        let seconds: Double
        let ffmpeg_seconds: Double?
        let ratio: Double?
    }

    func run() async throws {
        let url = URL(fileURLWithPath: file)
        let clock = ContinuousClock()
        let start = clock.now
        let reader = try VideoReader(url: url, threads: threads)
        var frames = 0
        var checksum = 0
        // Decode thread -> bounded buffer -> this task resizes (as the indexer's preprocessing does).
        for try await f in reader.frames(fps: fps, bufferSize: 8, skipNonReference: !noSkip) {
            if noResize {
                checksum &+= Int(f.image.pixels[f.image.pixels.count / 2])
            } else {
                let small = CLIPPreprocessor.resizeAndCrop(f.image, size: 224)
                checksum &+= Int(small.pixels[small.pixels.count / 2])
            }
            frames += 1
        }
        let ours = secondsOf(clock.now - start)
        var ffmpegSeconds: Double? = nil
        if !noFfmpeg {
            ffmpegSeconds = try Self.timeFFmpeg(file: file, fps: fps)
        }
        let ratio = ffmpegSeconds.map { $0 / ours }
        let result = Result(frames: frames, seconds: ours, ffmpeg_seconds: ffmpegSeconds, ratio: ratio)
        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.sortedKeys]
            print(String(decoding: try enc.encode(result), as: UTF8.self))
        } else {
            let i = reader.info
            print(
                """
                \(file): \(i.codecName) \(i.width)x\(i.height), \(String(format: "%.1f", i.duration)) s at \
                \(String(format: "%.2f", i.frameRate)) fps
                """
            )
            print(
                String(
                    format:
                        """
                        rstore: %d sampled frames at %g fps in %.3f s = %.1f frames/s (decode + RGB24%@, skip \
                        non-ref: %@)
                        """,
                    frames, fps, ours, Double(frames) / ours, noResize ? "" : " + resize 224", noSkip ? "off" : "on"))
            if let ff = ffmpegSeconds, let ratio {
                print(
                    String(
                        format: "ffmpeg -vf fps=%g,scale=224:224 -f null: %.3f s; ratio ffmpeg/rstore = %.2f", fps, ff,
                        ratio))
            }
            _ = checksum
        }
    }

    /// Wall time of `ffmpeg -v error -i FILE -vf fps=N,scale=224:224 -f null -`.
    static func timeFFmpeg(file: String, fps: Double) throws -> Double {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [
            "ffmpeg", "-nostdin", "-v", "error", "-i", file, "-vf", "fps=\(fps),scale=224:224", "-f", "null", "-",
        ]
        p.standardOutput = FileHandle.nullDevice
        let clock = ContinuousClock()
        let start = clock.now
        try p.run()
        p.waitUntilExit()
        let t = secondsOf(clock.now - start)
        guard p.terminationStatus == 0 else {
            throw ValidationError(
                "ffmpeg failed on \(file) (status \(p.terminationStatus)); use --no-ffmpeg to skip the comparison")
        }
        return t
    }
}

private func secondsOf(_ d: Duration) -> Double {
    let c = d.components
    return Double(c.seconds) + Double(c.attoseconds) / 1e18
}
