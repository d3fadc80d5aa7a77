import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import ResidualStore

/// The HTTP server over one `Library`: builds the router (middleware, routes) and the
/// Hummingbird application. `rstore serve` runs `makeApplication()`; tests use
/// `makeRouter()` with Hummingbird's test client.
public final class RStoreServer: Sendable {
    public typealias Context = ServerContext

    public let library: Library
    public let configuration: ServerConfiguration
    let roots: LibraryRoots
    let jobs: IndexJobs
    let thumbnails: ThumbnailCache
    let work: WorkLimiter
    /// The handlers' store and file calls (`blocking`): off the event loops and Swift's pool.
    let storeCalls: WorkLimiter
    /// The handlers' calls that touch files only (`blocking(store: false)`).
    let fileCalls: WorkLimiter
    /// Records read last, answered when the store does not (see `RecordCache`).
    let records = RecordCache()
    let counts: VideoCounts
    let sessions = SessionStore()
    let startedAt = Date()
    /// What `/metrics` shows; the access log feeds it.
    let metrics = ServerMetrics()
    /// Where the access log goes (one `info` line per request; see `AccessLog`).
    let logger: Logger

    /// `logger` receives the access log at `info`; the default one prints warnings and worse only.
    public init(library: Library, configuration: ServerConfiguration, logger: Logger? = nil) throws {
        try configuration.validate()
        self.library = library
        self.configuration = configuration
        self.logger =
            logger
            ?? {
                var l = Logger(label: "rstore.serve")
                l.logLevel = .warning
                return l
            }()
        roots = LibraryRoots(configuration.libraryRoots)
        jobs = IndexJobs(
            library: library, maxPending: configuration.limits.maxPendingJobs,
            maxRunning: configuration.indexJobs, deadline: configuration.indexJobDeadline, metrics: metrics)
        thumbnails = ThumbnailCache(
            byteBudget: configuration.thumbnailCacheBytes, maxDimension: configuration.thumbnailMaxDimension)
        work = WorkLimiter(limit: configuration.maxConcurrentWork, queueLimit: configuration.maxQueuedWork)
        storeCalls = WorkLimiter(
            limit: configuration.storeThreads, queueLimit: configuration.maxQueuedStoreCalls, what: "store calls")
        fileCalls = WorkLimiter(
            limit: configuration.storeThreads, queueLimit: configuration.maxQueuedStoreCalls, what: "file calls")
        counts = VideoCounts(library: library, maxAge: configuration.countsRefresh)
        counts.load()
    }

    /// The router with every route, and the (method, path) pairs registered, in order.
    public func makeRouter() -> (router: Router<Context>, routes: [RouteTable.Entry]) {
        let router = Router(context: Context.self, options: .autoGenerateHeadEndpoints)
        router.add(middleware: AccessLog<Context>(logger: logger, metrics: metrics))
        router.add(middleware: ErrorMiddleware<Context>())
        router.add(middleware: HostGuard<Context>(boundHost: configuration.host, extra: configuration.allowedHosts))
        router.add(middleware: BodyLimitMiddleware<Context>(maxBytes: configuration.limits.maxBodyBytes))
        var table = RouteTable(
            router: router, auth: AuthMiddleware<Context>(token: configuration.token, sessions: sessions))
        registerMetaRoutes(&table)
        registerSessionRoutes(&table)
        registerVideoRoutes(&table)
        registerMediaRoutes(&table)
        registerQueryRoutes(&table)
        registerSearchRequestRoutes(&table)
        registerIndexRoutes(&table)
        registerMetricsRoute(&table)
        return (router, table.entries)
    }

    /// The application listening on the configured host and port, with a `ConnectionWatcher`
    /// on every connection (so work stops when its client goes away), at most
    /// `maxConnections` connections, each closed after `idleTimeout` seconds without a
    /// complete request head, and after `bodyTimeout` seconds of a body still arriving.
    public func makeApplication(onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in })
        -> some ApplicationProtocol
    {
        let (router, _) = makeRouter()
        let c = configuration
        let http = HTTP1Channel.Configuration(
            additionalChannelHandlers: [ConnectionWatcher(), BodyDeadline(seconds: c.bodyTimeout)],
            idleTimeout: .milliseconds(Int64(c.idleTimeout * 1000)))
        return Application(
            router: router,
            server: .http1(configuration: http),
            configuration: .init(
                address: .hostname(c.host, port: c.port), serverName: "rstore",
                availableConnectionsDelegate: MaximumAvailableConnections(c.maxConnections)),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
            logger: logger)
    }
}
