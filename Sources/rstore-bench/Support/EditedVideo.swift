import Foundation

/// A generated "edited" video: clips of different lavfi content cut together every 2-7 s, with
/// the cut times known exactly, for measuring shot-cut detection and what adaptive I-frames
/// gain after cuts. The encoder is told not to place keyframes at scene changes
/// (`-sc_threshold 0`, fixed GOP), so every cut must be found from the pixels.
struct EditedVideo {
    /// Moving lavfi scenes at 640x360, 25 fps; consecutive clips never repeat a scene.
    static let scenes = [
        "testsrc2=size=640x360:rate=25",
        "mandelbrot=size=640x360:rate=25",
        "life=size=640x360:rate=25:mold=10:ratio=0.1:death_color=#C83232:life_color=#00ff00",
        "cellauto=size=640x360:rate=25:rule=110",
        "smptehdbars=size=640x360:rate=25,hue=H=0.3*t",
        "gradients=size=640x360:rate=25:speed=0.02",
        "rgbtestsrc=size=640x360:rate=25,rotate=a=0.2*t",
        "testsrc=size=640x360:rate=25,negate",
        "testsrc2=size=640x360:rate=25,hue=h=120:s=1.5",
        "gradients=size=640x360:rate=25:speed=0.05:seed=7:type=radial",
    ]

    struct Clip: Equatable {
        var scene: Int
        /// Seconds, a whole number of 25 fps frames.
        var duration: Double
    }

    let clips: [Clip]

    /// Times of the cuts (the start of every clip after the first), in seconds.
    var cuts: [Double] {
        var t = 0.0
        var out: [Double] = []
        for c in clips.dropLast() {
            t += c.duration
            out.append(t)
        }
        return out
    }
    var duration: Double { clips.reduce(0) { $0 + $1.duration } }

    /// Clips of 2-7 s until `seconds` is reached, drawn from `seed` (the same seed, the same video).
    init(seconds: Double, seed: UInt64) {
        var state = seed
        func next() -> UInt64 {  // SplitMix64: a tiny, well-mixed, reproducible generator
            state &+= 0x9e37_79b9_7f4a_7c15
            var z = state
            z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
            z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
            return z ^ (z >> 31)
        }
        var clips: [Clip] = []
        var total = 0.0
        var last = -1
        while total < seconds {
            var scene = Int(next() % UInt64(Self.scenes.count))
            if scene == last { scene = (scene + 1) % Self.scenes.count }
            let frames = 50 + Int(next() % 126)  // 2.00 ... 7.00 s at 25 fps
            clips.append(Clip(scene: scene, duration: Double(frames) / 25))
            total += Double(frames) / 25
            last = scene
        }
        self.clips = clips
    }

    /// One continuous clip per listed scene with no cut: the control for false cuts.
    init(uncut scenes: [Int], secondsEach: Double) {
        clips = scenes.map { Clip(scene: $0, duration: secondsEach) }
    }

    /// Writes the video with the ffmpeg CLI (H.264, fixed 10 s GOP, no scene-cut keyframes).
    func write(to url: URL) throws {
        var args = ["-v", "error", "-y"]
        var graph = ""
        for (i, c) in clips.enumerated() {
            args += ["-f", "lavfi", "-t", String(format: "%.2f", c.duration), "-i", Self.scenes[c.scene]]
            graph += "[\(i):v]format=yuv420p,setsar=1[v\(i)];"
        }
        graph += (0..<clips.count).map { "[v\($0)]" }.joined() + "concat=n=\(clips.count):v=1:a=0[out]"
        args += [
            "-filter_complex", graph, "-map", "[out]", "-c:v", "libx264", "-preset", "ultrafast",
            "-g", "250", "-keyint_min", "250", "-sc_threshold", "0", "-pix_fmt", "yuv420p", url.path,
        ]
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["ffmpeg"] + args
        let err = Pipe()
        p.standardError = err
        try p.run()
        let message = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw BenchError(
                """
                ffmpeg could not generate \(url.lastPathComponent): \
                \(String(decoding: message, as: UTF8.self).prefix(500))
                """
            )
        }
    }
}

/// A benchmark that could not run (a missing tool, a failed generation).
struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
