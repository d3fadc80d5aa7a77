import Foundation
import TestSupport
import XCTest

@testable import ResidualStore

/// The persisted stage-1 matrix: what a fresh process loads equals what the store holds, and
/// a damaged, stale or foreign file is rebuilt, never used.
final class MatrixFileTests: XCTestCase {
    func testFreshProcessesLoadTheSameMatrixAndDamageIsRebuilt() async throws {
        let dir = try TempDirectory.make("matrix")
        defer { TempDirectory.remove(dir) }
        let url = try SearchQualityTests.scenesVideo(in: dir)
        let storeURL = dir.appendingPathComponent("m.rstore")
        let model = try TinyCLIP.model.get()
        func open() throws -> Library { try Library(store: storeURL, model: model) }
        let lib = try open()
        _ = try await lib.index([url])
        let built = try lib.matrix()
        let file = URL(fileURLWithPath: storeURL.path + ".matrix")
        XCTAssertTrue(FileManager.default.fileExists(atPath: file.path))
        let query = (0..<built.dim).map { Float(($0 * 7) % 5) - 2 }
        func same(_ m: IFeatureMatrix, _ why: String) {
            XCTAssertEqual(m.rows, built.rows, why)
            XCTAssertEqual(m.scores(query), built.scores(query), why)
        }
        same(try open().matrix(), "loaded from the file")

        // Damaged: a flipped byte, then a truncated file; both are rebuilt from the store.
        var bytes = try Data(contentsOf: file)
        bytes[bytes.count - 3] ^= 0x5a
        try bytes.write(to: file)
        XCTAssertNil(MatrixFile.read(file, dim: built.dim, model: model.weightsSHA256), "CRC catches a flipped byte")
        same(try open().matrix(), "after a flipped byte")
        try Data(bytes.prefix(100)).write(to: file)
        same(try open().matrix(), "after truncation")
        XCTAssertNotNil(MatrixFile.read(file, dim: built.dim, model: model.weightsSHA256), "rewritten")
        // Another model: ignored.
        XCTAssertNil(MatrixFile.read(file, dim: built.dim, model: "another-model"))

        // A second video: the file is extended (the first video's rows kept as they are).
        let second = dir.appendingPathComponent("second.mp4")
        try FileManager.default.copyItem(at: url, to: second)
        _ = try await lib.index([second])
        let grown = try open().matrix()
        XCTAssertEqual(grown.rows.count, 2 * built.rows.count)
        XCTAssertEqual(Array(grown.rows.prefix(built.rows.count)), built.rows)
        XCTAssertEqual(try open().matrix().rows, grown.rows)
    }
}
