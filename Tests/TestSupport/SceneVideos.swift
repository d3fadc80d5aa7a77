import Foundation

/// Generated videos of three visibly different scenes (test pattern, fractal, colour bars), so
/// a similarity curve has structure: the search and grounding tests' material.
public enum SceneVideos {
    /// `scenes.mp4` in `dir`: each scene `seconds` long at `size` and `rate`, H.264 with two
    /// B-frames and a keyframe every `gop` frames.
    public static func threeScenes(
        in dir: URL, size: String = "160x120", rate: Int = 10, seconds: Int = 4, gop: Int = 40
    ) throws -> URL {
        let url = dir.appendingPathComponent("scenes.mp4")
        try ExternalCommand.ffmpeg([
            "-f", "lavfi", "-i", "testsrc2=size=\(size):rate=\(rate):duration=\(seconds)",
            "-f", "lavfi", "-i", "mandelbrot=size=\(size):rate=\(rate),trim=duration=\(seconds)",
            "-f", "lavfi", "-i", "smptebars=size=\(size):rate=\(rate):duration=\(seconds)",
            "-filter_complex", "[0:v][1:v][2:v]concat=n=3:v=1:a=0,format=yuv420p",
            "-c:v", "libx264", "-g", "\(gop)", "-bf", "2", url.path,
        ])
        return url
    }
}
