/// Stream facts of the video stream a `VideoReader` decodes.
public struct VideoInfo: Sendable, Codable, Equatable {
    /// A rational number (libav's AVRational), e.g. the stream time base 1/15360.
    public struct Rational: Sendable, Codable, Equatable, Hashable {
        public var num: Int32
        public var den: Int32
        public init(num: Int32, den: Int32) {
            self.num = num
            self.den = den
        }
        public var doubleValue: Double { den == 0 ? 0 : Double(num) / Double(den) }
    }

    /// Path of the file as given.
    public var path: String
    /// Displayed size: after rotation (a 90/270 degree rotation swaps the coded size).
    public var width: Int
    public var height: Int
    /// Size of the decoded pictures, before rotation.
    public var codedWidth: Int
    public var codedHeight: Int
    /// Clockwise rotation applied to decoded pictures for display (0, 90, 180 or 270),
    /// from the stream's display matrix.
    public var rotation: Int
    /// The stream time base: pts values are in units of `timeBase.num / timeBase.den` seconds.
    public var timeBase: Rational
    /// Average frame rate (frames per second), 0 if unknown.
    public var frameRate: Double
    /// Start time of the video stream in seconds (its first pts); sample times are relative to it.
    public var startTime: Double
    /// Duration of the video stream in seconds, as the container reports it (0 if unknown).
    public var duration: Double
    /// libavcodec name of the codec, e.g. "h264".
    public var codecName: String
    /// Index of the chosen stream in the container.
    public var streamIndex: Int
    /// Number of frames, from the container if it says, else duration x frame rate.
    public var frameCountEstimate: Int

    public init(
        path: String, width: Int, height: Int, codedWidth: Int, codedHeight: Int,
        rotation: Int, timeBase: Rational, frameRate: Double, startTime: Double,
        duration: Double, codecName: String, streamIndex: Int, frameCountEstimate: Int
    ) {
        self.path = path
        self.width = width
        self.height = height
        self.codedWidth = codedWidth
        self.codedHeight = codedHeight
        self.rotation = rotation
        self.timeBase = timeBase
        self.frameRate = frameRate
        self.startTime = startTime
        self.duration = duration
        self.codecName = codecName
        self.streamIndex = streamIndex
        self.frameCountEstimate = frameCountEstimate
    }
}
