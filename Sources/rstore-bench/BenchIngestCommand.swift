import ArgumentParser
import CLIP
import Foundation
import RStoreCommandLine
import ResidualStore
import Tensor
import Timeline
import Video

/// `rstore bench ingest FILE...`: indexes the files into a fresh store per run and prints where
/// the time went (`IngestCost`: CPU and wall per video-hour by stage, frames decoded vs sampled).
struct BenchIngestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Ingest cost breakdown: CPU and wall seconds per video-hour by stage, frames decoded vs sampled.")

    @OptionGroup var model: ModelOption
    @Argument(help: "Video files or folders.") var paths: [String]
    @Option(help: "P-frames per I-frame (N).") var n = 2
    @Option(help: "Fraction of patch tokens dropped on P-frames (p).") var p = 0.85
    @Option(help: "Token reduction: motion, random, uniform, center.") var strategy = ReductionStrategy.motion
    @Option(help: "I-frame placement: fixed or adaptive.") var iframes = IFramePlacement.adaptive
    @Option(help: "Motion source for --strategy motion: vectors or pixels (default: the library's).") var motionSource:
        MotionSource?
    @Option(help: "Byte budget of the decoded-frame tier in MB; 0 turns it off.") var frameTierMB = 2048
    @Option(help: "Runs, each into a fresh store.") var runs = 1
    @Flag(help: "Print one JSON object per run.") var json = false

    struct Run: Encodable {
        var run: Int
        var seconds: Double
        var frames_encoded: Int
        var blas_threads: Int
        var cost: IngestCost
    }

    func validate() throws {
        guard runs >= 1 else { throw ValidationError("--runs must be >= 1") }
        guard !paths.isEmpty else { throw ValidationError("give video files or folders") }
    }

    func run() async throws {
        let clip = try model.load()
        let files = paths.map { URL(fileURLWithPath: $0) }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rstore-bench-ingest-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        for i in 1...runs {
            var c = Library.Configuration()
            c.recipe.n = n
            c.recipe.p = p
            c.recipe.strategy = strategy
            c.recipe.iframes = iframes
            c.motionSource = motionSource
            c.frameTierBytes = max(0, frameTierMB) << 20
            let store = dir.appendingPathComponent("run-\(i).rstore")
            let lib = try Library(store: store, model: clip, configuration: c)
            let t0 = Date()
            let summary = try await lib.index(files)
            let seconds = Date().timeIntervalSince(t0)
            for f in summary.files where f.outcome == .failed {
                FileHandle.standardError.write(Data("failed: \(f.error ?? f.path)\n".utf8))
            }
            guard summary.failed == 0, let cost = summary.cost else { throw ExitCode(1) }
            for suffix in ["", "-wal", "-shm", ".frames", ".matrix"] {
                try? FileManager.default.removeItem(atPath: store.path + suffix)
            }
            let r = Run(
                run: i, seconds: seconds, frames_encoded: summary.framesEncoded, blas_threads: BLAS.threads, cost: cost)
            if json {
                try printJSON(r)
            } else {
                print(
                    String(
                        format:
                            """
                            run %d: %.2f s wall for %.1f s of video (%.1fx real time), %d I-frames encoded, N=%d %@ \
                            %@ motion from %@, tier %d MB
                            """,
                        i, seconds, cost.videoSeconds, cost.videoSeconds / max(seconds, 1e-9), summary.framesEncoded, n,
                        strategy.rawValue, iframes.rawValue,
                        (motionSource ?? Library.Configuration.defaultMotionSource).rawValue, frameTierMB))
                print(cost.table)
            }
        }
    }
}
