import Foundation

/// Errors of the video/image decoding layer. Every message names the file and, where known,
/// the time (seconds since the stream start) at which decoding failed.
public enum VideoError: Error, CustomStringConvertible, Sendable, Equatable {
    /// No file at that path.
    case fileNotFound(path: String)
    /// The file exists but is empty.
    case emptyFile(path: String)
    /// libavformat cannot open the file (not a media file, unknown container, unreadable).
    case cannotOpen(path: String, reason: String)
    /// The bytes are a container this library does not open (playlists and lists that open
    /// other files, or formats no video archive holds); `format` is libavformat's name for it.
    case containerNotAllowed(path: String, format: String, reason: String)
    /// The file has no video stream (e.g. audio only).
    case noVideoStream(path: String)
    /// The video stream's codec has no decoder in this libavcodec (or the decoder refused it).
    case unsupportedCodec(path: String, codec: String)
    /// The stream declares a picture size that is zero, negative or implausibly large.
    case absurdDimensions(path: String, width: Int, height: Int)
    /// The picture is larger than the caller allows (`ImageFile.load(_:maxPixels:)`), known
    /// from the stream's header before anything is decoded.
    case tooManyPixels(path: String, width: Int, height: Int, limit: Int)
    /// Reading the container failed (I/O error or damaged/truncated data) at `time`.
    case readFailed(path: String, time: Double?, reason: String)
    /// The decoder failed, or produced a damaged (concealed/corrupt) picture, at `time`.
    case decodeFailed(path: String, time: Double?, reason: String)
    /// The file has a video stream but not a single frame could be decoded.
    case noFrames(path: String)
    /// Random access: the frame with this pts was not found when decoding from its seek point.
    case frameNotFound(path: String, pts: Int64, time: Double)
    /// A caller error (e.g. fps <= 0).
    case invalidArgument(path: String, message: String)

    public var path: String {
        switch self {
        case .fileNotFound(let p), .emptyFile(let p), .noVideoStream(let p), .noFrames(let p):
            return p
        case .cannotOpen(let p, _), .unsupportedCodec(let p, _), .invalidArgument(let p, _):
            return p
        case .containerNotAllowed(let p, _, _): return p
        case .tooManyPixels(let p, _, _, _): return p
        case .absurdDimensions(let p, _, _), .readFailed(let p, _, _), .decodeFailed(let p, _, _),
            .frameNotFound(let p, _, _):
            return p
        }
    }

    /// Seconds since the stream start at which the failure happened, where known.
    public var time: Double? {
        switch self {
        case .readFailed(_, let t, _), .decodeFailed(_, let t, _): return t
        case .frameNotFound(_, _, let t): return t
        default: return nil
        }
    }

    public var description: String {
        func at(_ t: Double?) -> String {
            guard let t else { return "" }
            return " at \(Self.formatTime(t))"
        }
        switch self {
        case .fileNotFound(let p):
            return "\(p): no such file"
        case .emptyFile(let p):
            return "\(p): file is empty (0 bytes)"
        case .cannotOpen(let p, let reason):
            return "\(p): cannot open as a video or image file: \(reason)"
        case .containerNotAllowed(let p, let format, let reason):
            return "\(p): refused: the bytes are a '\(format)' file (\(reason)); only video containers "
                + "and single images are opened"
        case .noVideoStream(let p):
            return "\(p): no video stream (audio-only or data-only file)"
        case .unsupportedCodec(let p, let codec):
            return "\(p): unsupported video codec '\(codec)' (no decoder in this libavcodec)"
        case .absurdDimensions(let p, let w, let h):
            return "\(p): implausible picture size \(w)x\(h)"
        case .tooManyPixels(let p, let w, let h, let limit):
            return "\(p): picture of \(w)x\(h) = \(w * h) pixels is over the limit of \(limit) pixels"
        case .readFailed(let p, let t, let reason):
            return "\(p): reading the file failed\(at(t)): \(reason)"
        case .decodeFailed(let p, let t, let reason):
            return "\(p): decoding failed\(at(t)): \(reason)"
        case .noFrames(let p):
            return "\(p): the video stream has no decodable frames"
        case .frameNotFound(let p, let pts, let t):
            return "\(p): frame with pts \(pts) (\(Self.formatTime(t))) not found when seeking to it"
        case .invalidArgument(let p, let message):
            return "\(p): \(message)"
        }
    }

    static func formatTime(_ t: Double) -> String {
        let ms = Int((t * 1000).rounded())
        let s = ms / 1000
        let m = s / 60
        let h = m / 60
        let frac = String(format: "%03d", ms % 1000)
        let hms = h > 0 ? String(format: "%d:%02d:%02d", h, m % 60, s % 60) : String(format: "%d:%02d", m, s % 60)
        return "\(hms).\(frac) (\(String(format: "%.3f", t)) s)"
    }
}
