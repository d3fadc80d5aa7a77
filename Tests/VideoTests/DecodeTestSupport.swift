import Foundation
import TestSupport
import XCTest

@testable import Video

/// Helpers for the decoding tests: generated videos, every sampled frame, ffmpeg/ffprobe references.
/// (Temp dirs, the ffmpeg CLI and the sample videos are TestSupport's.)
enum DecodeTestSupport {
    /// Generates a short test video with a lavfi source. `extra` goes before the output name.
    static func makeVideo(
        _ dir: URL, _ name: String, source: String = "testsrc2=size=160x120:rate=30",
        seconds: Double = 3, codec: [String] = ["-c:v", "libx264", "-preset", "veryfast"],
        extra: [String] = [], inputExtra: [String] = []
    ) throws -> URL {
        let url = dir.appendingPathComponent(name)
        try ExternalCommand.ffmpeg(
            inputExtra + ["-f", "lavfi", "-i", source, "-t", String(seconds)] + codec + extra + [url.path])
        return url
    }

    /// Reads all sampled frames synchronously.
    static func sampleAll(_ url: URL, fps: Double = 2, skipNonReference: Bool = true) throws -> [SampledFrame] {
        let reader = try VideoReader(url: url)
        var frames: [SampledFrame] = []
        try reader.forEachFrame(fps: fps, skipNonReference: skipNonReference) { frames.append($0) }
        return frames
    }

    /// Every decoded frame's timestamp (presentation order) via ffprobe-free libav pass, plus pixels.
    static func rawRGB(_ url: URL, width: Int, height: Int, vf: String? = nil) throws -> [UInt8] {
        var args = ["-i", url.path]
        if let vf { args += ["-vf", vf] }
        args += [
            "-vsync", "passthrough", "-sws_flags", "bicubic+accurate_rnd+full_chroma_int", "-pix_fmt", "rgb24", "-f",
            "rawvideo", "-",
        ]
        return [UInt8](try ExternalCommand.ffmpeg(args))
    }
}

extension DecodeTestSupport {
    struct ProbedFrame {
        let ts: Int64
        let key: Bool
    }

    /// Every frame's best-effort timestamp in presentation order, from the ffprobe CLI
    /// (an independent reference for the sampling rule).
    static func ffprobeFrames(_ url: URL) throws -> (frames: [ProbedFrame], startPTS: Int64?, timeBase: (Int64, Int64))
    {
        guard let ff = ExternalCommand.ffmpegPath else { throw XCTSkip("ffmpeg CLI not found") }
        let probe = URL(fileURLWithPath: ff).deletingLastPathComponent().appendingPathComponent("ffprobe").path
        let s = String(
            decoding: try ExternalCommand.run(
                probe,
                [
                    "-v", "error", "-select_streams", "v:0", "-show_entries",
                    "stream=start_pts,time_base", "-of", "default=nw=1", url.path,
                ]), as: UTF8.self)
        var start: Int64? = nil
        var tb: (Int64, Int64) = (1, 1)
        for line in s.split(separator: "\n") {
            let kv = line.split(separator: "=", maxSplits: 1).map(String.init)
            guard kv.count == 2 else { continue }
            if kv[0] == "start_pts" { start = Int64(kv[1]) }
            if kv[0] == "time_base" {
                let p = kv[1].split(separator: "/").compactMap { Int64($0) }
                if p.count == 2 { tb = (p[0], p[1]) }
            }
        }
        let f = String(
            decoding: try ExternalCommand.run(
                probe,
                [
                    "-v", "error", "-select_streams", "v:0", "-show_entries",
                    "frame=best_effort_timestamp,key_frame", "-of", "csv=p=0", url.path,
                ]), as: UTF8.self)
        var frames: [ProbedFrame] = []
        for line in f.split(separator: "\n") {
            let parts = line.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
            guard parts.count >= 2, let key = Int(parts[0]) else { continue }
            var ts = Int64(parts[1])
            if ts == nil, let last = frames.last?.ts {
                // No timestamp at all (e.g. the last frame of AVI + B-frames): one frame step on.
                let step = frames.count >= 2 ? last - frames[frames.count - 2].ts : 1
                ts = last + max(step, 1)
            }
            guard let ts else { continue }
            frames.append(ProbedFrame(ts: ts, key: key != 0))
        }
        return (frames, start, tb)
    }

    /// The previous-frame rule computed independently: for k = 0, 1, ... while t_k <= last pts,
    /// the last frame (presentation order) with pts <= t_k, else the first frame.
    static func expectedSamplePTS(_ url: URL, fps: Int64 = 2) throws -> [Int64] {
        let (frames, startPTS, tb) = try ffprobeFrames(url)
        guard !frames.isEmpty else { return [] }
        let start = startPTS ?? frames[0].ts
        let sorted = frames.map(\.ts)  // already presentation order
        let last = sorted.last!
        // t_k <= pts  <=>  k * tb.den <= (pts - start) * tb.num * fps
        func le(_ k: Int64, _ pts: Int64) -> Bool { k * tb.1 <= (pts - start) * tb.0 * fps }
        var out: [Int64] = []
        var k: Int64 = 0
        while le(k, last) || k == 0 {
            var j = 0
            var chosen: Int64? = nil
            while j < sorted.count {
                // pts <= t_k  <=>  (pts - start) * tb.num * fps <= k * tb.den
                if (sorted[j] - start) * tb.0 * fps <= k * tb.1 { chosen = sorted[j] }
                j += 1
            }
            out.append(chosen ?? sorted[0])
            k += 1
            if k > 100_000 { break }
        }
        return out
    }
}

/// Small generated videos covering the odd cases, made once per test process with the ffmpeg
/// CLI (a few seconds each, tiny sizes) and shared by the test classes.
enum TestVideos {
    static let dir: URL = {
        let d = try! TempDirectory.make("videos")
        XCTestObservationCenter.shared.addTestObserver(RemoveAtEnd(d))
        return d
    }()

    /// Removes the generated videos when the test bundle finishes.
    final class RemoveAtEnd: NSObject, XCTestObservation {
        let url: URL
        init(_ url: URL) { self.url = url }
        func testBundleDidFinish(_ testBundle: Bundle) {
            try? FileManager.default.removeItem(at: url)
        }
    }

    /// Small generated videos covering the odd cases (cached across tests in this class).
    nonisolated(unsafe) static var cache: [String: URL] = [:]
    static let cacheLock = NSLock()

    static func video(_ name: String) throws -> URL {
        cacheLock.lock()
        defer { cacheLock.unlock() }
        if let u = cache[name] { return u }
        let d = dir
        let u: URL
        switch name {
        case "bframes.mp4":  // B-pyramid, 30 fps, GOP 30
            u = try DecodeTestSupport.makeVideo(
                d, name, seconds: 4,
                extra: ["-g", "30", "-bf", "3", "-pix_fmt", "yuv420p"])
        case "vfr.mp4":  // variable frame rate: 30 fps, a gap, then frames held 0.7 s each
            u = try DecodeTestSupport.makeVideo(
                d, name, seconds: 4,
                extra: [
                    "-vf", "select='not(between(n,10,14))',setpts='if(lt(N,25),N/30,1+(N-25)*0.7)/TB'",
                    "-vsync", "vfr", "-frames:v", "31", "-g", "12", "-bf", "2", "-pix_fmt", "yuv420p",
                ])
        case "start.ts":  // MPEG-TS: non-zero start time (1.4 s), B-frames
            u = try DecodeTestSupport.makeVideo(
                d, name, seconds: 3, extra: ["-g", "20", "-bf", "2", "-pix_fmt", "yuv420p"])
        case "offset.mkv":  // explicit 10 s offset
            u = try DecodeTestSupport.makeVideo(
                d, name, seconds: 3, extra: ["-g", "25", "-bf", "2", "-pix_fmt", "yuv420p", "-output_ts_offset", "10"])
        case "mpeg4.avi":
            u = try DecodeTestSupport.makeVideo(
                d, name, seconds: 3, codec: ["-c:v", "mpeg4", "-q:v", "4", "-bf", "2", "-g", "24"])
        case "vp9.webm":
            u = try DecodeTestSupport.makeVideo(
                d, name, seconds: 3,
                codec: ["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-g", "30", "-b:v", "300k"])
        case "hevc.mp4":
            u = try DecodeTestSupport.makeVideo(
                d, name, seconds: 3,
                codec: [
                    "-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=none:keyint=30:bframes=3",
                ])
        case "25fps.mp4":  // 25 fps: sample instants fall between frames
            u = try DecodeTestSupport.makeVideo(
                d, name, source: "testsrc2=size=128x96:rate=25", seconds: 3,
                extra: ["-g", "50", "-bf", "2", "-pix_fmt", "yuv420p"])
        case "rawh264.h264":  // elementary stream: no container timestamps
            u = try DecodeTestSupport.makeVideo(
                d, name, seconds: 3, extra: ["-g", "30", "-bf", "0", "-pix_fmt", "yuv420p"])
        default:
            fatalError("unknown test video \(name)")
        }
        cache[name] = u
        return u
    }

    static let generated = [
        "bframes.mp4", "vfr.mp4", "start.ts", "offset.mkv", "mpeg4.avi", "vp9.webm", "hevc.mp4", "25fps.mp4",
    ]

}
