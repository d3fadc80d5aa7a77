import CLIP
import Foundation
import ResidualStore
import Store
import Tensor
import TestSupport
import Video
import XCTest

/// Every query kind becomes one vector and runs the same search; filters restrict stage 1.
final class QueryInputTests: XCTestCase {
    var dir: URL!
    var lib: Library!
    var a: Library.StoredVideo!
    var b: Library.StoredVideo!

    override func setUp() async throws {
        dir = try TempDirectory.make("query-input")
        let enc = ["-c:v", "libx264", "-g", "10", "-pix_fmt", "yuv420p"]
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("x"), withIntermediateDirectories: true)
        try ExternalCommand.ffmpeg(
            ["-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10", "-t", "6"] + enc + [
                dir.appendingPathComponent("x/a.mp4").path
            ])
        try ExternalCommand.ffmpeg(
            ["-f", "lavfi", "-i", "smptebars=size=160x120:rate=10", "-t", "5"] + enc + [
                dir.appendingPathComponent("b.mp4").path
            ])
        lib = try Library(store: dir.appendingPathComponent("lib.rstore"), model: try TinyCLIP.model.get())
        let s = try await lib.index([dir.appendingPathComponent("x/a.mp4"), dir.appendingPathComponent("b.mp4")])
        XCTAssertEqual(s.indexed, 2)
        a = try lib.video(dir.appendingPathComponent("x/a.mp4").path)
        b = try lib.video(dir.appendingPathComponent("b.mp4").path)
    }

    override func tearDown() { TempDirectory.remove(dir) }

    func assertSameMoments(_ x: [Moment], _ y: [Moment], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(x.count, y.count, file: file, line: line)
        for (m, n) in zip(x, y) {
            XCTAssertEqual(
                [m.videoID, Int64(m.firstFrame), Int64(m.lastFrame)],
                [n.videoID, Int64(n.firstFrame), Int64(n.lastFrame)], file: file, line: line)
            XCTAssertEqual(m.start, n.start, file: file, line: line)
            XCTAssertEqual(m.end, n.end, file: file, line: line)
            XCTAssertEqual(m.score, n.score, accuracy: 1e-5, file: file, line: line)
        }
    }

    func testTheTextEmbeddingPassedAsAVectorGivesTheSameMoments() throws {
        for text in ["a colourful test pattern", "bars of colour"] {
            let byText = try lib.searchReport(.text(text), k: 4)
            XCTAssertFalse(byText.moments.isEmpty)
            XCTAssertGreaterThan(byText.pFrames, 0, "stage 2 ran")
            let vector = try lib.queryVector(.text(text))
            // Any scale: the vector is normalised.
            let byVector = try lib.searchReport(.vector(vector.map { $0 * 3.5 }), k: 4)
            assertSameMoments(byText.moments, byVector.moments)
            // The old text entry point is the same search.
            assertSameMoments(try lib.search(text, k: 4), byText.moments)
            // A filter that admits everything changes nothing.
            let all = try lib.searchReport(.vector(vector), k: 4, filter: SearchFilter(videoIDs: [a.id!, b.id!]))
            assertSameMoments(byText.moments, all.moments)
        }
    }

    func testAStoredFrameQueryIsThatFramesFeatureIOrP() throws {
        let dense = try lib.embeddings(a, from: 0, to: a.duration)
        let i = try XCTUnwrap(dense.first { $0.kind == .i && $0.index > 0 })
        let p = try XCTUnwrap(dense.first { $0.kind == .p })
        for f in [i, p] {
            // A time a little off the frame still picks the nearest sampled frame.
            let q = try lib.queryVector(.storedFrame(video: String(a.id!), time: f.time + 0.1))
            let expected = VectorMath.normalized(f.vector)
            XCTAssertEqual(q.count, expected.count)
            for (x, y) in zip(q, expected) { XCTAssertEqual(x, y, accuracy: 1e-5) }
        }
        // By path too, and the frame's own video ranks a moment at that time first-class.
        let r = try lib.searchReport(.storedFrame(video: a.path, time: p.time), k: 3)
        XCTAssertTrue(r.moments.contains { $0.videoID == a.id! })
    }

    func testAnImageQueryUsesTheImageTowerWithEncodesPreprocessing() throws {
        let png = dir.appendingPathComponent("frame.png")
        try ExternalCommand.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=320x200", "-frames:v", "1", png.path])
        let q = try lib.queryVector(.image(png))
        let model = try TinyCLIP.model.get()
        let expected = VectorMath.normalized(model.embed(crops: [model.crop(try ImageFile.load(png))])[0])
        for (x, y) in zip(q, expected) { XCTAssertEqual(x, y, accuracy: 1e-6) }
        XCTAssertFalse(try lib.searchReport(.image(png), k: 2).moments.isEmpty)
    }

    func testAVideoFilterNeverScoresNorReconstructsTheOthers() throws {
        let text = "a colourful test pattern"
        // Filtered first, on a fresh library (no P-feature cached yet): it computes P-frames, of B only.
        let onlyB = try lib.searchReport(.text(text), k: 4, filter: SearchFilter(videoIDs: [b.id!]))
        let all = try lib.searchReport(.text(text), k: 4)
        XCTAssertEqual(all.stage1Videos, 2)
        XCTAssertEqual(
            Set(all.stage2Videos), [a.id!, b.id!], "unfiltered, stage 2 reads both (else the test proves nothing)")
        XCTAssertFalse(onlyB.moments.isEmpty)
        XCTAssertTrue(onlyB.moments.allSatisfy { $0.videoID == b.id! })
        XCTAssertEqual(onlyB.stage1Videos, 1)
        XCTAssertEqual(onlyB.stage1Rows, b.layout.iFrameCount(frames: b.frameCount))
        XCTAssertEqual(onlyB.stage2Videos, [b.id!], "no frame of video A is read or reconstructed")
        XCTAssertGreaterThan(onlyB.pFrames, 0)
        // B's own curve is the same with or without the filter: its moments are the same.
        assertSameMoments(
            onlyB.moments,
            try lib.searchReport(.text(text), k: 8).moments.filter { $0.videoID == b.id! }.prefix(onlyB.moments.count)
                .map { $0 })

        // Path prefix, folder-wise: x/ holds only a.mp4; "x/a" is not a folder prefix of x/a.mp4.
        let inX = try lib.searchReport(
            .text(text), k: 4, filter: SearchFilter(pathPrefix: dir.appendingPathComponent("x").path))
        XCTAssertTrue(!inX.moments.isEmpty && inX.moments.allSatisfy { $0.videoID == a.id! })
        XCTAssertEqual(inX.stage2Videos, [a.id!])
        let none = try lib.searchReport(
            .text(text), k: 4, filter: SearchFilter(pathPrefix: dir.appendingPathComponent("x/a").path))
        XCTAssertEqual(none.stage1Rows, 0)
        XCTAssertTrue(none.moments.isEmpty)
        XCTAssertEqual(none.pFrames, 0)
        // Roots: these videos are stored with absolute paths, under no named root.
        XCTAssertTrue(try lib.searchReport(.text(text), k: 4, filter: SearchFilter(roots: ["archive"])).moments.isEmpty)
    }

    func testRootAndPrefixFiltersOnARootedLibrary() async throws {
        var config = Library.Configuration()
        config.roots = try RootMounts(["media": dir])
        let rooted = try Library(
            store: dir.appendingPathComponent("rooted.rstore"), model: try TinyCLIP.model.get(), configuration: config)
        _ = try await rooted.index([dir.appendingPathComponent("x/a.mp4"), dir.appendingPathComponent("b.mp4")])
        let stored = try rooted.videos().map(\.path).sorted()
        XCTAssertEqual(stored, ["media:b.mp4", "media:x/a.mp4"])
        let aID = try rooted.videos().first { $0.path == "media:x/a.mp4" }!.id!
        let text = "a colourful test pattern"
        XCTAssertEqual(
            try rooted.searchReport(.text(text), k: 4, filter: SearchFilter(roots: ["media"])).stage1Videos, 2)
        XCTAssertEqual(
            try rooted.searchReport(.text(text), k: 4, filter: SearchFilter(roots: ["other"])).stage1Videos, 0)
        // By stored name or by the file here: the same video.
        for prefix in ["media:x", "media:x/", dir.appendingPathComponent("x").path] {
            let r = try rooted.searchReport(
                .text(text), k: 4, filter: SearchFilter(roots: ["media"], pathPrefix: prefix))
            XCTAssertEqual(r.stage1Videos, 1, prefix)
            XCTAssertTrue(!r.moments.isEmpty && r.moments.allSatisfy { $0.videoID == aID }, prefix)
        }
        var exported = 0
        try rooted.export(filter: SearchFilter(pathPrefix: "media:x")) { rows in
            XCTAssertTrue(rows.allSatisfy { $0.path == "media:x/a.mp4" })
            exported += rows.count
        }
        XCTAssertGreaterThan(exported, 0)
    }

    func testATimeSpanFilterKeepsEveryMomentAndEveryComputedFrameInsideIt() throws {
        let filter = SearchFilter(from: 1.5, to: 3.5)
        let r = try lib.searchReport(.text("bars of colour"), k: 6, filter: filter)
        XCTAssertFalse(r.moments.isEmpty)
        for m in r.moments {
            let v = m.videoID == a.id! ? a! : b!
            let allowed = filter.frames(count: v.frameCount, fps: v.fps)
            XCTAssertEqual(allowed, 3..<8)
            XCTAssertTrue(
                allowed.contains(m.firstFrame) && allowed.contains(m.lastFrame),
                "\(m.firstFrame)-\(m.lastFrame) outside \(allowed)")
        }
        let rows = [a!, b!].reduce(0) {
            $0 + $1.layout.iFrames(in: filter.frames(count: $1.frameCount, fps: $1.fps)).count
        }
        XCTAssertEqual(r.stage1Rows, rows)
        XCTAssertLessThan(r.stage1Rows, [a!, b!].reduce(0) { $0 + $1.layout.iFrameCount(frames: $1.frameCount) })
    }

    func testHostileQueriesAreTypedErrorsAndChangeNothing() throws {
        let dim = lib.embedDim
        XCTAssertThrowsError(try lib.searchReport(.vector([Float](repeating: 1, count: dim + 1)), k: 2)) {
            guard case LibraryError.badVector(let why) = $0 else { return XCTFail("\($0)") }
            XCTAssertTrue(why.contains("\(dim + 1)") && why.contains("\(dim)"), why)
        }
        var nan = [Float](repeating: 0.1, count: dim)
        nan[3] = .nan
        XCTAssertThrowsError(try lib.searchReport(.vector(nan), k: 2)) {
            XCTAssertEqual(($0 as? LibraryError).map { "\($0)" }?.contains("value 3"), true, "\($0)")
        }
        var inf = [Float](repeating: 0.1, count: dim)
        inf[0] = .infinity
        XCTAssertThrowsError(try lib.searchReport(.vector(inf), k: 2)) {
            guard case LibraryError.badVector = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try lib.searchReport(.vector([Float](repeating: 0, count: dim)), k: 2)) {
            guard case LibraryError.badVector = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try lib.searchReport(.vector([Float](repeating: 1e30, count: dim)), k: 2)) {
            guard case LibraryError.badVector = $0 else { return XCTFail("\($0)") }
        }

        XCTAssertThrowsError(try lib.searchReport(.storedFrame(video: "999999", time: 1), k: 2)) {
            guard case StoreError.unknownVideo = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(
            try lib.searchReport(.storedFrame(video: dir.appendingPathComponent("nope.mp4").path, time: 1), k: 2)
        ) {
            guard case StoreError.unknownVideo = $0 else { return XCTFail("\($0)") }
        }
        for t in [-1, a.duration + 5, .nan, .infinity] {
            XCTAssertThrowsError(try lib.searchReport(.storedFrame(video: String(a.id!), time: t), k: 2)) {
                guard case LibraryError.timeOutsideVideo(let v, _, _) = $0 else { return XCTFail("\(t): \($0)") }
                XCTAssertEqual(v, a.path)
            }
        }

        // A small file declaring a huge picture is refused before a picture is decoded: just
        // over the limit with its size named; far over it (past the decoders' own max_pixels)
        // with the limit named.
        let over = dir.appendingPathComponent("over.png")
        let big = dir.appendingPathComponent("big.png")
        try ExternalCommand.ffmpeg(["-f", "lavfi", "-i", "color=c=red:size=1200x1000", "-frames:v", "1", over.path])
        try ExternalCommand.ffmpeg(["-f", "lavfi", "-i", "color=c=red:size=4000x3000", "-frames:v", "1", big.path])
        XCTAssertLessThan(try FileManager.default.attributesOfItem(atPath: big.path)[.size] as! Int, 200_000)
        XCTAssertThrowsError(try lib.queryVector(.image(over), limits: .init(maxImagePixels: 1_000_000))) {
            guard case LibraryError.imageTooLarge(over.path, 1200, 1000, 1_000_000) = $0 else {
                return XCTFail("\($0)")
            }
        }
        XCTAssertThrowsError(try lib.queryVector(.image(big), limits: .init(maxImagePixels: 1_000_000))) {
            guard case LibraryError.badImage(big.path, let why) = $0 else { return XCTFail("\($0)") }
            XCTAssertTrue(why.contains("limit of 1000000 pixels"), why)
        }
        // Within the limit it is read.
        XCTAssertEqual(try lib.queryVector(.image(big), limits: .init(maxImagePixels: 12_000_000)).count, lib.embedDim)
        let garbage = dir.appendingPathComponent("garbage.png")
        try Data("not an image at all".utf8).write(to: garbage)
        XCTAssertThrowsError(try lib.queryVector(.image(garbage))) {
            guard case LibraryError.badImage(let p, _) = $0 else { return XCTFail("\($0)") }
            XCTAssertEqual(p, garbage.path)
        }
        XCTAssertThrowsError(try lib.queryVector(.image(dir.appendingPathComponent("missing.png")))) {
            guard case LibraryError.badImage = $0 else { return XCTFail("\($0)") }
        }

        for bad in [
            SearchFilter(from: 5, to: 1), SearchFilter(from: -1), SearchFilter(to: .nan), SearchFilter(pathPrefix: ""),
            SearchFilter(roots: ["../x"]), SearchFilter(videoIDs: [-3]),
        ] {
            XCTAssertThrowsError(try lib.searchReport(.text("x"), k: 1, filter: bad)) {
                guard case LibraryError.badFilter = $0 else { return XCTFail("\($0)") }
            }
        }
        // Nothing was touched.
        XCTAssertEqual(try lib.videos(status: .ready).count, 2)
    }
}
