import Foundation
import Video

extension MotionSource {
    /// A video row's source: NULL, from rows indexed before migration 0005, is the pixel
    /// difference (the only signal then), so those rows reconstruct the patches they always did.
    init(stored: String?) {
        self = stored.flatMap(MotionSource.init(rawValue:)) ?? .pixels
    }

    /// The source a new index of the file behind `reader` uses when `preferred` is wanted:
    /// vectors only where its codec exports them.
    static func of(_ reader: VideoReader, preferring preferred: MotionSource) -> MotionSource {
        preferred == .vectors && reader.exportsMotionVectors ? .vectors : .pixels
    }
}
