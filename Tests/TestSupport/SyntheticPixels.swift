import Foundation

/// Inputs the Python fixture scripts compute too, so Swift and the reference see the same pixels.
public enum SyntheticPixels {
    /// The closed-form pixels of Tools/fixtures/make_clip_fixture.py's `synthetic_pixels`.
    public static func make(count n: Int, size: Int) -> [Float] {
        var out = [Float](repeating: 0, count: n * 3 * size * size)
        var i = 0
        for b in 0..<n {
            for c in 0..<3 {
                for y in 0..<size {
                    for x in 0..<size {
                        let v =
                            1.5 * sin(0.05 * Double(x) * Double(b + 1) + 0.07 * Double(y) + Double(c))
                            + 0.3 * cos(0.9 * Double((x * y) % 17))
                        out[i] = Float(v)
                        i += 1
                    }
                }
            }
        }
        return out
    }
}
