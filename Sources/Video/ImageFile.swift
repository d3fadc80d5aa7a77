import CFFmpeg
import Foundation

/// Still images (PNG, JPEG, and anything else libavformat's image demuxers read).
public enum ImageFile {
    /// Reads the first picture of an image file through libavformat/libavcodec and converts it to
    /// packed RGB24 with the same swscale settings as video frames (an alpha channel is dropped;
    /// EXIF orientation is not applied).
    public static func load(_ url: URL) throws -> RGBImage {
        let input = try MediaInput(url: url, threads: 1, requireVideo: false)
        guard try input.nextFrame() != nil, let frame = input.frame else {
            throw VideoError.noFrames(path: url.path)
        }
        defer { av_frame_unref(frame) }
        return try RGBConverter().convert(frame, rotation: 0, path: url.path)
    }
}
