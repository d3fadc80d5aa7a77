/// Cosine similarity of row pairs, in Double: how close P-features come to full CLIP, reported
/// by training (CLIPTraining) and by `eval fidelity` (the engine), which must not link training.
public enum Similarity {
    /// cos(a_i, b_i) for each row i of two [rows, dim] matrices (0 where a row is all zeros).
    public static func rowCosines(_ a: [Float], _ b: [Float], dim: Int) -> [Float] {
        precondition(a.count == b.count)
        return (0..<(dim == 0 ? 0 : a.count / dim)).map { i in
            var ab = 0.0
            var aa = 0.0
            var bb = 0.0
            for k in 0..<dim {
                let x = Double(a[i * dim + k])
                let y = Double(b[i * dim + k])
                ab += x * y
                aa += x * x
                bb += y * y
            }
            return aa > 0 && bb > 0 ? Float(ab / (aa * bb).squareRoot()) : 0
        }
    }
}
