import Foundation
import GRDB
import TestSupport
import XCTest

@testable import Store

/// Leases on `indexing` rows: one writer per video, takeover after expiry, and nobody deletes
/// or overwrites what another ingest committed.
final class LeaseTests: XCTestCase {
    var dir: URL!
    var url: URL { dir.appendingPathComponent("lib.rstore") }

    override func setUpWithError() throws {
        dir = try TempDirectory.make("lease")
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func setup() throws -> (SQLiteStore, ModelRecord) {
        let s = try SQLiteStore(url: url)
        return (s, try s.bindModel(name: "tiny", config: "{}", weightsSha256: "w", tokenizerSha256: "", embedDim: 4))
    }

    func video(hash: String = "h1") -> VideoRecord {
        VideoRecord(
            path: "/v/a.mp4", contentHash: hash, size: 10, mtime: 0, duration: 6, timeBaseNum: 1, timeBaseDen: 90000,
            fps: 2, n: 2, p: 0.85, strategy: "motion", codec: .f16, info: "{}", fingerprint: "fp")
    }

    func offsets(_ range: Range<Int>) -> [FrameOffsetRecord] {
        range.map { FrameOffsetRecord(index: $0, pts: Int64($0) * 45000, time: Double($0) / 2, seekPTS: 0) }
    }

    func features(_ range: Range<Int>) -> [(index: Int, vector: [Float])] {
        range.filter { $0 % 3 == 0 }.map { ($0, [Float($0), 1, 2, 3]) }
    }

    func resumed(_ plan: StorePlan, file: StaticString = #filePath, line: UInt = #line) throws -> VideoRecord {
        guard case .resume(let r) = plan else {
            XCTFail("expected resume, got \(plan)", file: file, line: line)
            throw CocoaError(.featureUnsupported)
        }
        return r
    }

    func isLeaseLost(_ e: any Error) -> Bool {
        if case .leaseLost? = e as? StoreError { return true }
        return false
    }

    func testASecondIngestIsBusyCannotWriteAndItsFailureDeletesNothing() throws {
        let (s, m) = try setup()
        let a = Lease(owner: "host:1:a", seconds: 30)
        let b = Lease(owner: "host:2:b", seconds: 30)
        let row = try resumed(try s.begin(video(), model: m, lease: a))
        XCTAssertEqual(row.leaseOwner, a.owner)
        try s.append(video: row.id!, offsets: offsets(0..<6), iFeatures: features(0..<6), lease: a)

        guard case .busy(let held) = try s.begin(video(), model: m, lease: b) else {
            return XCTFail("B must see A's live lease")
        }
        XCTAssertEqual(held.leaseOwner, a.owner)
        XCTAssertThrowsError(
            try s.append(video: row.id!, offsets: offsets(6..<9), iFeatures: features(6..<9), lease: b)
        ) {
            XCTAssertTrue(isLeaseLost($0), "\($0)")
        }
        XCTAssertThrowsError(try s.append(video: row.id!, offsets: offsets(6..<9), iFeatures: features(6..<9))) {
            XCTAssertTrue(isLeaseLost($0), "without a lease, a live lease of another blocks writes: \($0)")
        }
        XCTAssertThrowsError(try s.finish(video: row.id!, lease: b)) { XCTAssertTrue(isLeaseLost($0), "\($0)") }
        try s.fail(video: row.id!, error: "B failed", lease: b)
        try s.fail(video: row.id!, error: "anonymous failure")
        // A different version of the same path (the file changed) does not drop A's row either.
        _ = try resumed(try s.begin(video(hash: "h2"), model: m, lease: b))
        let after = try s.video(id: row.id!)
        XCTAssertEqual(after.status, .indexing)
        XCTAssertEqual(after.frameCount, 6)
        XCTAssertEqual(try s.offsets(of: after).count, 6)

        XCTAssertTrue(try s.heartbeat(video: row.id!, lease: a))
        XCTAssertFalse(try s.heartbeat(video: row.id!, lease: b))
        try s.append(video: row.id!, offsets: offsets(6..<9), iFeatures: features(6..<9), lease: a)
        try s.finish(video: row.id!, lease: a, damage: #"{"corruptPackets":1}"#)
        let done = try s.video(id: row.id!)
        XCTAssertEqual(done.status, .ready)
        XCTAssertNil(done.leaseOwner)
        XCTAssertEqual(done.damage, #"{"corruptPackets":1}"#)
        XCTAssertEqual(done.fingerprint, "fp")
    }

    func testAnExpiredLeaseIsTakenOverAndTheOldHolderCannotWrite() throws {
        let (s, m) = try setup()
        let a = Lease(owner: "host:1:a", seconds: 0.2)
        let b = Lease(owner: "host:2:b", seconds: 30)
        let row = try resumed(try s.begin(video(), model: m, lease: a))
        try s.append(video: row.id!, offsets: offsets(0..<3), iFeatures: features(0..<3), lease: a)
        usleep(300_000)  // A stops heartbeating (killed)
        let taken = try resumed(try s.begin(video(), model: m, lease: b))
        XCTAssertEqual(taken.id, row.id)
        XCTAssertEqual(taken.frameCount, 3, "B resumes from A's last committed chunk")
        XCTAssertEqual(taken.leaseOwner, b.owner)
        // A wakes up: it can neither write, nor finish, nor fail B's row.
        XCTAssertThrowsError(
            try s.append(video: row.id!, offsets: offsets(3..<6), iFeatures: features(3..<6), lease: a)
        ) {
            XCTAssertTrue(isLeaseLost($0), "\($0)")
        }
        XCTAssertFalse(try s.heartbeat(video: row.id!, lease: a))
        try s.fail(video: row.id!, error: "A failed", lease: a)
        XCTAssertEqual(try s.video(id: row.id!).frameCount, 3)
        try s.append(video: row.id!, offsets: offsets(3..<6), iFeatures: features(3..<6), lease: b)
        try s.finish(video: row.id!, lease: b)
        XCTAssertEqual(try s.offsets(of: try s.video(id: row.id!)).map(\.index), Array(0..<6))
        XCTAssertEqual(try s.verifyBlobs(), [])
    }

    /// A holder on this host whose process is gone (kill -9) is not waited for.
    func testALeaseOfADeadLocalProcessIsTakenOverAtOnce() throws {
        let (s, m) = try setup()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/true")
        try p.run()
        p.waitUntilExit()
        let host = ProcessInfo.processInfo.hostName
        let dead = Lease(owner: "\(host):\(p.processIdentifier):dead", seconds: 600)
        let alive = Lease(owner: "\(host):\(getpid()):other", seconds: 600)
        let remote = Lease(owner: "elsewhere:\(p.processIdentifier):x", seconds: 600)
        let mine = Lease(owner: "\(host):\(getpid()):mine", seconds: 30)
        for (holder, takenOver) in [(alive, false), (remote, false), (dead, true)] {
            let row = try resumed(try s.begin(video(hash: holder.owner), model: m, lease: holder))
            try s.append(video: row.id!, offsets: offsets(0..<3), iFeatures: features(0..<3), lease: holder)
            let plan = try s.begin(video(hash: holder.owner), model: m, lease: mine)
            if takenOver {
                let r = try resumed(plan)
                XCTAssertEqual(r.id, row.id)
                XCTAssertEqual(r.frameCount, 3)
            } else {
                guard case .busy = plan else { return XCTFail("\(holder.owner) may be alive: wait, got \(plan)") }
            }
        }
    }

    func testCommitsRenewTheLease() throws {
        let (s, m) = try setup()
        let a = Lease(owner: "host:1:a", seconds: 0.3)
        let row = try resumed(try s.begin(video(), model: m, lease: a))
        let first = try s.video(id: row.id!).leaseExpiresAt!
        usleep(100_000)
        try s.append(video: row.id!, offsets: offsets(0..<3), iFeatures: features(0..<3), lease: a)
        XCTAssertGreaterThan(try s.video(id: row.id!).leaseExpiresAt!, first)
    }

    func testLeaseSecondsComeFromTheEnvironmentOrDefault() {
        XCTAssertGreaterThan(Lease.defaultSeconds, 0)
        let l = Lease.make(seconds: 5)
        XCTAssertEqual(l.owner.split(separator: ":").count, 3, l.owner)
        XCTAssertNotEqual(l.owner, Lease.make(seconds: 5).owner)
    }
}
