import Foundation
import Store
import StorePostgres

/// Serves the index queue of a shared library: claims a job, indexes its file through the
/// library under a renewed lease, and closes the job, until the queue has been empty for
/// `Settings.idleExit` (or forever). Any number of workers, on any machines, serve one queue:
/// a claim is a lease (renewed by a `Heartbeat` while indexing); a worker killed mid-video
/// loses it, and the next claim of the job resumes the video from its last committed chunk.
/// A job still running at `Settings.jobDeadline` is given up: the worker stops renewing its
/// lease, cancels the ingest (which stops within the frame it is on, its video row marked
/// failed) and gives the job back to the queue with the reason; after `maxAttempts` claims it
/// is failed for good.
public struct IndexWorker: Sendable {
    public struct Settings: Sendable {
        /// Return after the queue has been empty this many seconds; nil: serve until stopped.
        public var idleExit: Double? = nil
        /// Seconds between polls of an empty queue.
        public var poll = 1.0
        /// Seconds one job may run before this worker gives it up.
        public var jobDeadline = 6 * 3600.0
        /// Claims of one job at most; then it is failed for good with the reason.
        public var maxAttempts = WorkQueue.defaultMaxAttempts
        public init() {}
    }

    let library: Library
    let queue: WorkQueue
    let settings: Settings

    /// A worker indexing through `library` (opened over `queue.store`, with the roots mounted
    /// here) the jobs of `queue` under those roots.
    public init(library: Library, queue: WorkQueue, settings: Settings = .init()) {
        self.library = library
        self.queue = queue
        self.settings = settings
    }

    /// Serves jobs until the queue has been idle for `idleExit`; `log` gets one line per job.
    /// Throws when the queue cannot be read or written (the job then stays claimed until its
    /// lease lapses, and another worker takes it).
    public func run(log: @escaping @Sendable (String) -> Void) async throws {
        let pg = queue.postgres
        let roots = library.configuration.roots
        let me = Lease.make()
        log("worker \(me.owner) serving \(pg.path), roots \(roots.names.joined(separator: ", "))")
        var idleSince = Date()
        while true {
            let lease = Lease(owner: me.owner, seconds: library.configuration.leaseSeconds)
            guard let job = try pg.claimJob(lease: lease, roots: roots.names, maxAttempts: settings.maxAttempts) else {
                if let idleExit = settings.idleExit, Date().timeIntervalSince(idleSince) >= idleExit { break }
                try await Task.sleep(nanoseconds: UInt64(settings.poll * 1e9))
                continue
            }
            try await serve(job, lease: lease, log: log)
            idleSince = Date()
        }
        log("queue empty for \(settings.idleExit ?? 0) s; worker exits")
    }

    /// One claimed job: indexed and closed, failed, or given back past its deadline.
    private func serve(_ job: IndexJob, lease: Lease, log: @Sendable (String) -> Void) async throws {
        let pg = queue.postgres
        let lib = library
        let deadlineSeconds = settings.jobDeadline
        let maxAttempts = settings.maxAttempts
        // Queue rows are input from other machines: the roots' checks refuse a path that leaves its root.
        let url: URL
        do {
            url = try lib.configuration.roots.file(for: StoredPath.rooted(root: job.root, path: job.path).stored)
        } catch {
            try pg.completeJob(job.id, lease: lease, error: "\(error)")
            log("failed: \(job.root):\(job.path) (\(error))")
            return
        }
        let heartbeat = Heartbeat(every: lease.seconds / 3) { (try? pg.renewJob(job.id, lease: lease)) ?? true }
        let started = Date()
        let work = Task { try await lib.index([url]) }
        // Past the deadline: stop renewing (another worker may claim the job once its lease
        // lapses), then cancel the ingest and wait for it to stop.
        let deadline = JobDeadline(after: deadlineSeconds) {
            heartbeat.stop()
            work.cancel()
        }
        let outcome = await work.result
        heartbeat.stop()
        if deadline.cancel() {
            let reason =
                """
                deadline passed after \(Self.format(deadlineSeconds)) s (--job-deadline) on attempt \(job.attempts) \
                of \(maxAttempts), stopped after \(String(format: "%.1f", Date().timeIntervalSince(started))) s
                """
            if job.attempts >= maxAttempts {
                try pg.completeJob(job.id, lease: lease, error: reason)
                log("failed: \(job.root):\(job.path) (\(reason); no attempts left)")
            } else {
                try pg.releaseJob(job.id, lease: lease, error: reason)
                log("given back: \(job.root):\(job.path) (\(reason))")
            }
            return
        }
        let summary = try outcome.get()
        let r = summary.files.first
        let error = r.flatMap { $0.outcome == Library.FileResult.Outcome.failed ? ($0.error ?? "failed") : nil }
        try pg.completeJob(job.id, lease: lease, error: error)
        log(
            "\(r?.outcome.rawValue ?? "?"): \(job.root):\(job.path)" + (error.map { " (\($0))" } ?? "")
                + (r.map { String(format: ", %d frames in %.1f s", $0.frames, $0.seconds) } ?? ""))
    }

    static func format(_ x: Double) -> String { x == x.rounded() && x < 1e15 ? String(Int(x)) : "\(x)" }
}
