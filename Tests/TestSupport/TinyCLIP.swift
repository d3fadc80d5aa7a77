import CLIP

/// The tiny CLIP, loaded once per test process and shared by every test that runs a model.
public enum TinyCLIP {
    public static let model = Result { try CLIPModel(directory: TestPaths.tinyCLIP) }

    /// A residual tokenizer A for `model` that is not zero: weights normal(0, 1) x `scale` from
    /// `seed`, a constant `bias`, so a test sees the residual token change the P-features.
    public static func randomTokenizer(for model: CLIPModel, seed: UInt64, scale: Float, bias: Float)
        -> ResidualTokenizer
    {
        var rng = SplitMix(seed: seed)
        let d = model.config.vision.width
        let b = model.config.embedDim
        return ResidualTokenizer(
            weight: (0..<(d * b)).map { _ in rng.normal() * scale }, bias: [Float](repeating: bias, count: d),
            embedDim: b, width: d, clipSHA256: model.weightsSHA256)
    }
}
