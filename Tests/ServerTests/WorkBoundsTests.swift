import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import NIOEmbedded
import ResidualStore
import XCTest

@testable import Server

/// The bounded work line (503 + Retry-After when full) and cancellation of a request's work
/// when its client goes away.
final class WorkBoundsTests: XCTestCase {
    /// Occupies every work slot until `release()`.
    final class Blocker: @unchecked Sendable {
        let gate = DispatchSemaphore(value: 0)
        var tasks: [Task<Void, any Error>] = []

        init(_ server: RStoreServer) async throws {
            for _ in 0..<server.work.limit {
                tasks.append(Task { [gate] in try await server.work.run(QueryControl()) { gate.wait() } })
            }
            let deadline = Date().addingTimeInterval(10)
            while server.work.stats.running < server.work.limit, Date() < deadline {
                try await Task.sleep(nanoseconds: 10_000_000)
            }
        }

        func release() async {
            for _ in tasks { gate.signal() }
            for t in tasks { _ = try? await t.value }
        }
    }

    func testFullLineAnswers503WithRetryAfter() async throws {
        let f = try await ServerFixture.shared.value
        let server = try f.server {
            $0.maxConcurrentWork = 1
            $0.maxQueuedWork = 1
        }
        let blocker = try await Blocker(server)
        try await withClient(server) { client in
            let queued = Task { try await client.execute(uri: "/v1/search?q=waiting", method: .get) }
            try await waitUntil("one request waits") { server.work.stats.queued == 1 }
            let refused = try await client.execute(uri: "/v1/videos/\(f.videoA)/embeddings?from=0&to=1", method: .get)
            assertError(refused, 503, "busy")
            XCTAssertEqual(refused.headers[.retryAfter], "2")
            // Light requests are not queued at all.
            let list = try await client.execute(uri: "/v1/videos", method: .get)
            XCTAssertEqual(list.status, .ok)
            let health = try await client.execute(uri: "/healthz", method: .get)
            let work = health.json["work"] as? [String: Any] ?? [:]
            XCTAssertEqual(work["rejected"] as? Int, 1)
            XCTAssertEqual(work["queued"] as? Int, 1)
            await blocker.release()
            let r = try await queued.value
            XCTAssertEqual(r.status, .ok, r.text)
            XCTAssertEqual(server.work.stats.running, 0)
        }
    }

    /// A client that sends a heavy request and hangs up: its request leaves the line at once
    /// (it never runs), and the server keeps serving.
    func testDisconnectCancelsWaitingWork() async throws {
        let f = try await ServerFixture.shared.value
        let server = try f.server {
            $0.port = 0
            $0.maxConcurrentWork = 1
            $0.maxQueuedWork = 4
        }
        let blocker = try await Blocker(server)
        try await server.makeApplication().test(.live) { client in
            let port = try XCTUnwrap(client.port)
            let fd = try RawHTTP.connect(port: port)
            RawHTTP.send(fd, "GET /v1/search?q=hang+up HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\n\r\n")
            try await waitUntil("the request waits for a slot") { server.work.stats.queued == 1 }
            close(fd)
            try await waitUntil("the hung-up request leaves the line") { server.work.stats.queued == 0 }
            XCTAssertEqual(server.work.stats.cancelled, 1)
            XCTAssertEqual(server.work.stats.running, 1, "only the blocker runs: the request never started")
            await blocker.release()
            let r = try await client.execute(uri: "/v1/search?q=still+serving", method: .get)
            XCTAssertEqual(r.status, .ok)
        }
    }

    /// Running work sees its control cancelled when the connection reports the client gone
    /// (a half-close, as a client closing its socket looks with half-closure on), or when the
    /// handler's task is cancelled.
    func testDisconnectCancelsRunningWork() async throws {
        let f = try await ServerFixture.shared.value
        let server = try f.server()
        // The client half-closes: the watcher cancels the running work.
        let (channel, steps, running) = try await startLoop(server)
        try await waitUntil("the work runs") { steps.value > 3 }
        channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        do {
            _ = try await running.value
            XCTFail("the work should have stopped")
        } catch {
            XCTAssertEqual(error as? QueryError, .cancelled)
        }
        let after = steps.value
        try await Task.sleep(nanoseconds: 50_000_000)
        XCTAssertEqual(steps.value, after, "no work after the cancel")
        XCTAssertEqual(server.work.stats.running, 0)

        // Task cancellation (the server stopping) does the same, on a live connection.
        let (_, steps2, task) = try await startLoop(server)
        try await waitUntil("the second work runs") { steps2.value > 3 }
        task.cancel()
        do {
            _ = try await task.value
            XCTFail("the work should have stopped")
        } catch {
            XCTAssertEqual(error as? QueryError, .cancelled)
        }
    }

    /// Starts, on a fresh watched connection, heavy work that loops (checking its control
    /// between steps, like the engine between batches) for up to 20 s.
    func startLoop(_ server: RStoreServer) async throws -> (
        NIOAsyncTestingChannel, ManagedAtomicCounter, Task<Int, any Error>
    ) {
        let channel = NIOAsyncTestingChannel()
        try await channel.pipeline.addHandler(ConnectionWatcher())
        let context = ServerContext(
            source: ApplicationRequestContextSource(channel: channel, logger: .init(label: "test")))
        let steps = ManagedAtomicCounter()
        let task = Task<Int, any Error> {
            try await server.heavy(context) { control in
                for _ in 0..<20_000 {
                    try control.checkCancelled()
                    steps.increment()
                    usleep(1000)
                }
                return steps.value
            }
        }
        return (channel, steps, task)
    }

    /// A call stuck past its deadline answers its request (the timeout error) but keeps its
    /// thread: the line never runs more than its limit, and the next call waits for the slot.
    func testStuckCallAnswersAtItsDeadlineAndKeepsItsSlot() async throws {
        let line = WorkLimiter(limit: 1, queueLimit: 4, what: "store calls")
        let gate = DispatchSemaphore(value: 0)
        struct Late: Error {}
        let t0 = Date()
        do {
            _ = try await line.run(QueryControl(), timeout: 0.3, timedOut: { Late() }) { gate.wait() }
            XCTFail("the stuck call should time out")
        } catch is Late {}
        XCTAssertLessThan(Date().timeIntervalSince(t0), 5, "answered at the deadline, not when the call ended")
        XCTAssertEqual(line.stats.running, 1, "the stuck call still holds its slot")
        // The next call waits in line and times out too: no second thread runs.
        do {
            _ = try await line.run(QueryControl(), timeout: 0.3, timedOut: { Late() }) { 42 }
            XCTFail("the slot is still taken")
        } catch is Late {}
        // The caller hears of its timeout first; the line drops the waiter just after.
        try await waitUntil("a timed-out waiter leaves the line") { line.stats.queued == 0 }
        gate.signal()
        try await waitUntil("the stuck call returns its slot") { line.stats.running == 0 }
        let value = try await line.run(QueryControl(), timeout: 5, timedOut: { Late() }) { 42 }
        XCTAssertEqual(value, 42)
    }
}

func waitUntil(_ what: String, timeout: Double = 10, _ cond: () -> Bool) async throws {
    let deadline = Date().addingTimeInterval(timeout)
    while !cond() {
        if Date() >= deadline {
            XCTFail("timed out waiting until \(what)")
            return
        }
        try await Task.sleep(nanoseconds: 10_000_000)
    }
}

/// A counter shared between a work closure and the test.
final class ManagedAtomicCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    func increment() { lock.withLock { n += 1 } }
    var value: Int { lock.withLock { n } }
}
