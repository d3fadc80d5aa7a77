import Foundation
import PostgresTestSupport
import Store
import StorePostgres
import XCTest

/// The queue bounds a job's attempts: claims by workers that died (lease lapsed) and attempts
/// given back past a deadline (`releaseJob`) all count; the claim past the bound fails the job
/// for good, naming the count and the last attempt's reason.
final class IndexQueueAttemptsTests: XCTestCase {
    func testAttemptsAreBoundedAndTheLastReasonKept() throws {
        let cluster = try PostgresCluster.shared()
        let url = try cluster.createDatabase("attempts")
        let pg = try PostgresStore(
            url: url,
            localCache: FileManager.default.temporaryDirectory.appendingPathComponent("pgcache-\(UUID().uuidString)"))
        defer { pg.close() }
        XCTAssertEqual(try pg.enqueue(root: "lib", paths: ["a.mp4"]), 1)

        // Attempt 1: a worker that dies (its 0.1 s lease lapses).
        let dead = Lease(owner: "host:1:dead", seconds: 0.1)
        let first = try XCTUnwrap(try pg.claimJob(lease: dead, roots: ["lib"], maxAttempts: 3))
        XCTAssertEqual(first.attempts, 1)
        XCTAssertNil(try pg.claimJob(lease: Lease.make(), roots: ["lib"], maxAttempts: 3), "held while its lease lives")
        Thread.sleep(forTimeInterval: 0.3)
        // Attempt 2: taken over, then given back past a deadline.
        let late = Lease.make()
        let second = try XCTUnwrap(try pg.claimJob(lease: late, roots: ["lib"], maxAttempts: 3))
        XCTAssertEqual(second.attempts, 2)
        try pg.releaseJob(second.id, lease: late, error: "deadline passed after 5 s")
        XCTAssertEqual(try pg.jobError(second.id)?.status, "queued")
        XCTAssertEqual(try pg.jobError(second.id)?.error, "deadline passed after 5 s")
        // A release by a worker that no longer holds it changes nothing.
        try pg.releaseJob(second.id, lease: dead, error: "not mine")
        XCTAssertEqual(try pg.jobError(second.id)?.error, "deadline passed after 5 s")
        // Attempt 3, given back too; the 4th claim fails it for good.
        let third = try XCTUnwrap(try pg.claimJob(lease: late, roots: ["lib"], maxAttempts: 3))
        XCTAssertEqual(third.attempts, 3)
        try pg.releaseJob(third.id, lease: late, error: "deadline passed after 6 s")
        XCTAssertNil(try pg.claimJob(lease: late, roots: ["lib"], maxAttempts: 3))
        let final = try XCTUnwrap(try pg.jobError(third.id))
        XCTAssertEqual(final.status, "failed")
        XCTAssertEqual(
            final.error,
            "claimed 3 times without finishing (at most 3 attempts); last attempt: deadline passed after 6 s")
        XCTAssertEqual(try pg.queueCounts().failed, 1)
        XCTAssertNil(try pg.claimJob(lease: late, roots: ["lib"], maxAttempts: 3), "a failed job is not claimed again")
    }
}
