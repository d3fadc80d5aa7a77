import Foundation
import ResidualStore

/// Index jobs started over HTTP. Up to `maxRunning` jobs run at once, each on a background
/// task of its own, the rest wait in submission order; readers keep being served meanwhile.
/// Each job has a deadline: past it the job's task is cancelled (the ingest stops within the
/// frame it is on, its file's row marked failed) and the job fails with "deadline passed".
/// Finished jobs are kept (the newest 100) so clients can poll them.
final class IndexJobs: @unchecked Sendable {
    struct Job: Encodable, Sendable {
        enum State: String, Encodable, Sendable { case queued, running, succeeded, failed }
        var id: String
        var state: State
        var paths: [String]
        var filesTotal: Int
        var filesDone = 0
        var currentFile: String?
        var currentFrames = 0
        var currentFramesDone = 0
        var createdAt: Double
        var startedAt: Double?
        var finishedAt: Double?
        var results: [Library.FileResult] = []
        var error: String?
        /// 0...1 over files, with the current file's frames as a fraction.
        var progress: Double {
            guard filesTotal > 0 else { return state == .succeeded ? 1 : 0 }
            let partial = currentFrames > 0 ? min(1, Double(currentFramesDone) / Double(currentFrames)) : 0
            return min(1, (Double(filesDone) + (state == .running ? partial : 0)) / Double(filesTotal))
        }

        enum CodingKeys: String, CodingKey {
            case id, state, paths, filesTotal, filesDone, currentFile, currentFrames, currentFramesDone,
                createdAt, startedAt, finishedAt, results, error, progress
        }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(id, forKey: .id)
            try c.encode(state, forKey: .state)
            try c.encode(paths, forKey: .paths)
            try c.encode(filesTotal, forKey: .filesTotal)
            try c.encode(filesDone, forKey: .filesDone)
            try c.encodeIfPresent(currentFile, forKey: .currentFile)
            try c.encode(currentFrames, forKey: .currentFrames)
            try c.encode(currentFramesDone, forKey: .currentFramesDone)
            // Dates as ISO 8601 (the API's one date format).
            try c.encode(ISODate.string(epochSeconds: createdAt), forKey: .createdAt)
            try c.encodeIfPresent(startedAt.map { ISODate.string(epochSeconds: $0) }, forKey: .startedAt)
            try c.encodeIfPresent(finishedAt.map { ISODate.string(epochSeconds: $0) }, forKey: .finishedAt)
            try c.encode(results, forKey: .results)
            try c.encodeIfPresent(error, forKey: .error)
            try c.encode(progress, forKey: .progress)
        }
    }

    private let lock = NSLock()
    private var jobs: [String: Job] = [:]
    private var order: [String] = []
    /// Jobs submitted and not started, oldest first, with their files.
    private var waiting: [(id: String, files: [URL])] = []
    private var running = 0
    private let library: Library
    private let maxPending: Int
    private let metrics: ServerMetrics
    /// Jobs running at once.
    let maxRunning: Int
    /// Seconds a job may run before it is cancelled.
    let deadline: Double

    init(library: Library, maxPending: Int, maxRunning: Int = 2, deadline: Double = 6 * 3600, metrics: ServerMetrics) {
        self.library = library
        self.maxPending = maxPending
        self.maxRunning = max(1, maxRunning)
        self.deadline = deadline
        self.metrics = metrics
    }

    /// Jobs queued or running (the index queue depth of a server over a local store).
    var pending: Int {
        lock.lock()
        defer { lock.unlock() }
        return jobs.values.filter { $0.state == .queued || $0.state == .running }.count
    }

    /// Jobs running now (for tests and `/healthz`-style views).
    var runningCount: Int { lock.withLock { running } }

    func job(_ id: String) -> Job? {
        lock.lock()
        defer { lock.unlock() }
        return jobs[id]
    }

    private func update(_ id: String, _ body: (inout Job) -> Void) {
        lock.lock()
        defer { lock.unlock() }
        if var j = jobs[id] {
            body(&j)
            jobs[id] = j
        }
    }

    /// Queues an index of `files` (already confined to the library roots); returns the job.
    func submit(files: [URL], requested: [String]) throws -> Job {
        lock.lock()
        let pending = jobs.values.filter { $0.state == .queued || $0.state == .running }.count
        guard pending < maxPending else {
            lock.unlock()
            throw APIError(
                .tooManyRequests, "too_many_jobs", "\(pending) index jobs are queued or running; try again later")
        }
        let id = UUID().uuidString.lowercased()
        let job = Job(
            id: id, state: .queued, paths: requested, filesTotal: files.count, createdAt: Date().timeIntervalSince1970)
        jobs[id] = job
        order.append(id)
        while order.count > 100, let oldest = order.first, jobs[oldest]?.state != .queued,
            jobs[oldest]?.state != .running
        {
            order.removeFirst()
            jobs[oldest] = nil
        }
        waiting.append((id, files))
        let start = startable()
        lock.unlock()
        start.forEach(launch)
        return job
    }

    /// Takes the waiting jobs that fit under `maxRunning` (call with `lock` held).
    private func startable() -> [(id: String, files: [URL])] {
        var out: [(id: String, files: [URL])] = []
        while running < maxRunning, !waiting.isEmpty {
            out.append(waiting.removeFirst())
            running += 1
        }
        return out
    }

    /// Runs one job on a task of its own, cancelled at its deadline; when it ends, the next
    /// waiting job starts.
    private func launch(_ next: (id: String, files: [URL])) {
        let (library, deadline) = (self.library, self.deadline)
        let work = Task.detached(priority: .utility) { [weak self] in
            await self?.run(id: next.id, files: next.files, library: library)
        }
        let timer = Task.detached {
            try await Task.sleep(nanoseconds: UInt64(min(deadline, 1e9) * 1e9))
            work.cancel()
        }
        Task.detached { [weak self] in
            await work.value
            timer.cancel()
            guard let self else { return }
            let start = self.lock.withLock { () -> [(id: String, files: [URL])] in
                self.running -= 1
                return self.startable()
            }
            start.forEach(self.launch)
        }
    }

    private func run(id: String, files: [URL], library: Library) async {
        let started = Date()
        update(id) {
            $0.state = .running
            $0.startedAt = started.timeIntervalSince1970
        }
        // Past the deadline the task is cancelled; the job then says so, whatever the files did.
        let overdue = { [deadline] () -> String? in
            Task.isCancelled
                ? """
                deadline passed after \(QueryError.figure(deadline)) s (--index-job-deadline); ran \
                \(String(format: "%.1f", Date().timeIntervalSince(started))) s, the files not finished are not \
                indexed
                """
                : nil
        }
        do {
            let metrics = self.metrics
            let summary = try await library.index(files) { [weak self] event in
                if case .finished(let r) = event, r.outcome == .indexed || r.outcome == .resumed {
                    metrics.ingested(frames: r.frames, seconds: r.seconds)
                }
                self?.update(id) { j in
                    switch event {
                    case .started(_, _, let path, let frames):
                        j.currentFile = path
                        j.currentFrames = frames
                        j.currentFramesDone = 0
                    case .progress(_, _, let path, let done, let frames):
                        j.currentFile = path
                        j.currentFrames = frames
                        j.currentFramesDone = done
                    case .waiting:
                        break
                    case .finished(let r):
                        j.results.append(r)
                        j.filesDone = j.results.count
                        j.currentFile = nil
                        j.currentFrames = 0
                        j.currentFramesDone = 0
                    }
                }
            }
            let late = overdue()
            update(id) { j in
                j.results = summary.files
                j.filesDone = summary.files.count
                j.state =
                    summary.failed > 0 && summary.indexed == 0 && summary.files.allSatisfy({ $0.outcome == .failed })
                    ? .failed : .succeeded
                if j.state == .failed { j.error = summary.files.compactMap(\.error).first }
                if let late {
                    j.state = .failed
                    j.error = late
                }
                j.finishedAt = Date().timeIntervalSince1970
            }
        } catch {
            let message = overdue() ?? APIError.from(error).message
            update(id) {
                $0.state = .failed
                $0.error = message
                $0.finishedAt = Date().timeIntervalSince1970
            }
        }
    }
}
