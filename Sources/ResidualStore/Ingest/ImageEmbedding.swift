import CLIP
import Video

extension CLIPModel {
    /// `image` resized and centre-cropped to the model's input (CLIP's preprocessing).
    public func crop(_ image: RGBImage) -> RGBImage { CLIPPreprocessor.resizeAndCrop(image, size: config.imageSize) }

    /// Projected embeddings of crops already at the model's input size (see `crop`), one row
    /// each: normalised into one batch, through the image tower, split into rows. The one path
    /// from pixels to an I-feature outside the residual encoder (ingest, verify, the tools).
    public func embed(crops: [RGBImage]) -> [[Float]] {
        guard !crops.isEmpty else { return [] }
        let stride = config.imageFloats
        let b = config.embedDim
        var pixels = [Float](repeating: 0, count: crops.count * stride)
        pixels.withUnsafeMutableBufferPointer { buf in
            for (i, c) in crops.enumerated() { CLIPPreprocessor.normalize(c, into: buf.baseAddress! + i * stride) }
        }
        let rows = encodeImages(pixels: pixels, count: crops.count)
        return (0..<crops.count).map { Array(rows[$0 * b..<($0 + 1) * b]) }
    }

    /// Projected embeddings of images of any size (cropped first), one row each.
    public func embed(images: [RGBImage]) -> [[Float]] { embed(crops: images.map(crop)) }
}
