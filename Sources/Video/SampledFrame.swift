/// One sampled frame of a video: where it is (`offset`) and its pixels (RGB24, rotation applied).
public struct SampledFrame: Sendable {
    public let offset: FrameOffset
    public let image: RGBImage

    public init(offset: FrameOffset, image: RGBImage) {
        self.offset = offset
        self.image = image
    }
}
