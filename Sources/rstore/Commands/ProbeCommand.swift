import ArgumentParser
import Foundation
import Video

/// `rstore probe FILE`: the video stream's facts and the sampled frames' offsets.
struct ProbeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe",
        abstract: "Print a video's stream facts and its sampled frames (index, pts, time, seek point).")

    @Argument(help: "Video file.") var file: String
    @Option(help: "Sampling rate (frames per second).") var fps = 2.0
    @Flag(help: "Print one JSON object.") var json = false

    func validate() throws {
        guard fps.isFinite && fps > 0 && fps <= 1000 else { throw ValidationError("--fps must be in (0, 1000]") }
    }

    struct Output: Encodable {
        let info: VideoInfo
        let fps: Double
        let frames: [FrameOffset]
        /// Set when decoding failed part-way (the frames before the failure are listed).
        let error: String?
    }

    func run() async throws {
        let reader = try VideoReader(url: URL(fileURLWithPath: file))
        var offsets: [FrameOffset] = []
        var failure: Error? = nil
        do {
            try reader.forEachOffset(fps: fps) { offsets.append($0) }
        } catch {
            failure = error   // print what was sampled before it, then fail
        }
        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.sortedKeys]
            print(String(decoding: try enc.encode(Output(info: reader.info, fps: fps, frames: offsets, error: failure.map { "\($0)" })), as: UTF8.self))
            if let failure { throw failure }
            return
        }
        let i = reader.info
        print("file:        \(i.path)")
        print("stream:      #\(i.streamIndex) \(i.codecName)")
        print("size:        \(i.width)x\(i.height) (coded \(i.codedWidth)x\(i.codedHeight), rotation \(i.rotation))")
        print("time base:   \(i.timeBase.num)/\(i.timeBase.den)")
        print(String(format: "frame rate:  %.4f fps (about %d frames)", i.frameRate, i.frameCountEstimate))
        print(String(format: "start:       %.6f s", i.startTime))
        print(String(format: "duration:    %.6f s", i.duration))
        print("samples:     \(offsets.count) at \(fps) fps")
        print("index         pts       time    seek_pts")
        for o in offsets {
            print(String(format: "%5d %11lld %10.4f %11lld", o.index, o.pts, o.time, o.seekPTS))
        }
        if let failure {
            FileHandle.standardError.write(Data("error: \(failure)\n".utf8))
            throw ExitCode.failure
        }
    }
}
