import Foundation
import Store
import TestSupport
import XCTest

/// The decoded-frame tier's file: bounded, checked, shared, and never trusted when damaged or foreign.
final class FrameTierFileTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = try TempDirectory.make("tierfile")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
    }

    func testForeignTruncatedOrGarbageTierFilesAreReplaced() throws {
        let url = dir.appendingPathComponent("t.frames")
        // Garbage bytes.
        try Data(repeating: 0x41, count: 1000).write(to: url)
        var tier = try FrameTierFile(url: url, owner: "store-a|model-1", byteBudget: 1 << 20)
        try tier.put(video: "v", recipe: "r", payloads: [(3, Data("hello".utf8))])
        XCTAssertEqual(tier.get(video: "v", recipe: "r", frames: [3]), [3: Data("hello".utf8)])
        // Another owner (store or model): nothing of the old file is served.
        tier = try FrameTierFile(url: url, owner: "store-a|model-2", byteBudget: 1 << 20)
        XCTAssertEqual(tier.get(video: "v", recipe: "r", frames: [3]), [:])
        try tier.put(video: "v", recipe: "r", payloads: [(4, Data("x".utf8))])
        // Truncated to half a page.
        let size = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber).intValue
        let handle = try FileHandle(forWritingTo: url)
        try handle.truncate(atOffset: UInt64(min(size, 2048)))
        try handle.close()
        for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: url.path + suffix) }
        tier = try FrameTierFile(url: url, owner: "store-a|model-2", byteBudget: 1 << 20)
        XCTAssertEqual(
            tier.get(video: "v", recipe: "r", frames: [4, 5]).count,
            tier.get(video: "v", recipe: "r", frames: [4]).count)
        try tier.put(video: "v", recipe: "r", payloads: [(6, Data("y".utf8))])
        XCTAssertEqual(tier.get(video: "v", recipe: "r", frames: [6]), [6: Data("y".utf8)])
    }

    func testATierOfTheOldFormatIsStartedAfresh() throws {
        let url = dir.appendingPathComponent("old.frames")
        _ = try FrameTierFile(url: url, owner: "o", byteBudget: 1 << 20)
        // As the previous recipe (4:2:0 payloads) left it: same schema, older format row.
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [
            "sqlite3", url.path,
            "UPDATE meta SET value = 'rstore-frame-tier/1' WHERE key = 'format'; "
                + "INSERT INTO payloads VALUES ('v', 'r', 1, X'00', 1, 0);",
        ]
        try p.run()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        XCTAssertNotEqual(FrameTierFile.format, "rstore-frame-tier/1")
        let tier = try FrameTierFile(url: url, owner: "o", byteBudget: 1 << 20)
        XCTAssertEqual(try tier.stats().entries, 0, "nothing of the old file is kept")
        try tier.put(video: "v", recipe: "r", payloads: [(1, Data("new".utf8))])
        XCTAssertEqual(tier.get(video: "v", recipe: "r", frames: [1]), [1: Data("new".utf8)])
    }

    func testEvictionKeepsTheTierUnderItsBudgetDroppingLeastRecentlyUsed() throws {
        let tier = try FrameTierFile(url: dir.appendingPathComponent("e.frames"), owner: "o", byteBudget: 10_000)
        let blob = Data(repeating: 7, count: 992)  // 1000 bytes with the 8-byte header
        try tier.put(video: "v", recipe: "r", payloads: (0..<8).map { ($0, blob) })
        usleep(5000)
        _ = tier.get(video: "v", recipe: "r", frames: [0])  // 0 becomes recent
        usleep(5000)
        try tier.put(video: "v", recipe: "r", payloads: (8..<12).map { ($0, blob) })
        let s = try tier.stats()
        XCTAssertLessThanOrEqual(s.bytes, 10_000)
        XCTAssertNotNil(tier.get(video: "v", recipe: "r", frames: [0])[0], "recently used survives")
        XCTAssertNil(tier.get(video: "v", recipe: "r", frames: [1])[1], "least recently used goes first")
        XCTAssertNotNil(tier.get(video: "v", recipe: "r", frames: [11])[11])
    }

    func testStillsHaveTheirOwnBudgetAndAreNeverEvictedByFrames() throws {
        let tier = try FrameTierFile(
            url: dir.appendingPathComponent("st.frames"), owner: "o", byteBudget: 10_000, stillBudget: 5_000)
        let blob = Data(repeating: 7, count: 992)  // 1000 bytes with the 8-byte header
        try tier.putStills(video: "v", stills: (0..<4).map { (Int64($0) * 1500, blob) })
        // Frames far over their budget: evicted among themselves only.
        for round in 0..<3 { try tier.put(video: "v", recipe: "r", payloads: (0..<12).map { ($0 + 12 * round, blob) }) }
        var s = try tier.stats()
        XCTAssertLessThanOrEqual(s.bytes, 10_000)
        XCTAssertEqual(s.stills, 4, "frames never evict stills")
        XCTAssertEqual(s.stillBudget, 5_000)
        // Lookup: at or before within the tolerance, else the nearest after, else none.
        XCTAssertEqual(tier.still(video: "v", at: 1600, tolerance: 500)?.ms, 1500)
        XCTAssertEqual(tier.still(video: "v", at: 1400, tolerance: 500)?.ms, 1500)
        XCTAssertEqual(tier.still(video: "v", at: 1400, tolerance: 1500)?.ms, 0)
        XCTAssertNil(tier.still(video: "v", at: 6000, tolerance: 1000))
        XCTAssertNil(tier.still(video: "w", at: 0, tolerance: 1000))
        XCTAssertEqual(tier.still(video: "v", at: 0, tolerance: 0)?.data, blob)
        // Stills over their own budget: least recently used go, frames stay.
        usleep(5000)
        _ = tier.still(video: "v", at: 0, tolerance: 0)
        usleep(5000)
        try tier.putStills(video: "v", stills: [(9000, blob), (10500, blob)])
        s = try tier.stats()
        XCTAssertLessThanOrEqual(s.stillBytes, 5_000)
        XCTAssertNotNil(tier.still(video: "v", at: 0, tolerance: 0), "recently used survives")
        XCTAssertNotNil(tier.still(video: "v", at: 1500, tolerance: 0), "recently used survives")
        XCTAssertNil(tier.still(video: "v", at: 3000, tolerance: 0), "least recently used goes first")
        XCTAssertNil(tier.still(video: "v", at: 4500, tolerance: 0), "least recently used goes first")
        XCTAssertGreaterThan(try tier.stats().entries, 0)
        // Budgets follow the library: a smaller one applies at the next write.
        tier.setBudgets(frames: 10_000, stills: 2_000)
        try tier.putStills(video: "v", stills: [(12000, blob)])
        XCTAssertLessThanOrEqual(try tier.stats().stillBytes, 2_000)
        // A video's removal takes its stills with its frames.
        try tier.remove(video: "v")
        s = try tier.stats()
        XCTAssertEqual(s.stills + s.entries, 0)
    }

    func testTwoHandlesShareTheTierWhileOneWrites() throws {
        let url = dir.appendingPathComponent("s.frames")
        let writer = try FrameTierFile(url: url, owner: "o", byteBudget: 1 << 24)
        let reader = try FrameTierFile(url: url, owner: "o", byteBudget: 1 << 24)
        let blob = Data(repeating: 3, count: 500)
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            for i in 0..<200 { try? writer.put(video: "v", recipe: "r", payloads: [(i, blob)]) }
            done.signal()
        }
        var seen = 0
        for _ in 0..<200 { seen = max(seen, reader.get(video: "v", recipe: "r", frames: Array(0..<200)).count) }
        done.wait()
        XCTAssertEqual(reader.get(video: "v", recipe: "r", frames: Array(0..<200)).count, 200)
        XCTAssertTrue(reader.get(video: "v", recipe: "r", frames: Array(0..<200)).values.allSatisfy { $0 == blob })
        _ = seen
    }
}
