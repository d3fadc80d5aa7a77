import ArgumentParser
import Foundation
import Logging
import RStoreCommandLine
import ResidualStore
import Server

/// `rstore serve`: the HTTP JSON API and the search page over one store.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the store over HTTP: JSON API, thumbnails, media and a search page.",
        discussion: """
            Binds 127.0.0.1 unless --host says otherwise; a non-loopback host needs a token \
            (--token-file FILE or RSTORE_TOKEN; --token T works but shows in `ps`), and every /v1 \
            request then needs `Authorization: Bearer T` (the page trades it for an HttpOnly session \
            cookie). Write endpoints (POST /v1/index) always need the token and a --library-root or \
            --root; without a token they are refused. Paths given to POST /v1/index must lie inside a \
            library root; index jobs run --index-jobs at a time (the rest wait), each cancelled past \
            --index-job-deadline seconds. On a PostgreSQL store, POST /v1/index queues the files for `rstore worker`s \
            (root-relative: they must lie under a --root NAME=PATH) instead of indexing here; GET \
            /v1/queue shows the queue. Requests whose Host is not the bound address, localhost or an --allow-host name get \
            421 (DNS rebinding). Each request may reconstruct at most --max-p-frames P-features and \
            decode at most --max-decoded-frames 720p frames (each decoded frame weighted by its pixels); at most --max-concurrent-work heavy requests \
            run and --max-queued-work wait, the rest get 503 with Retry-After. At most --max-connections \
            connections are open; one without a complete request head for --idle-timeout seconds, or \
            whose body takes longer than --body-timeout, is closed. Store and file calls run on a \
            bounded thread pool, never on the event loops; a request whose call takes longer than \
            --store-timeout gets 503 store_timeout (GET /healthz answers from memory meanwhile). \
            One access-log line per request at info level on stderr (method, route pattern, status, \
            ms; never the token or the query text). GET /metrics gives Prometheus text and needs the \
            token like /v1 unless --metrics-public. Every option can come from the environment: \
            RSTORE_ + its name in upper case with _ for - (RSTORE_PORT, RSTORE_TOKEN_FILE, \
            RSTORE_MAX_P_FRAMES; repeatable ones separated by commas); the command line wins.
            """)

    @OptionGroup var library: LibraryOptions
    @Option(help: "Address to bind.") var host = "127.0.0.1"
    @Option(help: "Port (0 picks a free one).") var port = 8080
    @Option(
        name: .customLong("library-root"),
        help: "A folder POST /v1/index may read and media may be served from (repeatable).")
    var libraryRoots: [String] = []
    @Option(
        name: .customLong("token-file"),
        help: "File holding the bearer token required by /v1 requests and writes. Default: $RSTORE_TOKEN.")
    var tokenFile: String?
    @Option(help: "The bearer token itself (visible in `ps`: prefer --token-file or RSTORE_TOKEN).") var token: String?
    @Option(
        name: .customLong("allow-host"),
        help: "A further name the Host header may carry, e.g. the LAN name (repeatable).")
    var allowHosts: [String] = []
    @Option(name: .customLong("max-p-frames"), help: "P-features one request may reconstruct.") var maxPFrames =
        ServerConfiguration.Limits().maxPFrames
    @Option(
        name: .customLong("max-image-pixels"),
        help: "Pixels of an image uploaded to POST /v1/search, checked from its header before decoding.")
    var maxImagePixels = ServerConfiguration.Limits().maxImagePixels
    @Option(
        name: .customLong("max-decoded-frames"),
        help:
            """
            Decoding one request may do, in 720p frames: every frame decoded (from the seek keyframe on) counts its \
            pixels / 1280x720, at least 1/64.
            """
    ) var maxDecodedFrames = ServerConfiguration.Limits().maxDecodedFrames
    @Option(
        name: .customLong("max-concurrent-work"),
        help: "Heavy requests (search, reconstruction, decoding) running at once.")
    var maxConcurrentWork = ServerConfiguration().maxConcurrentWork
    @Option(
        name: .customLong("max-queued-work"), help: "Heavy requests waiting for a slot; more get 503 + Retry-After.")
    var maxQueuedWork = ServerConfiguration().maxQueuedWork
    @Option(name: .customLong("index-jobs"), help: "Index jobs (POST /v1/index) running at once; the rest wait.")
    var indexJobs = ServerConfiguration().indexJobs
    @Option(
        name: .customLong("index-job-deadline"),
        help: "Seconds an index job may run before it is cancelled (the job fails with \"deadline passed\").")
    var indexJobDeadline = ServerConfiguration().indexJobDeadline
    @Option(
        name: .customLong("max-connections"), help: "Open connections at most; more clients wait in the listen backlog."
    )
    var maxConnections = ServerConfiguration().maxConnections
    @Option(
        name: .customLong("idle-timeout"),
        help: "Seconds a connection may go without a complete request head (idle, or a head sent too slowly).")
    var idleTimeout = ServerConfiguration().idleTimeout
    @Option(name: .customLong("body-timeout"), help: "Seconds a request body may take to arrive after its head.")
    var bodyTimeout = ServerConfiguration().bodyTimeout
    @Option(
        name: .customLong("store-timeout"),
        help: "Seconds a request waits for one store or file call before 503 store_timeout.")
    var storeTimeout = ServerConfiguration().storeTimeout
    @Option(help: "Thumbnail cache budget in MiB.") var thumbnailCacheMB = 64
    @Option(help: "Frame cache budget (decoded frames for P-feature reconstruction) in MiB.") var frameCacheMB = 512
    @Option(
        name: .customLong("log-level"),
        help:
            """
            trace, debug, info (one access-log line per request), notice, warning, error or critical. Default: \
            $LOG_LEVEL, else info.
            """
    )
    var logLevel: Logger.Level = .info
    @Flag(
        name: .customLong("metrics-public"),
        help: "Serve GET /metrics without the token (for a scraper on a trusted network).")
    var metricsPublic = false

    func run() async throws {
        // The named roots are library roots too: POST /v1/index may read them, media may come from them.
        let mounts = try library.root.roots()
        for (name, folder) in mounts.folders
        where !((try? folder.resourceValues(forKeys: [.isDirectoryKey]).isDirectory) ?? false) {
            throw ValidationError("--root \(name)=\(folder.path): not a folder")
        }
        let named = mounts.folders.values.sorted { $0.path < $1.path }
        let resolved = try TokenSource.resolve(
            argument: token, file: tokenFile, environment: ProcessInfo.processInfo.environment)
        if let w = resolved.warning { FileHandle.standardError.write(Data(w.utf8)) }
        var config = ServerConfiguration(
            host: host, port: port, token: resolved.token,
            libraryRoots: libraryRoots.map { URL(fileURLWithPath: $0) } + named)
        config.thumbnailCacheBytes = max(0, thumbnailCacheMB) << 20
        config.allowedHosts = allowHosts
        config.limits.maxPFrames = maxPFrames
        config.limits.maxImagePixels = maxImagePixels
        config.limits.maxDecodedFrames = maxDecodedFrames
        config.maxConcurrentWork = maxConcurrentWork
        config.maxQueuedWork = maxQueuedWork
        config.maxConnections = maxConnections
        config.indexJobs = indexJobs
        config.indexJobDeadline = indexJobDeadline
        config.idleTimeout = idleTimeout
        config.bodyTimeout = bodyTimeout
        config.storeTimeout = storeTimeout
        config.metricsPublic = metricsPublic
        try config.validate()  // before the model loads: a refused bind fails fast
        var libConfig = Library.Configuration()
        libConfig.frameCacheBytes = max(0, frameCacheMB) << 20
        let lib = try library.open(libConfig)
        var logger = Logger(label: "rstore.serve")
        logger.logLevel = logLevel
        let server = try RStoreServer(library: lib, configuration: config, logger: logger)
        // Stage 1 loads (or, on an archive, brings its index up to date) while the server
        // starts answering, instead of inside the first search; then one coarse search (no
        // P-frame) touches the text tower's weights, so the first user's coarse answer is not
        // the one that pages them in.
        Task.detached(priority: .background) { [logger] in
            do {
                let p = try lib.prepareStage1()
                _ = try lib.searchReport("a photo", k: 1, control: QueryControl(limits: .init(maxPFrames: 0)))
                logger.info(
                    "stage 1 ready",
                    metadata: [
                        "mode": "\(p.mode?.rawValue ?? "none")", "rows": "\(p.rows)",
                        "seconds": "\(String(format: "%.2f", p.seconds))",
                    ])
            } catch {
                logger.warning("stage 1 not prepared at start: \(error); the first search prepares it")
            }
        }
        let host = self.host
        if ["0.0.0.0", "::", "[::]"].contains(host), allowHosts.isEmpty {
            let note =
                """
                note: requests must name this server in Host: localhost or \(host); to browse it by a LAN name or \
                address, add --allow-host NAME (others get 421)\n
                """
            FileHandle.standardError.write(Data(note.utf8))
        }
        let tokenNote = config.token == nil ? "none, loopback only, writes disabled" : "required"
        let app = server.makeApplication { port in
            let shown = host.contains(":") ? "[\(host)]" : host
            let line = "rstore serving \(lib.storePath) on http://\(shown):\(port)/ (token: \(tokenNote))\n"
            FileHandle.standardOutput.write(Data(line.utf8))
        }
        try await app.runService()
    }
}
