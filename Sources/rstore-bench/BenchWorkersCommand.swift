import ArgumentParser
import CLIP
import Foundation
import RStoreCommandLine
import ResidualStore
import Store
import StorePostgres

/// `rstore bench workers --store postgres://.../scratch`: what coordinating many ingest workers
/// through PostgreSQL costs. The encoder is replaced by a fixed delay per frame, so the figures
/// are the queue and the store alone: for 1, 4, 16 and 32 concurrent workers (threads, each
/// claiming jobs, beginning videos under leases, committing chunks and finishing), throughput
/// scaling against linear, claims per second, chunk-commit latency, and where the time went
/// (round trips per video and their mean, pool waits, CPU of this process and of a local
/// server, the load average). With `--videos`, also the real ingest of those files into
/// SQLite and into PostgreSQL on this machine, and their ratio.
/// Writes synthetic rows: give it a scratch database.
struct BenchWorkersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "workers",
        abstract:
            """
            Coordination cost of many ingest workers on PostgreSQL: scaling, claims/s, commit p50/p99; SQLite vs \
            PostgreSQL ingest.
            """
    )

    @Option(help: "A scratch PostgreSQL database, postgres://user@host:port/db. Default: $RSTORE_STORE.") var store:
        String?
    @Option(help: "Worker counts to measure, comma-separated.") var workers = "1,4,16,32"
    @Option(help: "Simulated encoder time per frame, in milliseconds.") var frameMs = 5.0
    @Option(help: "Frames per synthetic video.") var frames = 96
    @Option(help: "Frames per chunk commit.") var chunkFrames = 24
    @Option(help: "Videos per worker in each run.") var videosPerWorker = 3
    @Option(help: "A folder of videos to ingest for real into SQLite and PostgreSQL (needs --model).") var videos:
        String?
    @Option(help: "The CLIP model for --videos.") var model: String?
    @Option(
        help:
            """
            A second scratch PostgreSQL database for --videos (a store holds one model; the synthetic runs bind their \
            own).
            """
    )
    var ingestStore: String?
    @Option(help: "Real ingest runs per backend for --videos (alternating which goes first; the best counts).")
    var ingestRuns = 2
    @Flag(help: "Print one JSON object.") var json = false

    struct Result: Encodable {
        var workers: [Int] = []
        /// Per worker count: throughput / (workers x single-worker throughput).
        var scaling: [Double] = []
        var claims_per_s: [Double] = []
        var commit_p50_ms: [Double] = []
        var commit_p99_ms: [Double] = []
        var frames_per_s: [Double] = []
        /// Mean seconds a statement waited for its answer (one round trip), milliseconds.
        var round_trip_ms: [Double] = []
        /// Round trips per synthetic video (claim, begin, chunk commits, finish, close).
        var round_trips_per_video: [Double] = []
        /// Checkouts that waited for a free connection.
        var pool_waits: [Int] = []
        /// CPU used by this process and by the local PostgreSQL server, fractions of all cores.
        var client_cpu: [Double] = []
        var postgres_cpu: [Double] = []
        /// The machine's 1-minute load average at the end of each run.
        var load_avg: [Double] = []
        var sqlite_seconds: Double?
        var postgres_seconds: Double?
        /// postgres_seconds / sqlite_seconds (target <= 1.10).
        var postgres_over_sqlite: Double?
    }

    func run() async throws {
        let counts = workers.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !counts.isEmpty, counts.allSatisfy({ $0 >= 1 && $0 <= 256 }) else {
            throw ValidationError("--workers: counts in 1...256, comma-separated")
        }
        guard frameMs >= 0, frames >= 1, chunkFrames >= 1, videosPerWorker >= 1, (1...20).contains(ingestRuns) else {
            throw ValidationError("sizes must be positive (--ingest-runs 1...20)")
        }
        let url = try sharedStoreURL(store)
        let pg = try PostgresStore(location: try PostgresLocation(url: url), maxConnections: counts.max()! + 2)
        defer { pg.close() }
        let m = try pg.bindModel(
            name: "bench-workers", config: #"{"bench":"workers"}"#, weightsSha256: "bench-workers", tokenizerSha256: "",
            embedDim: 64)
        let log = { (s: String) in FileHandle.standardError.write(Data((s + "\n").utf8)) }
        var r = Result()
        var single = 0.0
        let run = UUID().uuidString.prefix(8)
        for w in counts {
            let root = "bench-\(run)-\(w)"
            try pg.enqueue(root: root, paths: (0..<(w * videosPerWorker)).map { "v\($0).mp4" })
            let stats = WorkerStats()
            let (pool0, cpu0) = (pg.poolCounters, BenchCPUShare.now())
            let t0 = Date()
            // One thread per worker (they block on sleeps and the server, as real workers do;
            // Swift's cooperative pool has only as many threads as cores).
            let done = DispatchGroup()
            let (frames, chunkFrames, frameMs) = (frames, chunkFrames, frameMs)
            for _ in 0..<w {
                done.enter()
                Thread {
                    Self.simulatedWorker(
                        pg, model: m, root: root, frames: frames, chunk: chunkFrames, frameMs: frameMs, stats: stats)
                    done.leave()
                }.start()
            }
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                done.notify(queue: .global()) { c.resume() }
            }
            let dt = Date().timeIntervalSince(t0)
            let (pool1, cpu) = (pg.poolCounters, cpu0.share(until: BenchCPUShare.now(), wall: dt))
            if let e = stats.error { throw e }
            let fps = Double(stats.frames) / dt
            if w == counts.first! { single = fps / Double(w) }
            let lat = stats.commits.sorted()
            r.workers.append(w)
            r.frames_per_s.append(fps)
            r.scaling.append(fps / (Double(w) * single))
            r.claims_per_s.append(Double(stats.claims) / dt)
            r.commit_p50_ms.append(lat.isEmpty ? 0 : lat[lat.count / 2] * 1000)
            r.commit_p99_ms.append(lat.isEmpty ? 0 : lat[min(lat.count - 1, lat.count * 99 / 100)] * 1000)
            let trips = pool1.statements - pool0.statements
            r.round_trip_ms.append(
                trips > 0 ? (pool1.statementSeconds - pool0.statementSeconds) / Double(trips) * 1000 : 0)
            r.round_trips_per_video.append(Double(trips) / Double(max(1, w * videosPerWorker)))
            r.pool_waits.append(pool1.waits - pool0.waits)
            r.client_cpu.append(cpu.own)
            r.postgres_cpu.append(cpu.postgres)
            r.load_avg.append(BenchCPUShare.loadAverage())
            log(
                String(
                    format:
                        "%2d workers: %.0f frames/s, scaling %.2f of linear, %.1f claims/s, commit p50 %.2f ms p99 %.2f ms; "
                            + """
                            %.1f round trips/video of %.2f ms, %d pool waits; CPU: rstore %.0f%%, postgres %.0f%% of \
                            %d cores, load %.1f
                            """,
                    w, fps, r.scaling.last!, r.claims_per_s.last!, r.commit_p50_ms.last!, r.commit_p99_ms.last!,
                    r.round_trips_per_video.last!, r.round_trip_ms.last!, r.pool_waits.last!, 100 * cpu.own,
                    100 * cpu.postgres,
                    ProcessInfo.processInfo.activeProcessorCount, r.load_avg.last!))
        }
        if let videos {
            guard let model, let ingestStore, PostgresLocation.isPostgres(ingestStore) else {
                throw ValidationError("--videos needs --model and --ingest-store postgres://.../scratch2")
            }
            let clip = try CLIPModel(directory: URL(fileURLWithPath: model))
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rstore-bench-workers-\(getpid())")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: dir) }
            var c = Library.Configuration()
            c.frameTierBytes = 0
            let shared = try Library(
                opening: { try PostgresStore(url: ingestStore, localCache: dir) }, model: clip, configuration: c)
            // Runs alternate (SQLite first, then PostgreSQL first, ...) over fresh copies of the
            // folder (new paths: the shared store would find the last run's videos unchanged);
            // the best run of each counts, so neither pays for a cold cache or a busy moment alone.
            var (sqlite, postgres) = ([Double](), [Double]())
            for run in 0..<ingestRuns {
                let files = [dir.appendingPathComponent("run-\(run)")]
                try FileManager.default.copyItem(at: URL(fileURLWithPath: videos), to: files[0])
                let local = try Library(
                    store: dir.appendingPathComponent("bench-\(run).rstore"), model: clip, configuration: c)
                for backend in run % 2 == 0 ? [local, shared] : [shared, local] {
                    let t = try await Self.timedIngest(backend, files)
                    if backend === local { sqlite.append(t) } else { postgres.append(t) }
                }
                log(
                    String(
                        format: "real ingest run %d: SQLite %.2f s, PostgreSQL %.2f s", run + 1, sqlite.last!,
                        postgres.last!))
            }
            r.sqlite_seconds = sqlite.min()
            r.postgres_seconds = postgres.min()
            r.postgres_over_sqlite = r.postgres_seconds! / r.sqlite_seconds!
            log(
                String(
                    format: "real ingest (best of %d): SQLite %.2f s, PostgreSQL %.2f s: ratio %.3f (target <= 1.10)",
                    ingestRuns,
                    r.sqlite_seconds!, r.postgres_seconds!, r.postgres_over_sqlite!))
        }
        if json { try printJSON(r) }
    }

    static func timedIngest(_ lib: Library, _ files: [URL]) async throws -> Double {
        let t0 = Date()
        let s = try await lib.index(files)
        guard s.failed == 0 else { throw ValidationError("bench ingest failed: \(s.files.compactMap(\.error))") }
        return Date().timeIntervalSince(t0)
    }

    /// One worker: claim a job, index a synthetic video under a lease (the "encoder" sleeps
    /// `frameMs` per frame), finish it, close the job; until the queue of `root` is empty.
    static func simulatedWorker(
        _ pg: PostgresStore, model m: ModelRecord, root: String, frames: Int, chunk: Int, frameMs: Double,
        stats: WorkerStats
    ) {
        let lease = Lease.make(seconds: 30)
        let vector = [Float](repeating: 0.125, count: m.embedDim)
        do {
            while let job = try pg.claimJob(lease: lease, roots: [root]) {
                stats.claimed()
                var v = VideoRecord(
                    path: "/\(root)/\(job.path)", contentHash: job.path, size: 1, mtime: 0,
                    duration: Double(frames) / 2,
                    timeBaseNum: 1, timeBaseDen: 1000, fps: 2, n: 2, p: 0.5, strategy: "motion", codec: .f16, info: "{}"
                )
                v.maskSeed = 1
                guard case .resume(let row) = try pg.begin(v, model: m, lease: lease) else { continue }
                for lo in stride(from: row.frameCount, to: frames, by: chunk) {
                    let hi = min(frames, lo + chunk)
                    Thread.sleep(forTimeInterval: Double(hi - lo) * frameMs / 1000)
                    let offsets = (lo..<hi).map {
                        FrameOffsetRecord(index: $0, pts: Int64($0 * 500), time: Double($0) / 2, seekPTS: 0)
                    }
                    let feats = (lo..<hi).filter { $0 % 3 == 0 }.map { (index: $0, vector: vector) }
                    let c0 = Date()
                    try pg.append(video: row.id!, offsets: offsets, iFeatures: feats, lease: lease)
                    stats.committed(Date().timeIntervalSince(c0), frames: hi - lo)
                }
                try pg.finish(video: row.id!, expectedFrames: frames, lease: lease, damage: nil)
                try pg.completeJob(job.id, lease: lease, error: nil)
            }
        } catch {
            stats.failed(error)
        }
    }
}

/// Counters shared by the simulated workers.
final class WorkerStats: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var commits: [Double] = []
    private(set) var frames = 0
    private(set) var claims = 0
    private(set) var error: Error?
    func claimed() { lock.withLock { claims += 1 } }
    func committed(_ seconds: Double, frames n: Int) {
        lock.withLock {
            commits.append(seconds)
            frames += n
        }
    }
    func failed(_ e: Error) { lock.withLock { if error == nil { error = e } } }
}
