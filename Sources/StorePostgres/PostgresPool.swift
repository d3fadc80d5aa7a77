import Foundation
import Logging
import PostgresNIO

/// A few connections to one database, lent to one synchronous caller at a time.
///
/// Why synchronous: the engine's store API is synchronous (SQLite's is), and the engine calls it
/// from its own threads (ingest, the lease heartbeat, the server's work queue). PostgresNIO is
/// asynchronous; the bridge is that every connection lives on this pool's *own* event loop
/// group, and a caller blocks on `EventLoopFuture.wait()` for each statement. The waiting
/// thread is never an event-loop thread: the group is private (nothing else runs on it) and no
/// store code runs inside a future's callback, so no event loop is ever blocked and the I/O
/// always has a free loop to complete on. Blocking the caller is what SQLite does too (disk
/// I/O); unlike bridging through a `Task` and a semaphore, this cannot starve Swift's
/// cooperative pool (2 threads here) into a deadlock when the caller is itself on it.
///
/// Every wait has a deadline (`Deadline`), so a server that stops answering (crashed host,
/// `kill -STOP`, a dropped network) costs a caller seconds, not forever: connecting (TCP,
/// TLS, authentication) `connectTimeout`; waiting for a free connection the same; a statement
/// `statementTimeout` on the server (statement_timeout, cancelled there with an error) and
/// a few seconds more on the client, after which the connection is dropped as broken.
final class PostgresPool: @unchecked Sendable {
    let location: PostgresLocation
    private let group: MultiThreadedEventLoopGroup
    private let configuration: PostgresConnection.Configuration
    private let logger: Logger
    private let lock = NSCondition()
    private var idle: [PostgresConnection] = []
    private var open = 0
    private var nextID = 0
    private var closed = false
    let maxConnections: Int

    /// Seconds the client waits beyond the server's statement_timeout before it gives up on
    /// a server that does not answer at all.
    var clientGrace: Double { max(1, min(5, location.statementTimeout)) }

    init(location: PostgresLocation, maxConnections: Int = 8) throws {
        self.location = location
        self.maxConnections = max(1, maxConnections)
        var c = PostgresConnection.Configuration(
            host: location.host, port: location.port, username: location.user,
            password: location.password, database: location.database, tls: try location.tls())
        c.options.connectTimeout = .milliseconds(Int64(location.connectTimeout * 1000))
        c.options.additionalStartupParameters = [("statement_timeout", "\(Int64(location.statementTimeout * 1000))")]
        configuration = c
        group = MultiThreadedEventLoopGroup(numberOfThreads: min(2, System.coreCount))
        logger = Logger(label: "rstore.postgres", factory: { _ in SwiftLogNoOpLogHandler() })
    }

    /// Waits for `future` at most `seconds`; past that, throws `timedOut` (the future may still
    /// complete later: `onLate` gets its value then, to release what it holds).
    func wait<T: Sendable>(
        _ future: EventLoopFuture<T>, seconds: Double, during what: String, onLate: (@Sendable (T) -> Void)? = nil
    ) throws -> T {
        let promise = future.eventLoop.makePromise(of: T.self)
        let store = location.description
        let timer = future.eventLoop.scheduleTask(in: .milliseconds(Int64(seconds * 1000))) {
            promise.fail(PostgresStoreError.timedOut(store: store, during: what, seconds: seconds))
        }
        future.whenComplete { result in
            timer.cancel()
            switch result {
            case .success(let v):
                promise.succeed(v)
                // Completing an already failed promise does nothing: the value came too late.
                promise.futureResult.whenFailure { _ in onLate?(v) }
            case .failure(let e): promise.fail(e)
            }
        }
        return try promise.futureResult.wait()
    }

    deinit { close() }

    func close() {
        lock.lock()
        closed = true
        let conns = idle
        idle = []
        lock.unlock()
        for c in conns { try? (c.close() as EventLoopFuture<Void>).wait() }
        try? group.syncShutdownGracefully()
    }

    /// Runs `body` with a connection of its own; a connection that broke is dropped, not
    /// returned to the pool.
    func withConnection<T>(during what: String, _ body: (PostgresSession) throws -> T) throws -> T {
        let conn = try checkout(during: what)
        let session = PostgresSession(connection: conn, store: location.description, logger: logger, pool: self)
        do {
            let value = try body(session)
            checkin(conn)
            return value
        } catch {
            if conn.isClosed || session.broken { discard(conn) } else { checkin(conn) }
            throw PostgresStoreError.from(error, store: location.description, during: what)
        }
    }

    /// `body` in one transaction (`BEGIN` ... `COMMIT`, rolled back on any error). A
    /// connection lost before the commit leaves nothing: the server rolls the transaction back.
    /// `retry`: the body only reads (or is idempotent), so one connection loss is retried once
    /// on a fresh connection.
    @discardableResult
    func transaction<T>(
        _ what: String, readOnly: Bool = false, retry: Bool = false, _ body: (PostgresSession) throws -> T
    ) throws -> T {
        try retrying(retry) {
            try withConnection(during: what) { s in
                try s.exec(readOnly ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" : "BEGIN")
                do {
                    let value = try body(s)
                    try s.exec("COMMIT")
                    return value
                } catch {
                    if !s.broken { try? s.exec("ROLLBACK") }
                    throw error
                }
            }
        }
    }

    /// `body` runs ONE statement, which PostgreSQL runs as its own transaction: one round trip
    /// instead of three (`BEGIN`, the statement, `COMMIT`). For writes that fit in one
    /// statement (a CTE can update, insert and check at once), where latency is the cost.
    @discardableResult
    func statement<T>(_ what: String, retry: Bool = false, _ body: (PostgresSession) throws -> T) throws -> T {
        try retrying(retry) { try withConnection(during: what, body) }
    }

    /// `run`, and once more on a fresh connection if `retry` and the connection was lost.
    private func retrying<T>(_ retry: Bool, _ run: () throws -> T) throws -> T {
        do {
            return try run()
        } catch let e as PostgresStoreError where retry && e.isConnectionLoss {
            return try run()
        }
    }

    private var counters = PostgresPoolCounters()
    var stats: PostgresPoolCounters {
        lock.lock()
        defer { lock.unlock() }
        return counters
    }

    func count(statementSeconds dt: Double) {
        lock.lock()
        counters.statements += 1
        counters.statementSeconds += dt
        lock.unlock()
    }

    private func checkout(during what: String) throws -> PostgresConnection {
        lock.lock()
        var waitedSince: Date?
        defer {
            if let t = waitedSince {
                lock.lock()
                counters.waits += 1
                counters.waitSeconds += Date().timeIntervalSince(t)
                lock.unlock()
            }
        }
        let deadline = Date().addingTimeInterval(location.connectTimeout)
        while true {
            if closed {
                lock.unlock()
                throw PostgresStoreError.connectionLost(store: location.description, during: "\(what) (store closed)")
            }
            if let c = idle.popLast() {
                lock.unlock()
                if c.isClosed {
                    discard(c)
                    lock.lock()
                    continue
                }
                return c
            }
            if open < maxConnections { break }
            if waitedSince == nil { waitedSince = Date() }
            // Every connection busy (each stuck on a silent server, say): wait at most connectTimeout.
            if !lock.wait(until: deadline) {
                lock.unlock()
                throw PostgresStoreError.timedOut(
                    store: location.description,
                    during: "\(what) (waiting for one of \(maxConnections) busy connections)",
                    seconds: location.connectTimeout)
            }
        }
        open += 1
        counters.connects += 1
        nextID += 1
        let id = nextID
        lock.unlock()
        do {
            let connecting = PostgresConnection.connect(
                on: group.next(), configuration: configuration, id: id, logger: logger)
            return try wait(
                connecting, seconds: location.connectTimeout, during: "connecting",
                onLate: { c in _ = c.close() as EventLoopFuture<Void> })
        } catch {
            lock.lock()
            open -= 1
            lock.signal()
            lock.unlock()
            throw PostgresStoreError.from(error, store: location.description, during: "connecting")
        }
    }

    private func checkin(_ c: PostgresConnection) {
        lock.lock()
        if closed {
            lock.unlock()
            try? (c.close() as EventLoopFuture<Void>).wait()
            return
        }
        idle.append(c)
        lock.signal()
        lock.unlock()
    }

    /// Drops a connection (closing is local: it does not wait for a server that may not answer).
    private func discard(_ c: PostgresConnection) {
        try? (c.close() as EventLoopFuture<Void>).wait()
        lock.lock()
        open -= 1
        lock.signal()
        lock.unlock()
    }
}

/// What a store's connections have done so far: where a caller's time goes (`rstore bench workers`).
public struct PostgresPoolCounters: Sendable {
    /// Statements run and the seconds callers waited for their answers (round trips).
    public var statements = 0, statementSeconds = 0.0
    /// Checkouts that found no idle connection and waited for one, and the seconds waited.
    public var waits = 0, waitSeconds = 0.0
    /// Connections opened.
    public var connects = 0
}

/// One borrowed connection: statements run one at a time, each waited for (see `PostgresPool`).
final class PostgresSession {
    let connection: PostgresConnection
    let store: String
    let logger: Logger
    /// Set when a statement failed because the connection broke: the pool drops it.
    private(set) var broken = false
    private unowned let pool: PostgresPool

    init(connection: PostgresConnection, store: String, logger: Logger, pool: PostgresPool) {
        self.connection = connection
        self.store = store
        self.logger = logger
        self.pool = pool
    }

    /// Runs one statement; returns its rows (random-access) and the number of rows it changed.
    @discardableResult
    func query(_ q: PostgresQuery) throws -> (rows: [PostgresRandomAccessRow], affected: Int) {
        let t0 = Date()
        defer { pool.count(statementSeconds: Date().timeIntervalSince(t0)) }
        do {
            let result = try pool.wait(
                connection.query(q, logger: logger), seconds: pool.location.statementTimeout + pool.clientGrace,
                during: "a statement")
            return (result.rows.map { $0.makeRandomAccess() }, result.metadata.rows ?? 0)
        } catch {
            if connection.isClosed { broken = true }
            if case PostgresStoreError.timedOut? = error as? PostgresStoreError { broken = true }
            if let e = error as? PSQLError,
                [.serverClosedConnection, .clientClosedConnection, .uncleanShutdown].contains(e.code)
            {
                broken = true
            }
            if let e = error as? PSQLError, let state = e.serverInfo?[.sqlState],
                state.hasPrefix("57P") || state.hasPrefix("08")
            {
                broken = true
            }
            throw error
        }
    }

    func rows(_ q: PostgresQuery) throws -> [PostgresRandomAccessRow] { try query(q).rows }

    func exec(_ sql: String) throws { try query(PostgresQuery(unsafeSQL: sql)) }

    /// A migration file: its statements one by one (PostgresNIO speaks the extended protocol,
    /// one statement per message). Statements end with ';' at the end of a line; whole-line
    /// `--` comments are dropped (Migrations/postgres files keep to that: no dollar-quoted bodies).
    func script(_ sql: String) throws {
        let lines = sql.split(separator: "\n", omittingEmptySubsequences: false).filter {
            !$0.trimmingCharacters(in: .whitespaces).hasPrefix("--")
        }
        var statement = ""
        for line in lines {
            statement += line + "\n"
            if line.trimmingCharacters(in: .whitespaces).hasSuffix(";") {
                try exec(statement)
                statement = ""
            }
        }
        if !statement.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { try exec(statement) }
    }
}
