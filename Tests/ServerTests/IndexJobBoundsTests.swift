import CLIP
import Foundation
import HummingbirdTesting
import ResidualStore
import Store
import TestSupport
import XCTest

@testable import Server

/// Index jobs run in parallel up to `indexJobs`, the rest wait, and each is cancelled at its
/// deadline. A job is kept running for as long as a test wants by a live lease on its file
/// (another ingest "holds" it, so the job waits for it, as `rstore index` does).
final class IndexJobBoundsTests: XCTestCase {
    struct Setup: @unchecked Sendable {
        let dir: URL
        let library: Library
        let store: SQLiteStore
        /// A file whose ingest is leased by someone else until `release()`.
        let held: URL
        /// A file nobody holds.
        let free: URL
        let heldRow: Int64
        let lease: Lease

        func release() throws { try store.fail(video: heldRow, error: "released by the test", lease: lease) }
    }

    func makeSetup(_ name: String) async throws -> Setup {
        let f = try await ServerFixture.shared.value
        let dir = try TempDirectory.make(name)
        let fm = FileManager.default
        let (seed, held, free) = (
            dir.appendingPathComponent("seed.mp4"), dir.appendingPathComponent("held.mp4"),
            dir.appendingPathComponent("free.mp4")
        )
        try fm.copyItem(at: f.root.appendingPathComponent("a.mp4"), to: seed)
        try fm.copyItem(at: f.root.appendingPathComponent("a.mp4"), to: held)
        try fm.copyItem(at: f.root.appendingPathComponent("b.mp4"), to: free)
        let storeURL = dir.appendingPathComponent("store.rstore")
        let library = try Library(store: storeURL, model: try TinyCLIP.model.get())
        let seeded = try await library.index([seed])
        XCTAssertEqual(seeded.indexed, 1)
        // The same content under held.mp4, begun under a lease of "another ingest".
        let store = try SQLiteStore(url: storeURL, readOnly: false)
        let model = try XCTUnwrap(try store.model())
        var record = try library.video(seed.path)
        record.path = held.standardizedFileURL.path
        record.id = nil
        let lease = Lease.make(seconds: 120)
        guard case .resume(let row) = try store.begin(record, model: model, lease: lease), let id = row.id else {
            throw XCTSkip("expected a new row")
        }
        return Setup(dir: dir, library: library, store: store, held: held, free: free, heldRow: id, lease: lease)
    }

    func makeServer(_ s: Setup, jobs: Int, deadline: Double = 3600) throws -> RStoreServer {
        var c = ServerConfiguration(token: ServerFixture.token, libraryRoots: [s.dir])
        c.indexJobs = jobs
        c.indexJobDeadline = deadline
        return try RStoreServer(library: s.library, configuration: c)
    }

    static func submit(_ client: any TestClientProtocol, _ path: String) async throws -> String {
        var h = bearer(ServerFixture.token)
        h[.contentType] = "application/json"
        let r = try await client.execute(
            uri: "/v1/index", method: .post, headers: h, body: body(#"{"paths": ["\#(path)"]}"#))
        XCTAssertEqual(r.status, .accepted, r.text)
        return try XCTUnwrap(r.json["id"] as? String)
    }

    static func job(_ client: any TestClientProtocol, _ id: String) async throws -> [String: Any] {
        try await client.execute(uri: "/v1/jobs/\(id)", method: .get, headers: bearer(ServerFixture.token)).json
    }

    static func waitFor(_ client: any TestClientProtocol, _ id: String, _ states: Set<String>, timeout: Double = 30)
        async throws -> [String: Any]
    {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let j = try await job(client, id)
            if states.contains(j["state"] as? String ?? "") || Date() > deadline { return j }
            try await Task.sleep(nanoseconds: 20_000_000)
        }
    }

    /// With 2 slots, a job stuck behind a lease does not hold up the next: both run at once,
    /// the second finishes first.
    func testTwoJobsRunAtOnce() async throws {
        let s = try await makeSetup("jobs-parallel")
        defer { TempDirectory.remove(s.dir) }
        let server = try makeServer(s, jobs: 2)
        try await withClient(server) { client in
            let stuck = try await Self.submit(client, s.held.path)
            let running = try await Self.waitFor(client, stuck, ["running"])["state"] as? String
            XCTAssertEqual(running, "running")
            let other = try await Self.submit(client, s.free.path)
            try await waitUntil("both jobs running") { server.jobs.runningCount == 2 }
            let done = try await Self.waitFor(client, other, ["succeeded", "failed"])
            XCTAssertEqual(done["state"] as? String, "succeeded", "\(done)")
            let still = try await Self.job(client, stuck)["state"] as? String
            XCTAssertEqual(still, "running", "the first still waits for the lease")
            try s.release()
            let first = try await Self.waitFor(client, stuck, ["succeeded", "failed"])
            XCTAssertEqual(first["state"] as? String, "succeeded", "\(first)")
        }
    }

    /// With 1 slot, the second job waits (queued) while the first runs, then runs.
    func testJobsBeyondTheBoundWait() async throws {
        let s = try await makeSetup("jobs-queue")
        defer { TempDirectory.remove(s.dir) }
        let server = try makeServer(s, jobs: 1)
        try await withClient(server) { client in
            let stuck = try await Self.submit(client, s.held.path)
            let running = try await Self.waitFor(client, stuck, ["running"])["state"] as? String
            XCTAssertEqual(running, "running")
            let other = try await Self.submit(client, s.free.path)
            try await Task.sleep(nanoseconds: 1_000_000_000)
            let waiting = try await Self.job(client, other)["state"] as? String
            XCTAssertEqual(waiting, "queued")
            XCTAssertEqual(server.jobs.runningCount, 1)
            try s.release()
            let first = try await Self.waitFor(client, stuck, ["succeeded", "failed"])["state"] as? String
            XCTAssertEqual(first, "succeeded")
            let second = try await Self.waitFor(client, other, ["succeeded", "failed"])["state"] as? String
            XCTAssertEqual(second, "succeeded")
        }
    }

    /// Past its deadline a job is cancelled: it fails saying so, its slot goes to the next job,
    /// and the store verifies clean (the other ingest's row untouched).
    func testDeadlineCancelsTheJob() async throws {
        let s = try await makeSetup("jobs-deadline")
        defer { TempDirectory.remove(s.dir) }
        let server = try makeServer(s, jobs: 1, deadline: 0.5)
        try await withClient(server) { client in
            let t0 = Date()
            let stuck = try await Self.submit(client, s.held.path)
            let other = try await Self.submit(client, s.free.path)
            let failed = try await Self.waitFor(client, stuck, ["succeeded", "failed"])
            XCTAssertEqual(failed["state"] as? String, "failed", "\(failed)")
            XCTAssertTrue((failed["error"] as? String ?? "").contains("deadline passed after 0.5 s"), "\(failed)")
            XCTAssertLessThan(Date().timeIntervalSince(t0), 10)
            // The freed slot goes to the queued job (which has its own 0.5 s to finish).
            let next = try await Self.waitFor(client, other, ["succeeded", "failed"])
            // ISO 8601 UTC with milliseconds: fixed width, so the strings order as the times do.
            XCTAssertGreaterThanOrEqual(
                next["started_at"] as? String ?? "", failed["finished_at"] as? String ?? "~", "\(next)")
        }
        XCTAssertEqual(try s.store.video(id: s.heldRow).status, .indexing, "the holder's row is its own")
        XCTAssertEqual(try s.library.verify(sample: 2, minCosine: 0.9).problems, [])
    }
}
