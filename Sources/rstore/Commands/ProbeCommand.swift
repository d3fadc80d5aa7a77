import ArgumentParser
import Foundation
import ResidualStore

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

    func run() async throws {
        let probe = try VideoProbe(URL(fileURLWithPath: file), fps: fps)
        let offsets = probe.frames
        let failure = probe.failure
        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.sortedKeys]
            print(String(decoding: try enc.encode(probe), as: UTF8.self))
            if let failure { throw failure }
            return
        }
        let i = probe.info
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
