import Foundation
import PostgresTestSupport
import Store
import StorePostgres
import XCTest

/// What a worker's calls cost in round trips, counted by the store's pool: a worker's time on
/// a shared server is its round trips (`rstore bench workers`), so the counts are the contract.
final class PostgresRoundTripTests: XCTestCase {
    func testAChunkCommitUnderALeaseIsOneRoundTrip() throws {
        let cluster = try PostgresCluster.shared()
        let url = try cluster.createDatabase("trips")
        let cache = FileManager.default.temporaryDirectory.appendingPathComponent("pgcache-\(UUID().uuidString)")
        let s = try PostgresStore(url: url, localCache: cache)
        defer { s.close() }
        let m = try StoreConformance.bind(s)
        let lease = Lease(owner: "thishost:5:5", seconds: 30)
        func trips(_ body: () throws -> Void) rethrows -> Int {
            let before = s.poolCounters.statements
            try body()
            return s.poolCounters.statements - before
        }
        var v: VideoRecord?
        XCTAssertLessThanOrEqual(
            try trips {
                v = try StoreConformance.resumeRow(
                    try s.begin(StoreConformance.record("/v/t.mp4"), model: m, lease: lease))
            }, 5)
        let id = try XCTUnwrap(v?.id)
        for lo in stride(from: 0, to: 12, by: 4) {
            let (o, f) = StoreConformance.chunk(lo..<(lo + 4))
            XCTAssertEqual(
                try trips { try s.append(video: id, offsets: o, iFeatures: f, lease: lease) }, 1,
                "chunk at \(lo): one statement")
        }
        XCTAssertEqual(try trips { XCTAssertTrue(try s.heartbeat(video: id, lease: lease)) }, 1)
        // Written elsewhere meanwhile (same lease, another connection): the one-statement commit
        // matches nothing and the locked path commits it; the next commit is one statement again.
        let other = try PostgresStore(url: url, localCache: cache)
        defer { other.close() }
        try other.append(
            video: id, offsets: StoreConformance.chunk(12..<16).0, iFeatures: StoreConformance.chunk(12..<16).1,
            lease: lease)
        XCTAssertThrowsError(
            try s.append(
                video: id, offsets: StoreConformance.chunk(12..<16).0, iFeatures: StoreConformance.chunk(12..<16).1,
                lease: lease))
        XCTAssertGreaterThan(
            try trips {
                try s.append(
                    video: id, offsets: StoreConformance.chunk(16..<20).0, iFeatures: StoreConformance.chunk(16..<20).1,
                    lease: lease)
            }, 1,
            "after a miss the row is read again")
        XCTAssertEqual(
            try trips {
                try s.append(
                    video: id, offsets: StoreConformance.chunk(20..<24).0, iFeatures: StoreConformance.chunk(20..<24).1,
                    lease: lease)
            }, 1)
        XCTAssertLessThanOrEqual(
            try trips { try s.finish(video: id, expectedFrames: 24, lease: lease, damage: nil) }, 5)
        XCTAssertEqual(try s.offsets(of: try s.video(id: id)).map(\.index), Array(0..<24), "every frame once")
        XCTAssertEqual(try s.verifyBlobs(), [])
    }
}
