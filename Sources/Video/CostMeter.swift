import Foundation

/// The stages of an ingest a cost breakdown names.
public enum CostStage: String, CaseIterable, Codable, Sendable {
    /// Opening and probing the file and hashing its content (what identifies it in the store).
    case probe = "probe_hash"
    /// Packet reading and decoding (the decode thread and the decoder's own threads).
    case decode = "demux_decode"
    /// Decoded picture to RGB (swscale, rotation) and RGB to the model input (resize, crop).
    case convert = "convert_resize"
    /// Codec motion vectors to per-patch motion.
    case motion
    /// The shot-cut detector (adaptive I-frame placement).
    case shotDetection = "shot_detection"
    /// Full ViT forward passes of I-frames (with the helper threads of their GEMMs).
    case encode = "full_encodes"
    /// Choosing kept patches and writing the decoded-frame tier.
    case tier = "tier_writing"
    /// Committing chunks to the store.
    case commit = "store_commits"
}

/// CPU and wall seconds of one stage.
public struct StageCost: Codable, Sendable, Equatable {
    public var cpuSeconds = 0.0
    public var wallSeconds = 0.0
    public init(cpuSeconds: Double = 0, wallSeconds: Double = 0) {
        self.cpuSeconds = cpuSeconds
        self.wallSeconds = wallSeconds
    }
}

/// Where an ingest's time went: per stage, CPU seconds (all threads doing that stage's work)
/// and wall seconds (time the stage's own thread was busy in it; stages on different threads
/// overlap, so walls do not add up to the total), plus what was decoded against what was
/// sampled. `unattributed` is the process CPU no stage claimed (progress, leases, idle spinning
/// of worker pools): it says how far the breakdown can be trusted.
public struct IngestCost: Codable, Sendable, Equatable {
    public var stages: [String: StageCost] = [:]
    public var wallSeconds = 0.0
    public var processCPUSeconds = 0.0
    public var unattributedCPUSeconds = 0.0
    public var videoSeconds = 0.0
    public var framesDecoded = 0
    /// Frames the decoder was given but dropped (non-reference frames no sample needed).
    public var framesSkipped = 0
    public var framesSampled = 0
    public var framesConverted = 0

    public init() {}

    public subscript(_ stage: CostStage) -> StageCost {
        get { stages[stage.rawValue] ?? StageCost() }
        set { stages[stage.rawValue] = newValue }
    }

    /// Adds another run's figures (a library's files).
    public mutating func add(_ o: IngestCost) {
        for (k, v) in o.stages {
            var s = stages[k] ?? StageCost()
            s.cpuSeconds += v.cpuSeconds
            s.wallSeconds += v.wallSeconds
            stages[k] = s
        }
        wallSeconds += o.wallSeconds
        processCPUSeconds += o.processCPUSeconds
        unattributedCPUSeconds += o.unattributedCPUSeconds
        videoSeconds += o.videoSeconds
        framesDecoded += o.framesDecoded
        framesSkipped += o.framesSkipped
        framesSampled += o.framesSampled
        framesConverted += o.framesConverted
    }

    /// Seconds per hour of video for `seconds` spent on this run's video.
    public func perVideoHour(_ seconds: Double) -> Double { videoSeconds > 0 ? seconds * 3600 / videoSeconds : 0 }

    /// A table: one line per stage, CPU and wall per video-hour and share of the process CPU.
    public var table: String {
        func row(_ name: String, _ cpu: String, _ wall: String, _ share: String) -> String {
            name.padding(toLength: 16, withPad: " ", startingAt: 0)
                + [cpu, wall, share].map { String(repeating: " ", count: max(0, 12 - $0.count)) + $0 }.joined()
        }
        let total = max(processCPUSeconds, 1e-9)
        func f(_ x: Double) -> String { String(format: "%.1f", perVideoHour(x)) }
        func pct(_ x: Double) -> String { String(format: "%.1f%%", 100 * x / total) }
        var lines = [row("stage", "cpu s/vh", "wall s/vh", "cpu share")]
        for stage in CostStage.allCases {
            let s = self[stage]
            lines.append(row(stage.rawValue, f(s.cpuSeconds), f(s.wallSeconds), pct(s.cpuSeconds)))
        }
        lines.append(row("unattributed", f(unattributedCPUSeconds), "", pct(unattributedCPUSeconds)))
        lines.append(row("total", f(processCPUSeconds), f(wallSeconds), ""))
        lines.append(
            String(
                format: "frames: %d decoded, %d skipped, %d sampled, %d converted; %.1f s of video",
                framesDecoded, framesSkipped, framesSampled, framesConverted, videoSeconds))
        return lines.joined(separator: "\n")
    }
}

/// Collects an ingest's stage costs from the threads doing the work (thread-safe).
public final class CostMeter: @unchecked Sendable {
    private let lock = NSLock()
    private var cost = IngestCost()
    private let startWall = Date()
    private let startCPU = ThreadCPU.process()

    public init() {}

    /// Adds CPU and wall seconds to `stage`.
    public func add(_ stage: CostStage, cpu: Double, wall: Double) {
        lock.withLock {
            cost[stage].cpuSeconds += cpu
            cost[stage].wallSeconds += wall
        }
    }

    /// Names (prefixes) of the threads a pipeline's own stages run on (`VideoReader`'s decode
    /// and convert threads, the lease heartbeat): never helpers of another stage.
    public static let pipelineThreads = ["rstore.dec", "rstore.convert", "rstore.lease"]

    /// Runs `body` on this thread and charges its CPU and wall time to `stage`. With
    /// `helpers`, the CPU that every other thread except the pipeline's own
    /// (`pipelineThreads`) spent meanwhile is charged too: for work that fans out to worker
    /// pools (GEMMs, parallel kernels) while only the pipeline's threads run beside it.
    public func measure<T>(_ stage: CostStage, helpers: Bool = false, _ body: () throws -> T) rethrows -> T {
        let me = ThreadCPU.currentID()
        func others() -> [Int32: Double] {
            guard helpers else { return [:] }
            var out: [Int32: Double] = [:]
            for t in ThreadCPU.threads()
            where t.tid != me && !Self.pipelineThreads.contains(where: { t.name.hasPrefix($0) }) {
                out[t.tid] = t.seconds
            }
            return out
        }
        let before = others()
        let c0 = ThreadCPU.current()
        let t0 = Date()
        defer {
            var cpu = ThreadCPU.current() - c0
            let wall = Date().timeIntervalSince(t0)
            if helpers {
                for (tid, s) in others() { cpu += max(0, s - (before[tid] ?? 0)) }
            }
            add(stage, cpu: cpu, wall: wall)
        }
        return try body()
    }

    /// Records a pass's frame counts.
    public func frames(decoded: Int, skipped: Int, sampled: Int, converted: Int) {
        lock.withLock {
            cost.framesDecoded += decoded
            cost.framesSkipped += skipped
            cost.framesSampled += sampled
            cost.framesConverted += converted
        }
    }

    /// The figures so far, with total wall and process CPU since the meter was made.
    public func finish(videoSeconds: Double) -> IngestCost {
        lock.withLock {
            var c = cost
            c.videoSeconds = videoSeconds
            c.wallSeconds = Date().timeIntervalSince(startWall)
            c.processCPUSeconds = ThreadCPU.process() - startCPU
            c.unattributedCPUSeconds = max(0, c.processCPUSeconds - c.stages.values.reduce(0) { $0 + $1.cpuSeconds })
            return c
        }
    }
}

extension Optional where Wrapped == CostMeter {
    /// `body`, charged to `stage` when there is a meter (see `CostMeter.measure`).
    public func measure<T>(_ stage: CostStage, helpers: Bool = false, _ body: () throws -> T) rethrows -> T {
        guard let meter = self else { return try body() }
        return try meter.measure(stage, helpers: helpers, body)
    }
}
