import Foundation
import XCTest

@testable import ResidualStore

/// The one lease heartbeat (ingest video leases, worker job leases) and a worker's job
/// deadline: they beat until stopped or the lease is lost, and fire once unless cancelled.
final class LeaseHeartbeatTests: XCTestCase {
    final class Count: @unchecked Sendable {
        private let lock = NSLock()
        private var n = 0
        var value: Int { lock.withLock { n } }
        func add() -> Int {
            lock.withLock {
                n += 1
                return n
            }
        }
    }

    func testBeatsUntilStopped() throws {
        let beats = Count()
        let h = Heartbeat(every: 0.02) {
            _ = beats.add()
            return true
        }
        Thread.sleep(forTimeInterval: 0.3)
        h.stop()
        let atStop = beats.value
        XCTAssertGreaterThanOrEqual(atStop, 3, "renewed every 0.02 s for 0.3 s")
        Thread.sleep(forTimeInterval: 0.1)
        XCTAssertLessThanOrEqual(beats.value, atStop + 1, "no beats after stop (one may be in flight)")
    }

    func testALostLeaseStopsTheBeat() throws {
        let beats = Count()
        let h = Heartbeat(every: 0.02) { beats.add() < 2 }  // the second renewal finds the lease gone
        Thread.sleep(forTimeInterval: 0.3)
        XCTAssertEqual(beats.value, 2)
        h.stop()
    }

    func testDeadlineFiresOnceUnlessCancelled() throws {
        let fired = Count()
        let d = JobDeadline(after: 0.05) { _ = fired.add() }
        Thread.sleep(forTimeInterval: 0.3)
        XCTAssertTrue(d.cancel(), "the deadline passed")
        XCTAssertEqual(fired.value, 1)

        let early = Count()
        let e = JobDeadline(after: 10) { _ = early.add() }
        XCTAssertFalse(e.cancel())
        Thread.sleep(forTimeInterval: 0.05)
        XCTAssertEqual(early.value, 0)
    }
}
