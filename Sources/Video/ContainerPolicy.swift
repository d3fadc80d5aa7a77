import CFFmpeg
import Foundation

/// Which demuxers may open a file. libavformat picks the demuxer from the bytes, not the name:
/// a playlist saved as `x.mp4` would open the files it lists (anywhere on the disk), and so
/// would a concat list or an image-sequence pattern. Inputs are therefore probed first, the
/// demuxer checked against the containers a video archive holds, and only then opened, with
/// the file protocol alone.
enum ContainerPolicy {
    /// Demuxers (libavformat's names) that read one file and open nothing else.
    static let videoContainers: Set<String> = [
        "mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm", "avi", "mpegts", "mpeg", "mpegvideo", "flv",
        "asf", "ogg", "nut", "mxf", "rm", "dv", "yuv4mpegpipe", "h264", "hevc", "m4v", "ivf",
        "obu", "vc1", "h263", "mjpeg", "gif",
    ]
    /// Single-picture demuxers, for images (`encode --image`): each reads one file.
    static let imageContainers: Set<String> = [
        "png_pipe", "jpeg_pipe", "bmp_pipe", "webp_pipe", "tiff_pipe", "ppm_pipe", "pgm_pipe",
        "pam_pipe", "qoi_pipe", "gif",
        // Picked for `.jpg`/`.png` names; opened with `pattern_type=none`, so a `%d` or a glob
        // in the name is read literally, never expanded into a sequence of other files.
        "image2",
    ]
    /// Demuxers known to open further files or URLs: named in the refusal so the user learns why.
    static let referencing: [String: String] = [
        "hls": "an HLS playlist", "concat": "a concat list", "dash": "a DASH manifest",
        "mpjpeg": "a multipart stream",
        "sdp": "a session description", "rtsp": "a stream URL", "tee": "a tee list",
    ]

    static let allowed: Set<String> = videoContainers.union(imageContainers)
    /// libavformat's `format_whitelist`, the same list (a second fence if a demuxer is swapped).
    static let whitelist: String = allowed.sorted().joined(separator: ",")

    /// The demuxer libavformat would choose for `path`, refused unless it is allowed.
    static func check(path: String) throws -> UnsafePointer<AVInputFormat> {
        var fmt: UnsafePointer<AVInputFormat>? = nil
        let r = rstore_probe_container(path, &fmt)
        if r < 0 {
            if r == rstore_averror_enoent() { throw VideoError.fileNotFound(path: path) }
            throw VideoError.cannotOpen(path: path, reason: LibAV.errorString(r))
        }
        guard let fmt else { throw VideoError.cannotOpen(path: path, reason: "unknown container") }
        let name = String(cString: fmt.pointee.name)
        guard allowed.contains(name) else {
            let what =
                referencing[name].map { "\($0), which opens other files" }
                ?? "not a container a video library indexes"
            throw VideoError.containerNotAllowed(path: path, format: name, reason: what)
        }
        return fmt
    }

    /// Whether this libavformat has a demuxer of that name (the allow-list is checked against it).
    static func isKnownDemuxer(_ name: String) -> Bool {
        var cursor: UnsafeMutableRawPointer? = nil
        while let f = av_demuxer_iterate(&cursor) {
            if String(cString: f.pointee.name) == name { return true }
        }
        return false
    }
}
