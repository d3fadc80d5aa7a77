/// A decoded picture as packed RGB24: row-major, 3 bytes per pixel (R, G, B), no row padding,
/// so `pixels.count == width * height * 3`.
public struct RGBImage: Sendable, Equatable {
    public var width: Int
    public var height: Int
    /// Packed RGB24, row-major, no padding.
    public var pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width >= 0 && height >= 0, "RGBImage: negative size \(width)x\(height)")
        precondition(
            pixels.count == width * height * 3,
            "RGBImage: \(pixels.count) bytes for \(width)x\(height) (expected \(width * height * 3))")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// The pixel at column `x`, row `y` as (r, g, b).
    @inlinable
    public subscript(x: Int, y: Int) -> (r: UInt8, g: UInt8, b: UInt8) {
        let i = (y * width + x) * 3
        return (pixels[i], pixels[i + 1], pixels[i + 2])
    }
}
