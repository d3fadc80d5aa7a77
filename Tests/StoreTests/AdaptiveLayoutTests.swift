import Foundation
import GRDB
import Timeline
import XCTest

@testable import Store

/// Adaptive I-frames: the layout rule with shot starts, and how the store keeps it.
final class AdaptiveLayoutTests: XCTestCase {
    var dir: URL!
    var url: URL { dir.appendingPathComponent("lib.rstore") }

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent(
            "rstore-layout-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    /// With no shot starts the layout is exactly the paper's k % (N+1) rule.
    func testFixedLayoutIsThePapersRule() {
        for n in 0...4 {
            let l = FrameLayout(n: n)
            XCTAssertEqual(l.placement, .fixed)
            for k in 0..<50 {
                XCTAssertEqual(l.isIFrame(k), k % (n + 1) == 0)
                XCTAssertEqual(l.anchor(of: k), k - k % (n + 1))
            }
        }
    }

    func testShotStartsRestartTheSpacing() throws {
        let l = FrameLayout(n: 2, shotStarts: try ShotStarts([4, 9]))
        // frames:        0  1  2  3  4  5  6  7  8  9 10 11 12
        XCTAssertEqual((0..<13).map { l.kind(of: $0) }, [.i, .p, .p, .i, .i, .p, .p, .i, .p, .i, .p, .p, .i])
        XCTAssertEqual((0..<13).map { l.anchor(of: $0) }, [0, 0, 0, 3, 4, 4, 4, 7, 7, 9, 9, 9, 12])
        XCTAssertEqual(l.lastFrame(anchoredOn: 3), 3, "the P-frames of 3 stop before the cut at 4")
        XCTAssertEqual(l.lastFrame(anchoredOn: 7), 8)
        XCTAssertEqual(l.iFrames(in: 0..<13), [0, 3, 4, 7, 9, 12])
        XCTAssertEqual(l.iFrames(in: 5..<10), [7, 9])
        XCTAssertEqual(l.iFrameCount(frames: 13), 6)
    }

    /// Brute force over random layouts: every derived answer agrees with kind/anchor, no anchor
    /// lies before the shot its frame is in, and I-frames stay at most N+1 apart.
    func testDerivedAnswersAgreeWithTheRule() throws {
        var seed: UInt64 = 7
        func next() -> Int {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(seed >> 33)
        }
        for _ in 0..<200 {
            let n = next() % 4
            let frames = 1 + next() % 60
            let starts = Array(Set((0..<(next() % 8)).map { _ in 1 + next() % max(1, frames) })).sorted()
            let l = FrameLayout(n: n, shotStarts: try ShotStarts(starts))
            let iFrames = (0..<frames).filter(l.isIFrame)
            XCTAssertEqual(l.iFrames(in: 0..<frames), iFrames)
            XCTAssertEqual(l.iFrameCount(frames: frames), iFrames.count)
            for lo in 0..<frames { XCTAssertEqual(l.iFrames(in: lo..<frames), iFrames.filter { $0 >= lo }) }
            for k in 0..<frames {
                let a = l.anchor(of: k)
                XCTAssertTrue(l.isIFrame(a) && a <= k && k - a <= n)
                XCTAssertFalse(starts.contains { $0 > a && $0 <= k }, "anchor \(a) of \(k) crosses a cut in \(starts)")
                if l.isIFrame(k) { XCTAssertGreaterThanOrEqual(l.lastFrame(anchoredOn: k), k) }
            }
            for (a, b) in zip(iFrames, iFrames.dropFirst()) { XCTAssertLessThanOrEqual(b - a, n + 1) }
            XCTAssertLessThanOrEqual(frames - iFrames.count, l.maxPFrames(inAnyRunOf: frames))
        }
    }

    func testShotStartsMustBeAscendingAndPositive() {
        for bad in [[0], [3, 3], [5, 2], [-1]] {
            XCTAssertThrowsError(try ShotStarts(bad), "\(bad)")
        }
    }

    // MARK: The store

    func record(iframes: IFramePlacement) -> VideoRecord {
        VideoRecord(
            path: "/v/a.mp4", contentHash: "h", size: 10, mtime: 0, duration: 6, timeBaseNum: 1, timeBaseDen: 90000,
            fps: 2, n: 2, p: 0.85, strategy: "motion", codec: .f16, info: "{}", iframes: iframes)
    }

    func offsets(_ r: Range<Int>) -> [FrameOffsetRecord] {
        r.map { FrameOffsetRecord(index: $0, pts: Int64($0) * 45000, time: Double($0) / 2, seekPTS: 0) }
    }

    func begin(_ s: SQLiteStore, _ v: VideoRecord) throws -> VideoRecord {
        let m = try s.bindModel(name: "tiny", config: "{}", weightsSha256: "w", tokenizerSha256: "", embedDim: 4)
        guard case .resume(let r) = try s.begin(v, model: m) else { throw XCTSkip("expected an ingest to run") }
        return r
    }

    /// Shot starts arrive with the chunks that hold them (one may start a chunk); the stored
    /// layout is read back with the video and decides which I-features a chunk must carry.
    func testStoreKeepsShotStartsChunkByChunk() throws {
        let s = try SQLiteStore(url: url)
        let v = try begin(s, record(iframes: .adaptive))
        let layout = FrameLayout(n: 2, shotStarts: try ShotStarts([4, 8]))
        func feats(_ r: Range<Int>) -> [(index: Int, vector: [Float])] {
            r.filter(layout.isIFrame).map { ($0, [Float($0), 1, 2, 3]) }
        }
        try s.append(video: v.id!, offsets: offsets(0..<8), iFeatures: feats(0..<8), shotStarts: [4])
        try s.append(video: v.id!, offsets: offsets(8..<14), iFeatures: feats(8..<14), shotStarts: [8])
        try s.finish(video: v.id!)
        let back = try s.video(id: v.id!)
        XCTAssertEqual(back.iframes, "adaptive")
        XCTAssertEqual(back.layout, layout)
        XCTAssertEqual(try s.iFeatures(of: back).map(\.index), [0, 3, 4, 7, 8, 11])
    }

    /// Bad layouts are refused with the store unchanged: shot starts on a fixed video, outside
    /// the chunk, out of order, or I-features that do not match the layout they imply.
    func testBadShotStartsAreRefusedAndNothingChanges() throws {
        let s = try SQLiteStore(url: url)
        let fixed = try begin(s, record(iframes: .fixed))
        let one: [(index: Int, vector: [Float])] = [(0, [0, 1, 2, 3]), (3, [3, 1, 2, 3])]
        XCTAssertThrowsError(try s.append(video: fixed.id!, offsets: offsets(0..<6), iFeatures: one, shotStarts: [2])) {
            XCTAssertTrue("\($0)".contains("fixed I-frames"), "\($0)")
        }
        XCTAssertEqual(try s.video(id: fixed.id!).frameCount, 0)

        let s2 = try SQLiteStore(url: dir.appendingPathComponent("b.rstore"))
        let v = try begin(s2, record(iframes: .adaptive))
        for (starts, why) in [([7], "outside the chunk"), ([4, 2], "out of order"), ([0], "frame 0")] {
            XCTAssertThrowsError(
                try s2.append(video: v.id!, offsets: offsets(0..<6), iFeatures: one, shotStarts: starts), why)
        }
        // A cut at 2 makes frame 2 (and 5) I-frames: the fixed layout's I-features do not match it.
        XCTAssertThrowsError(try s2.append(video: v.id!, offsets: offsets(0..<6), iFeatures: one, shotStarts: [2])) {
            XCTAssertTrue("\($0)".contains("needs I-features for frames [0, 2, 5]"), "\($0)")
        }
        let after = try s2.video(id: v.id!)
        XCTAssertEqual(after.frameCount, 0)
        XCTAssertEqual(after.layout, FrameLayout(n: 2))
    }

    /// A corrupt shot-start blob fails the read with an error instead of misplacing I-frames.
    func testCorruptShotStartsAreDetected() throws {
        XCTAssertEqual(try ShotStarts.decode(Data([4, 4])).frames, [4, 8])
        for bad in [Data([0x80]), Data([0]), Data([4, 0])] {
            XCTAssertThrowsError(try ShotStarts.decode(bad), "\([UInt8](bad))")
        }
        let s = try SQLiteStore(url: url)
        let v = try begin(s, record(iframes: .adaptive))
        try DatabaseQueue(path: url.path).write {
            try $0.execute(sql: "UPDATE videos SET shot_starts = x'80' WHERE id = ?", arguments: [v.id!])
        }
        XCTAssertThrowsError(try SQLiteStore(url: url).video(id: v.id!))
    }
}
