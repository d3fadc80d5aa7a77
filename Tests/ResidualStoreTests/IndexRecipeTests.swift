import CLIP
import Foundation
import ResidualStore
import Store
import TestSupport
import Timeline
import XCTest

/// One recipe: its defaults, its one validation (the engine refuses what the CLI refuses),
/// its stored form, and the layout an ingest grows from it.
final class IndexRecipeTests: XCTestCase {
    func testDefaultsAreThePapersSettings() {
        let d = IndexRecipe.default
        XCTAssertEqual([d.fps, Double(d.n), d.p, Double(d.chunkFrames)], [2, 2, 0.85, 240])
        XCTAssertEqual(d.strategy, .motion)
        XCTAssertEqual(d.codec, .f16)
        XCTAssertNil(d.iframes, "new files adaptive, indexed files keep theirs")
        XCTAssertEqual(IndexRecipe(), d)
        XCTAssertEqual(Library.Configuration().recipe, d)
        XCTAssertNoThrow(try d.validate())
    }

    func testValidationNamesTheFieldAndWhatIsAllowed() {
        let cases: [(IndexRecipe, IndexRecipeError.Field, String)] = [
            (IndexRecipe(fps: 0), .fps, "fps must be in (0, 120], got 0.0"),
            (IndexRecipe(fps: .nan), .fps, "fps must be in (0, 120], got nan"),
            (IndexRecipe(fps: 121), .fps, "(0, 120]"),
            (IndexRecipe(n: -1), .n, "n (P-frames per I-frame) must be >= 0, got -1"),
            (IndexRecipe(p: 1), .p, "p must be in [0, 1), got 1.0"),
            (IndexRecipe(p: -0.1), .p, "[0, 1)"),
            (IndexRecipe(codec: .f32), .codec, "f32+lz4 is for evaluation only"),
            (IndexRecipe(chunkFrames: 0), .chunkFrames, "chunk-frames must be >= 1, got 0"),
        ]
        for (recipe, field, words) in cases {
            XCTAssertThrowsError(try recipe.validate(), "\(recipe)") { e in
                guard let e = e as? IndexRecipeError else { return XCTFail("\(e)") }
                XCTAssertEqual(e.field, field)
                XCTAssertTrue(e.description.contains(words), e.description)
            }
        }
    }

    /// "f32 is for evaluation only" holds in the engine, not only in `rstore index`: a library
    /// configured with it refuses to open and creates nothing.
    func testTheEngineRefusesAnEvaluationOnlyCodec() throws {
        let model = try TinyCLIP.model.get()
        let dir = try TempDirectory.make("recipe")
        defer { TempDirectory.remove(dir) }
        let store = dir.appendingPathComponent("s.rstore")
        var config = Library.Configuration()
        config.recipe.codec = .f32
        XCTAssertThrowsError(try Library(store: store, model: model, configuration: config)) { e in
            XCTAssertEqual((e as? IndexRecipeError)?.field, .codec, "\(e)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: store.path), "nothing opened or created")
        config.recipe.codec = .i8
        config.recipe.chunkFrames = 0
        XCTAssertThrowsError(try Library(store: store, model: model, configuration: config)) { e in
            XCTAssertEqual((e as? IndexRecipeError)?.field, .chunkFrames, "\(e)")
        }
    }

    func testTheStoredRowHoldsTheRecipe() throws {
        var recipe = IndexRecipe(fps: 4, n: 3, p: 0.5, strategy: .uniform, iframes: .fixed, codec: .i8, chunkFrames: 16)
        let row = VideoRecord(
            file: "/v/a.mp4", contentHash: "h", size: 1, mtime: 0, duration: 10, timeBaseNum: 1, timeBaseDen: 1000,
            info: "{}", fingerprint: "fp", recipe: recipe)
        XCTAssertEqual(try row.recipe(chunkFrames: 16), recipe, "what is written reads back")
        XCTAssertEqual(
            try row.recipe().chunkFrames, IndexRecipe.default.chunkFrames, "the chunk size is the caller's, not stored")
        recipe.iframes = nil
        let fresh = VideoRecord(
            file: "/v/a.mp4", contentHash: "h", size: 1, mtime: 0, duration: 10, timeBaseNum: 1, timeBaseDen: 1000,
            info: "{}", fingerprint: "fp", recipe: recipe)
        XCTAssertEqual(
            try fresh.recipe().iframes, IndexRecipe.defaultIFrames, "a stored row always names its placement")
        var unknown = row
        unknown.codec = "f8+zstd"
        XCTAssertThrowsError(try unknown.recipe()) { e in
            guard case LibraryError.settingsMismatch(_, let stored, _)? = e as? LibraryError else {
                return XCTFail("\(e)")
            }
            XCTAssertEqual(stored, "f8+zstd")
        }
    }

    /// The layout an ingest grows as it finds cuts is the stored layout with those shot starts.
    func testAGrownLayoutIsTheStoredOne() throws {
        var grown = FrameLayout(n: 2)
        for k in [0, 5, 5, 3, 11] { grown = grown.startingShot(at: k) }  // 0, repeats and earlier frames change nothing
        XCTAssertEqual(grown, FrameLayout(n: 2, shotStarts: try ShotStarts([5, 11])))
        XCTAssertEqual((0..<14).filter(grown.isIFrame), [0, 3, 5, 8, 11])
    }
}
