import CLIP

/// The tiny CLIP, loaded once per test process and shared by every test that runs a model.
public enum TinyCLIP {
    public static let model = Result { try CLIPModel(directory: TestPaths.tinyCLIP) }
}
