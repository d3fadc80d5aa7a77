import Foundation
import Store
import TestSupport
import Video
import XCTest

@testable import ResidualStore

/// Stills written at ingest serve thumbnails without reading the original; a damaged, missing
/// or foreign still falls back to decoding it.
final class StillsTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = try TempDirectory.make("stills")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
    }

    func library(_ name: String, tierBytes: Int? = nil) throws -> Library {
        var config = Library.Configuration()
        config.frameTierBytes = tierBytes
        return try Library(
            store: dir.appendingPathComponent(name), model: try TinyCLIP.model.get(), configuration: config)
    }

    /// Two scenes of 5 s (moving test pattern, then colour bars): small and quick to index.
    static func clip(in dir: URL) throws -> URL {
        let url = dir.appendingPathComponent("clip.mp4")
        try ExternalCommand.ffmpeg([
            "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=5",
            "-f", "lavfi", "-i", "smptebars=size=320x240:rate=25:duration=5",
            "-filter_complex", "[0:v][1:v]concat=n=2:v=1:a=0,format=yuv420p",
            "-c:v", "libx264", "-g", "250", "-bf", "2", url.path,
        ])
        return url
    }

    /// The frames ingest keeps a still of: I-frames that start a shot (the first frame too) or
    /// lie `FrameTier.stillSpacing` or more after the last still.
    func expectedStills(_ lib: Library, _ v: VideoRecord) throws -> [Int] {
        let offsets = try lib.offsets(of: v)
        var kept: [Int] = []
        for k in 0..<v.frameCount where v.layout.isIFrame(k) {
            let t = offsets[k].time
            if k == 0 || v.layout.shotStarts.contains(k) || t - offsets[kept.last!].time >= FrameTier.stillSpacing {
                kept.append(k)
            }
        }
        return kept
    }

    func sqlite(_ path: URL, _ sql: String) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["sqlite3", path.path, sql]
        try p.run()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
    }

    /// Mean absolute difference per channel of two JPEGs of the same size.
    static func difference(_ a: Data, _ b: Data) throws -> Double {
        let x = try JPEGDecoder().decode(a)
        let y = try JPEGDecoder().decode(b)
        XCTAssertEqual(x.width, y.width)
        XCTAssertEqual(x.height, y.height)
        let sum = zip(x.pixels, y.pixels).reduce(0) { $0 + abs(Int($1.0) - Int($1.1)) }
        return Double(sum) / Double(max(1, x.pixels.count))
    }

    func testIngestStoresOneStillPerIFrameAndThumbnailsComeFromThem() async throws {
        let url = try Self.clip(in: dir)
        let lib = try library("a.rstore")
        _ = try await lib.index([url])
        let v = try XCTUnwrap(try lib.videos().first)
        let kept = try expectedStills(lib, v)
        XCTAssertGreaterThan(kept.count, 2)
        let stats = try XCTUnwrap(try lib.tierStats())
        XCTAssertEqual(stats.stills, kept.count, "a still at every shot start and every 4 s")
        XCTAssertGreaterThan(stats.stillBytes, 0)

        let thumbs = ThumbnailCache(byteBudget: 1 << 20, maxDimension: 320)
        for k in [0, 3, 4, 9, 12, v.frameCount - 1] {
            let at = try XCTUnwrap(kept.last { $0 <= k })
            let still = try XCTUnwrap(try thumbs.fromStill(lib, v, k), "frame \(k)")
            XCTAssertEqual(Array(still.prefix(3)), [0xFF, 0xD8, 0xFF])
            // The picture of the last still's I-frame at or before k, as decoding the original gives it.
            let decoded = try ThumbnailCache(byteBudget: 1 << 20, maxDimension: 320).make(lib, v, at)
            XCTAssertLessThan(try Self.difference(still, decoded), 4, "frame \(k): still vs decoded I-frame \(at)")
        }
        // Another size: downscaled from the still.
        let small = try XCTUnwrap(try ThumbnailCache(byteBudget: 1 << 20, maxDimension: 100).fromStill(lib, v, 4))
        let picture = try JPEGDecoder().decode(small)
        XCTAssertEqual(max(picture.width, picture.height), 100)
    }

    func testStillsOutliveARecipeChangeAndGoWithDeleteAndChangedBytes() async throws {
        let url = try Self.clip(in: dir)
        let lib = try library("b.rstore")
        _ = try await lib.index([url])
        var v = try XCTUnwrap(try lib.videos().first)
        let before = try XCTUnwrap(try lib.tierStats()).stills
        // Another fps and N: the same times are found (stills are keyed by time, not index).
        var other = v
        other.fps = 4
        other.n = 0
        let offsets = try lib.offsets(of: v)
        let last = try XCTUnwrap(try expectedStills(lib, v).last { $0 <= 10 })
        XCTAssertEqual(
            try lib.still(other, index: 10)?.ms, Int64((offsets[last].time * 1000).rounded()),
            "frame 10 (5 s) of the 2 fps ingest: the still at or before it")

        // Changed bytes: the re-index drops the old content's stills and writes the new ones.
        let shorter = dir.appendingPathComponent("short.mp4")
        try ExternalCommand.ffmpeg(["-i", url.path, "-t", "6", "-c", "copy", shorter.path])
        try FileManager.default.removeItem(at: url)
        try FileManager.default.moveItem(at: shorter, to: url)
        _ = try await lib.index([url])
        let w = try XCTUnwrap(try lib.videos().first)
        XCTAssertNotEqual(w.contentHash, v.contentHash)
        XCTAssertNil(lib.frameTier!.still(video: v.contentHash, at: 0, tolerance: 1000), "old content's stills gone")
        let after = try XCTUnwrap(try lib.tierStats()).stills
        XCTAssertEqual(after, try expectedStills(lib, w).count)
        XCTAssertLessThan(after, before)

        XCTAssertTrue(try lib.delete(videoID: w.id!))
        XCTAssertEqual(try XCTUnwrap(try lib.tierStats()).stills, 0)
        v = w
        XCTAssertNil(lib.frameTier!.still(video: v.contentHash, at: 0, tolerance: 1000))
    }

    func testDamagedStillsAreDroppedAndTheOriginalIsDecoded() async throws {
        let url = try Self.clip(in: dir)
        let lib = try library("c.rstore")
        _ = try await lib.index([url])
        let v = try XCTUnwrap(try lib.videos().first)
        let n0 = try XCTUnwrap(try lib.tierStats()).stills
        // A flipped byte inside every stored still (behind the tier's back): fails the CRC.
        try sqlite(
            dir.appendingPathComponent("c.rstore.frames"),
            "UPDATE stills SET blob = substr(blob, 1, 40) || X'00' || substr(blob, 42) WHERE ms = 0")
        let thumbs = ThumbnailCache(byteBudget: 1 << 20, maxDimension: 320)
        XCTAssertNil(try thumbs.fromStill(lib, v, 0), "no damaged still is served")
        XCTAssertEqual(try XCTUnwrap(try lib.tierStats()).stills, n0 - 1, "and it is dropped")
        // An intact CRC around bytes that are not a still of this time and size.
        let tier = try XCTUnwrap(lib.frameTier)
        let ms = Int64((try lib.offsets(of: v)[3].time * 1000).rounded())
        try tier.writeStills(video: v.contentHash, [(ms, Data("RS1".utf8) + Data(repeating: 0x41, count: 40))])
        XCTAssertNil(try thumbs.fromStill(lib, v, 3))
        let jpeg = try JPEGEncoder(quality: 5).encode(
            RGBImage(width: 400, height: 20, pixels: .init(repeating: 9, count: 400 * 20 * 3)))
        try tier.writeStills(video: v.contentHash, [(ms, tier.stillPayload(jpeg, ms: ms, width: 400, height: 20))])
        XCTAssertNil(try thumbs.fromStill(lib, v, 3), "larger than a still may be")
        try tier.writeStills(video: v.contentHash, [(ms, tier.stillPayload(jpeg, ms: ms + 1, width: 400, height: 20))])
        XCTAssertNil(try thumbs.fromStill(lib, v, 3), "of another time")
        // The thumbnail falls back to decoding the original, and stores a still of what it decoded.
        let decoded = try thumbs.make(lib, v, 3)
        let again = try XCTUnwrap(try ThumbnailCache(byteBudget: 1 << 20, maxDimension: 320).fromStill(lib, v, 3))
        XCTAssertLessThan(try Self.difference(decoded, again), 4)
    }

    func testAStoreWithoutStillsDecodesThenFillsThemAndATierOffDecodes() async throws {
        let url = try Self.clip(in: dir)
        let lib = try library("d.rstore")
        _ = try await lib.index([url])
        let v = try XCTUnwrap(try lib.videos().first)
        // As a store indexed before stills leaves its tier file: no stills at all.
        try sqlite(dir.appendingPathComponent("d.rstore.frames"), "DELETE FROM stills")
        let thumbs = ThumbnailCache(byteBudget: 1 << 20, maxDimension: 320)
        XCTAssertNil(try thumbs.fromStill(lib, v, 7))
        _ = try thumbs.make(lib, v, 7)
        XCTAssertNotNil(try ThumbnailCache(byteBudget: 1 << 20, maxDimension: 320).fromStill(lib, v, 7))
        XCTAssertEqual(try XCTUnwrap(try lib.tierStats()).stills, 1)

        let off = try library("d.rstore", tierBytes: 0)
        XCTAssertNil(try off.tierStats())
        XCTAssertNil(try thumbs.fromStill(off, v, 9))
        XCTAssertNoThrow(try thumbs.make(off, v, 9))
    }
}
