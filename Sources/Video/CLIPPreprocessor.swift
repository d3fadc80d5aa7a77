/// CLIP image preprocessing, exactly as Hugging Face `CLIPImageProcessor` (transformers 4.46.3) with
/// the OpenAI CLIP defaults does it:
///
/// 1. resize so the shortest side is `size`: the other side is `Int(size * long / short)` (Python
///    `int()` truncation), with Pillow bicubic on the uint8 image (`BicubicResampler`, bit-exact);
/// 2. center crop `size x size` at `((w - size) / 2, (h - size) / 2)` (floor division);
/// 3. `x = Float(Double(v) * (1 / 255))`, then `(x - mean[c]) / std[c]` in Float, laid out CHW.
///
/// Only the pixels the crop keeps are computed (see `BicubicResampler`).
public enum CLIPPreprocessor {
    public static let mean: [Float] = [0.48145466, 0.4578275, 0.40821073]
    public static let std: [Float] = [0.26862954, 0.26130258, 0.27577711]

    /// `(width, height)` after the shortest-edge resize (`get_resize_output_image_size`,
    /// `default_to_square=False`).
    public static func resizedSize(width: Int, height: Int, shortestEdge size: Int) -> (width: Int, height: Int) {
        precondition(width > 0 && height > 0 && size > 0, "resizedSize: sizes must be positive")
        let (short, long) = width <= height ? (width, height) : (height, width)
        let newLong = Int(Double(size * long) / Double(short))  // Python: int(size * long / short)
        return width <= height ? (size, newLong) : (newLong, size)
    }

    /// Shortest side -> `size` with Pillow bicubic (antialiased on downscale, a = -0.5, fixed point,
    /// rounding and clamping as Pillow), then center crop `size x size`. Returns uint8 RGB `size x size`.
    public static func resizeAndCrop(_ image: RGBImage, size: Int = 224) -> RGBImage {
        let (w, h) = resizedSize(width: image.width, height: image.height, shortestEdge: size)
        // center_crop: top = (orig_height - crop_height) // 2; the resized image is never smaller than
        // the crop (its short side is `size`, its long side >= `size`), so no padding case.
        let left = (w - size) / 2
        let top = (h - size) / 2
        return BicubicResampler.resize(
            image, width: w, height: h,
            cropX: left, cropY: top, cropWidth: size, cropHeight: size)
    }

    /// Per channel, the normalised value of every uint8 level:
    /// `(Float(Double(v) * (1/255)) - mean[c]) / std[c]`, computed exactly as numpy does it in HF
    /// (`rescale` multiplies in float64 and casts to float32; `normalize` runs in float32).
    static let lookup: [Float] = {
        var t = [Float](repeating: 0, count: 3 * 256)
        let factor = 1.0 / 255.0
        for c in 0..<3 {
            for v in 0..<256 {
                let x = Float(Double(v) * factor)
                t[c * 256 + v] = (x - mean[c]) / std[c]
            }
        }
        return t
    }()

    /// uint8 RGB (`size x size`) -> float CHW `[3, size, size]`, `(x/255 - mean) / std` —
    /// exactly the reference `pixel_values`.
    public static func normalize(_ image: RGBImage) -> [Float] {
        let n = image.width * image.height * 3
        return [Float](unsafeUninitializedCapacity: n) { buf, count in
            normalize(image, into: buf.baseAddress!)
            count = n
        }
    }

    /// Writes the CHW `[3, height, width]` normalised tensor of `image` into `into`
    /// (for batching without copies). `into` must have room for `width * height * 3` floats.
    public static func normalize(_ image: RGBImage, into: UnsafeMutablePointer<Float>) {
        let plane = image.width * image.height
        lookup.withUnsafeBufferPointer { lut in
            image.pixels.withUnsafeBufferPointer { px in
                let l0 = lut.baseAddress!
                let l1 = l0 + 256
                let l2 = l0 + 512
                let o0 = into
                let o1 = into + plane
                let o2 = into + 2 * plane
                for i in 0..<plane {
                    o0[i] = l0[Int(px[3 * i])]
                    o1[i] = l1[Int(px[3 * i + 1])]
                    o2[i] = l2[Int(px[3 * i + 2])]
                }
            }
        }
    }
}
