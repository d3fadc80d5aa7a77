import CFFmpeg
import Foundation

/// Still images (PNG, JPEG, and anything else libavformat's image demuxers read).
public enum ImageFile {
    /// Reads the first picture of an image file through libavformat/libavcodec and converts it to
    /// packed RGB24 with the same swscale settings as video frames (an alpha channel is dropped;
    /// EXIF orientation is not applied).
    /// With `maxPixels`, a picture whose header declares more pixels is refused
    /// (`VideoError.tooManyPixels`) before it is decoded, and the decoder itself refuses larger
    /// frames (its `max_pixels`), so a small file declaring a huge picture allocates nothing.
    public static func load(_ url: URL, maxPixels: Int? = nil) throws -> RGBImage {
        let input = try MediaInput(url: url, threads: 1, requireVideo: false, maxPixels: maxPixels)
        guard try input.nextFrame() != nil, let frame = input.frame else {
            throw VideoError.noFrames(path: url.path)
        }
        defer { av_frame_unref(frame) }
        return try RGBConverter().convert(frame, rotation: 0, path: url.path)
    }
}
