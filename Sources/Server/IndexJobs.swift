import Foundation
import ResidualStore

/// Index jobs started over HTTP. Jobs run one after another on a background task (the store
/// has one writer); readers keep being served meanwhile. Finished jobs are kept (the newest
/// 100) so clients can poll them.
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
            try c.encode(id, forKey: .id); try c.encode(state, forKey: .state); try c.encode(paths, forKey: .paths)
            try c.encode(filesTotal, forKey: .filesTotal); try c.encode(filesDone, forKey: .filesDone)
            try c.encodeIfPresent(currentFile, forKey: .currentFile); try c.encode(currentFrames, forKey: .currentFrames)
            try c.encode(currentFramesDone, forKey: .currentFramesDone)
            // Dates as ISO 8601 (the API's one date format).
            try c.encode(ISODate.string(epochSeconds: createdAt), forKey: .createdAt)
            try c.encodeIfPresent(startedAt.map { ISODate.string(epochSeconds: $0) }, forKey: .startedAt)
            try c.encodeIfPresent(finishedAt.map { ISODate.string(epochSeconds: $0) }, forKey: .finishedAt)
            try c.encode(results, forKey: .results); try c.encodeIfPresent(error, forKey: .error)
            try c.encode(progress, forKey: .progress)
        }
    }

    private let lock = NSLock()
    private var jobs: [String: Job] = [:]
    private var order: [String] = []
    private var tail: Task<Void, Never>?
    private let library: Library
    private let maxPending: Int
    private let metrics: ServerMetrics

    init(library: Library, maxPending: Int, metrics: ServerMetrics) {
        self.library = library
        self.maxPending = maxPending
        self.metrics = metrics
    }

    /// Jobs queued or running (the index queue depth of a server over a local store).
    var pending: Int {
        lock.lock(); defer { lock.unlock() }
        return jobs.values.filter { $0.state == .queued || $0.state == .running }.count
    }

    func job(_ id: String) -> Job? {
        lock.lock(); defer { lock.unlock() }
        return jobs[id]
    }

    private func update(_ id: String, _ body: (inout Job) -> Void) {
        lock.lock(); defer { lock.unlock() }
        if var j = jobs[id] { body(&j); jobs[id] = j }
    }

    /// Queues an index of `files` (already confined to the library roots); returns the job.
    func submit(files: [URL], requested: [String]) throws -> Job {
        lock.lock()
        let pending = jobs.values.filter { $0.state == .queued || $0.state == .running }.count
        guard pending < maxPending else {
            lock.unlock()
            throw APIError(.tooManyRequests, "too_many_jobs", "\(pending) index jobs are queued or running; try again later")
        }
        let id = UUID().uuidString.lowercased()
        let job = Job(id: id, state: .queued, paths: requested, filesTotal: files.count, createdAt: Date().timeIntervalSince1970)
        jobs[id] = job
        order.append(id)
        while order.count > 100, let oldest = order.first, jobs[oldest]?.state != .queued, jobs[oldest]?.state != .running {
            order.removeFirst()
            jobs[oldest] = nil
        }
        let previous = tail
        let library = self.library
        tail = Task.detached(priority: .utility) { [weak self] in
            await previous?.value
            await self?.run(id: id, files: files, library: library)
        }
        lock.unlock()
        return job
    }

    private func run(id: String, files: [URL], library: Library) async {
        update(id) { $0.state = .running; $0.startedAt = Date().timeIntervalSince1970 }
        do {
            let metrics = self.metrics
            let summary = try await library.index(files) { [weak self] event in
                if case .finished(let r) = event, r.outcome == .indexed || r.outcome == .resumed {
                    metrics.ingested(frames: r.frames, seconds: r.seconds)
                }
                self?.update(id) { j in
                    switch event {
                    case .started(_, _, let path, let frames):
                        j.currentFile = path; j.currentFrames = frames; j.currentFramesDone = 0
                    case .progress(_, _, let path, let done, let frames):
                        j.currentFile = path; j.currentFrames = frames; j.currentFramesDone = done
                    case .waiting:
                        break
                    case .finished(let r):
                        j.results.append(r); j.filesDone = j.results.count
                        j.currentFile = nil; j.currentFrames = 0; j.currentFramesDone = 0
                    }
                }
            }
            update(id) { j in
                j.results = summary.files
                j.filesDone = summary.files.count
                j.state = summary.failed > 0 && summary.indexed == 0 && summary.files.allSatisfy({ $0.outcome == .failed }) ? .failed : .succeeded
                if j.state == .failed { j.error = summary.files.compactMap(\.error).first }
                j.finishedAt = Date().timeIntervalSince1970
            }
        } catch {
            update(id) { $0.state = .failed; $0.error = APIError.from(error).message; $0.finishedAt = Date().timeIntervalSince1970 }
        }
    }
}
