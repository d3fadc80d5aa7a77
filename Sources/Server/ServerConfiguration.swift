import Foundation

/// How `rstore serve` runs: where it listens, who may call it, which files it may touch and
/// how large a request may be.
public struct ServerConfiguration: Sendable {
    public var host: String = "127.0.0.1"
    public var port: Int = 8080
    /// Bearer token. When set, every `/v1/` request needs it; write endpoints always need it
    /// (without a token they are refused). Required to bind a non-loopback host.
    public var token: String?
    /// Folders that `POST /v1/index` may read and that media/thumbnails may be served from.
    public var libraryRoots: [URL] = []
    /// Extra names the `Host` header may carry (besides the bound address, `localhost`,
    /// `127.0.0.1` and `[::1]`), e.g. the name a reverse proxy or LAN DNS uses.
    public var allowedHosts: [String] = []
    public var limits = Limits()
    /// `GET /metrics` without credentials (for a scraper that cannot send the token); by
    /// default it needs the bearer token like every other route with figures of the library.
    public var metricsPublic = false
    /// Byte budget of the JPEG thumbnail cache.
    public var thumbnailCacheBytes = 64 << 20
    /// Longer side of a thumbnail, in pixels.
    public var thumbnailMaxDimension = 320
    /// CPU-heavy handlers (search, reconstruction, decoding) running at once; the rest wait.
    public var maxConcurrentWork = max(2, ProcessInfo.processInfo.activeProcessorCount * 2)
    /// Heavy requests waiting for a slot; beyond this the server answers 503 + Retry-After.
    public var maxQueuedWork = 64
    /// Index jobs (`POST /v1/index`) running at once; the rest wait their turn. 2: one long
    /// job (a large folder, a file that decodes slowly) does not hold every other one back,
    /// while on the 2-core machines this targets more would only split the same cores (an
    /// ingest already keeps both busy: decode thread + GEMM threads) and slow the queries.
    public var indexJobs = 2
    /// Seconds one index job may run before it is cancelled and fails with "deadline passed".
    /// 6 h: a day of 1080p video indexes in well under that here; a job past it is stuck or
    /// was fed something hostile.
    public var indexJobDeadline = 6 * 3600.0

    // Starvation bounds: a client cannot hold the server's sockets, threads or store.
    /// Open connections at most; further clients wait in the listen backlog until one closes.
    public var maxConnections = 512
    /// Seconds a connection may stay without a complete request head: idle between requests,
    /// or sending a head too slowly (a half-sent head counts as idle).
    public var idleTimeout = 30.0
    /// Seconds a request's body may take to arrive after its head.
    public var bodyTimeout = 30.0
    /// Threads that run the handlers' store calls (`RStoreServer.blocking`) and how many calls
    /// may wait for one, beyond which 503 `busy`; as many again for calls on files only.
    public var storeThreads = 8
    public var maxQueuedStoreCalls = 256
    /// Seconds a request waits for one store or file call before it gets 503 `store_timeout`.
    public var storeTimeout = 10.0
    /// Seconds `/healthz`'s video counts (held in memory) may age before they are refreshed
    /// in the background.
    public var countsRefresh = 5.0

    public init(host: String = "127.0.0.1", port: Int = 8080, token: String? = nil, libraryRoots: [URL] = []) {
        self.host = host
        self.port = port
        self.token = token.flatMap { $0.isEmpty ? nil : $0 }
        self.libraryRoots = libraryRoots
    }

    /// Bounds on request parameters; anything outside gives 400 (413 for bodies).
    public struct Limits: Sendable {
        /// Characters of a text query.
        public var maxQueryLength = 500
        /// Results of one search.
        public var maxK = 100
        /// P-features one request may have reconstructed (search, embeddings, ground, curve).
        /// Work is bounded in frames, not seconds: a second of 60 fps sampling costs 60x a
        /// second of 1 fps sampling.
        public var maxPFrames = 2400
        /// Decoding one request may do, in 720p frames (`DecodeCost`: each frame the decoder
        /// outputs, from the seek keyframe on, counts its pixels / 1280x720). 54,000 = what
        /// the longest range `maxPFrames` allows (3600 sampled frames, 30 min at 2 fps) costs
        /// when every frame of a 30 fps 720p source is decoded (30 x 1800 s); 1080p gets
        /// 13 min of such decoding, 4K 3.3 min, and a thumbnail a keyframe distance of 54,000
        /// 720p frames. About 2 min of one core at the 2.5 ms a 720p frame takes here.
        public var maxDecodedFrames = 54_000.0
        /// Bytes of a request body.
        public var maxBodyBytes = 64 << 10
        /// Pixels of an image uploaded to POST /v1/search, checked from its header before decoding.
        public var maxImagePixels = 16 << 20
        /// Bytes of one media response (a Range reply is cut to this; players ask for the rest).
        public var maxMediaChunk = 8 << 20
        /// Paths in one index request.
        public var maxIndexPaths = 64
        /// Video files one index request may name, folders walked.
        public var maxIndexFiles = 10_000
        /// Index jobs waiting or running at once.
        public var maxPendingJobs = 8
        /// Items of one page of a list (`?limit=`, also its default; see `PageRequest`).
        public var maxPageVideos = 1000
        public var maxPageFrames = 10_000
        public init() {}
    }

    /// Whether `host` is a loopback address (127.0.0.0/8, ::1, localhost).
    public static func isLoopback(_ host: String) -> Bool {
        let h = host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        return h == "localhost" || h == "::1" || h.hasPrefix("127.")
    }

    /// Refuses unsafe combinations before anything listens.
    public func validate() throws {
        guard (0...65535).contains(port) else { throw ServerSetupError.badPort(port) }
        if token == nil && !Self.isLoopback(host) { throw ServerSetupError.tokenRequired(host: host) }
        guard limits.maxPFrames >= 1 else {
            throw ServerSetupError.badOption("--max-p-frames \(limits.maxPFrames): must be at least 1")
        }
        guard limits.maxImagePixels >= 1 else {
            throw ServerSetupError.badOption("--max-image-pixels \(limits.maxImagePixels): must be at least 1")
        }
        guard limits.maxDecodedFrames > 0, limits.maxDecodedFrames.isFinite else {
            throw ServerSetupError.badOption(
                "--max-decoded-frames \(limits.maxDecodedFrames): must be a number of 720p frames above 0")
        }
        guard maxConcurrentWork >= 1 else {
            throw ServerSetupError.badOption("--max-concurrent-work \(maxConcurrentWork): must be at least 1")
        }
        guard (1...64).contains(indexJobs) else {
            throw ServerSetupError.badOption("--index-jobs \(indexJobs): must be in 1...64")
        }
        guard indexJobDeadline > 0, indexJobDeadline <= 30 * 86_400 else {
            throw ServerSetupError.badOption(
                "--index-job-deadline \(indexJobDeadline): must be more than 0 and at most 2592000 seconds (30 days)")
        }
        guard maxConnections >= 1 else {
            throw ServerSetupError.badOption("--max-connections \(maxConnections): must be at least 1")
        }
        for (name, v) in [
            ("--idle-timeout", idleTimeout), ("--body-timeout", bodyTimeout), ("--store-timeout", storeTimeout),
        ] where !(v > 0 && v <= 86_400) {
            throw ServerSetupError.badOption("\(name) \(v): must be more than 0 and at most 86400 seconds")
        }
        guard storeThreads >= 1, maxQueuedStoreCalls >= 0 else {
            throw ServerSetupError.badOption(
                """
                store threads \(storeThreads) / queued store calls \(maxQueuedStoreCalls): need at least 1 thread and \
                a line of >= 0
                """
            )
        }
        guard maxQueuedWork >= 0 else {
            throw ServerSetupError.badOption("--max-queued-work \(maxQueuedWork): must be >= 0")
        }
        for h in allowedHosts where h.isEmpty || h.contains(where: { $0 == "/" || $0 == " " || $0 == "," }) {
            throw ServerSetupError.badOption("--allow-host \"\(h)\": give a host name, without scheme or path")
        }
        for r in libraryRoots {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: r.path, isDirectory: &isDir), isDir.boolValue else {
                throw ServerSetupError.badLibraryRoot(r.path)
            }
        }
    }
}

/// Why the server refused to start.
public enum ServerSetupError: Error, CustomStringConvertible, Equatable {
    case tokenRequired(host: String)
    case badLibraryRoot(String)
    case badPort(Int)
    case badOption(String)
    case badToken(String)

    public var description: String {
        switch self {
        case .tokenRequired(let h):
            return
                """
                refusing to bind \(h) without a token: anyone on the network could read the library. Pass \
                --token-file FILE (or set RSTORE_TOKEN), or bind 127.0.0.1
                """
        case .badLibraryRoot(let p): return "--library-root \(p): not a folder"
        case .badPort(let p): return "--port \(p): must be in 0...65535"
        case .badOption(let what), .badToken(let what): return what
        }
    }
}
