import ArgumentParser
import Foundation
import ResidualStore
import Store
import StorePostgres

/// `rstore worker --store postgres://... --root archive=/mnt/videos`: claims queued files and
/// indexes them until stopped. Any number of workers, on any machines, serve one queue: a
/// claim is a lease (renewed while indexing); a worker killed mid-video loses it, and the next
/// claim of the job resumes the video from its last committed chunk. A job still running at
/// `--job-deadline` is given up: the worker stops renewing its lease, cancels the ingest (which
/// stops within the frame it is on, its video row marked failed) and gives the job back to the
/// queue with the reason; after `--max-attempts` claims it is failed for good.
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Serve the index queue of a PostgreSQL library (`rstore enqueue`) until stopped.")

    @OptionGroup var library: LibraryOptions
    @Option(help: "Sampling rate, frames per second.") var fps = IndexRecipe.default.fps
    @Option(help: "Frames per committed chunk (the unit of crash-safe resume).") var chunkFrames = IndexRecipe.default.chunkFrames
    @Option(help: "Exit after the queue has been empty this many seconds (default: serve until stopped).") var idleExit: Double?
    @Option(help: "Seconds between polls of an empty queue.") var poll = 1.0
    @Option(help: "Seconds one job may run before this worker gives it up (cancels the ingest, stops renewing, records the attempt as failed).")
    var jobDeadline = 6 * 3600.0
    @Option(help: "Claims of one job at most (workers that died or passed their deadline); then it is failed for good with the reason.")
    var maxAttempts = PostgresStore.maxAttempts

    func validate() throws {
        guard jobDeadline > 0 && jobDeadline <= 30 * 86_400 else { throw ValidationError("--job-deadline must be in (0, 2592000] seconds") }
        guard (1...1000).contains(maxAttempts) else { throw ValidationError("--max-attempts must be in 1...1000") }
        try checkRecipe(IndexRecipe(fps: fps, chunkFrames: chunkFrames))
        guard poll > 0 && poll <= 60 else { throw ValidationError("--poll must be in (0, 60]") }
    }

    func run() async throws {
        let roots = try library.root.roots()
        guard !roots.isEmpty else { throw ValidationError("give the library roots mounted here: --root NAME=PATH") }
        _ = try sharedStoreURL(library.store)
        var config = Library.Configuration()
        config.recipe.fps = fps
        config.recipe.chunkFrames = chunkFrames
        let (lib, pg) = try library.openShared(config)
        let me = Lease.make()
        log("worker \(me.owner) serving \(pg.path), roots \(roots.names.joined(separator: ", "))")
        var idleSince = Date()
        while true {
            let lease = Lease(owner: me.owner, seconds: config.leaseSeconds)
            guard let job = try pg.claimJob(lease: lease, roots: roots.names, maxAttempts: maxAttempts) else {
                if let idleExit, Date().timeIntervalSince(idleSince) >= idleExit { break }
                try await Task.sleep(nanoseconds: UInt64(poll * 1e9))
                continue
            }
            // Queue rows are input from other machines: the roots' checks refuse a path that leaves its root.
            let url: URL
            do { url = try roots.file(for: StoredPath.rooted(root: job.root, path: job.path).stored) } catch {
                try pg.completeJob(job.id, lease: lease, error: "\(error)")
                log("failed: \(job.root):\(job.path) (\(error))")
                continue
            }
            let renewer = Renewer(every: lease.seconds / 3) { (try? pg.renewJob(job.id, lease: lease)) ?? true }
            let started = Date()
            let work = Task { try await lib.index([url]) }
            // Past the deadline: stop renewing (another worker may claim the job once its lease
            // lapses), then cancel the ingest and wait for it to stop.
            let deadline = Deadline(after: jobDeadline) { renewer.stop(); work.cancel() }
            let outcome = await work.result
            renewer.stop()
            if deadline.cancel() {
                let reason = "deadline passed after \(format(jobDeadline)) s (--job-deadline) on attempt \(job.attempts) of \(maxAttempts), stopped after \(String(format: "%.1f", Date().timeIntervalSince(started))) s"
                if job.attempts >= maxAttempts {
                    try pg.completeJob(job.id, lease: lease, error: reason)
                    log("failed: \(job.root):\(job.path) (\(reason); no attempts left)")
                } else {
                    try pg.releaseJob(job.id, lease: lease, error: reason)
                    log("given back: \(job.root):\(job.path) (\(reason))")
                }
                idleSince = Date()
                continue
            }
            let summary = try outcome.get()
            let r = summary.files.first
            let error = r.flatMap { $0.outcome == Library.FileResult.Outcome.failed ? ($0.error ?? "failed") : nil }
            try pg.completeJob(job.id, lease: lease, error: error)
            log("\(r?.outcome.rawValue ?? "?"): \(job.root):\(job.path)" + (error.map { " (\($0))" } ?? "") + (r.map { String(format: ", %d frames in %.1f s", $0.frames, $0.seconds) } ?? ""))
            idleSince = Date()
        }
        log("queue empty for \(idleExit ?? 0) s; worker exits")
    }

    func log(_ s: String) { FileHandle.standardError.write(Data((s + "\n").utf8)) }

    func format(_ x: Double) -> String { x == x.rounded() && x < 1e15 ? String(Int(x)) : "\(x)" }
}

/// Runs `expire` once, `seconds` from now, on its own thread, unless cancelled first.
final class Deadline: @unchecked Sendable {
    private let cond = NSCondition()
    private var state = 0   // 0 pending, 1 cancelled, 2 fired

    init(after seconds: Double, _ expire: @escaping @Sendable () -> Void) {
        let until = Date().addingTimeInterval(seconds)
        let thread = Thread { [self] in
            cond.lock()
            while state == 0, cond.wait(until: until) {}
            let fire = state == 0
            if fire { state = 2 }
            cond.unlock()
            if fire { expire() }
        }
        thread.start()
    }

    /// Stops it if it has not fired; returns whether it had fired (the deadline passed).
    func cancel() -> Bool {
        cond.lock()
        defer { cond.unlock() }
        if state == 0 { state = 1; cond.signal() }
        return state == 2
    }
}

/// Calls `renew` every `interval` seconds on its own thread until stopped or `renew` says the
/// lease is gone (the ingest's own commits renew the video's lease; this keeps the job's).
final class Renewer: @unchecked Sendable {
    private let cond = NSCondition()
    private var done = false

    init(every interval: Double, _ renew: @escaping @Sendable () -> Bool) {
        let thread = Thread { [self] in
            cond.lock()
            defer { cond.unlock() }
            while !done {
                if cond.wait(until: Date().addingTimeInterval(interval)) || done { continue }
                cond.unlock()
                let alive = renew()
                cond.lock()
                if !alive { break }
            }
        }
        thread.start()
    }

    func stop() {
        cond.lock()
        done = true
        cond.signal()
        cond.unlock()
    }
}
