/// One sampled frame of a video: where it is (`offset`) and its pixels (RGB24, rotation applied).
public struct SampledFrame: Sendable {
    public let offset: FrameOffset
    public let image: RGBImage
    /// Codec motion since the previous sample (nil unless the pass was asked to measure it).
    public let motion: PatchMotion?

    public init(offset: FrameOffset, image: RGBImage, motion: PatchMotion? = nil) {
        self.offset = offset
        self.image = image
        self.motion = motion
    }
}
