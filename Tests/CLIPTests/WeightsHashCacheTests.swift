import CLIP
import Foundation
import TestSupport
import XCTest

/// The weights' SHA-256 is remembered by (path, inode, size, mtime): any change to the file
/// means hashing again, a damaged cache is ignored, and `verifyWeightsHash` always rehashes.
final class WeightsHashCacheTests: XCTestCase {
    var dir: URL!
    var cache: URL { dir.appendingPathComponent("cache/weights-sha256") }

    override func setUpWithError() throws {
        dir = try TempDirectory.make("hashcache")
    }

    override func tearDownWithError() throws {
        unsetenv("RSTORE_HASH_CACHE")
        try? FileManager.default.removeItem(at: dir)
    }

    func testAnyChangeOfTheFileMissesTheCache() throws {
        let file = dir.appendingPathComponent("w.bin")
        try Data("abc".utf8).write(to: file)
        let sha = String(repeating: "ab", count: 32)
        XCTAssertNil(WeightsHashCache.lookup(file, cache: cache))
        WeightsHashCache.store(sha, for: file, cache: cache)
        XCTAssertEqual(WeightsHashCache.lookup(file, cache: cache), sha)
        // Same size, new mtime.
        try FileManager.default.setAttributes(
            [.modificationDate: Date(timeIntervalSinceNow: -3600)], ofItemAtPath: file.path)
        XCTAssertNil(WeightsHashCache.lookup(file, cache: cache))
        WeightsHashCache.store(sha, for: file, cache: cache)
        // Replaced by another file (new inode) with the same size.
        let other = dir.appendingPathComponent("w2.bin")
        try Data("abd".utf8).write(to: other)
        XCTAssertEqual(rename(other.path, file.path), 0)
        XCTAssertNil(WeightsHashCache.lookup(file, cache: cache))
    }

    func testGarbageCacheIsIgnoredAndReplaced() throws {
        let file = dir.appendingPathComponent("w.bin")
        try Data("abc".utf8).write(to: file)
        try FileManager.default.createDirectory(
            at: cache.deletingLastPathComponent(), withIntermediateDirectories: true)
        let id = try XCTUnwrap(WeightsHashCache.identity(of: file))
        try Data("zz\t\(id.inode)\t3\t\(id.mtimeNanoseconds)\t\(id.path)\n\u{0}\u{1}garbage\n\t\t\t\t\n".utf8).write(
            to: cache)
        XCTAssertNil(WeightsHashCache.lookup(file, cache: cache), "a malformed digest is not a hash")
        let sha = String(repeating: "0f", count: 32)
        WeightsHashCache.store(sha, for: file, cache: cache)
        XCTAssertEqual(WeightsHashCache.lookup(file, cache: cache), sha)
    }

    func testModelUsesTheCacheAndVerifyRehashes() throws {
        setenv("RSTORE_HASH_CACHE", cache.path, 1)
        let fixture = TestPaths.tinyCLIP
        let model = dir.appendingPathComponent("model")
        try FileManager.default.copyItem(at: fixture, to: model)
        let weights = model.appendingPathComponent(CLIPModel.weightsFileName)
        let first = try CLIPModel(directory: model)
        XCTAssertEqual(WeightsHashCache.lookup(weights), first.weightsSHA256, "the first load records the hash")
        XCTAssertEqual(try CLIPModel(directory: model).weightsSHA256, first.weightsSHA256)
        try first.verifyWeightsHash()
        // A wrong entry for this exact file is believed by a plain load, caught by verify.
        let wrong = String(repeating: "1", count: 64)
        WeightsHashCache.store(wrong, for: weights)
        let fooled = try CLIPModel(directory: model)
        XCTAssertEqual(fooled.weightsSHA256, wrong)
        XCTAssertThrowsError(try fooled.verifyWeightsHash()) { XCTAssertTrue("\($0)".contains("differs"), "\($0)") }
        XCTAssertEqual(try CLIPModel(directory: model, rehash: true).weightsSHA256, first.weightsSHA256)
        XCTAssertEqual(WeightsHashCache.lookup(weights), first.weightsSHA256, "verify and rehash repair the entry")
    }
}
