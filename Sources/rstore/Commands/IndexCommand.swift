import ArgumentParser
import CLIP
import Foundation
import RStoreCommandLine
import ResidualStore
import Store
import Timeline
import Video

/// `rstore index PATH...`: decode, encode I-frames, store; resumable and idempotent.
struct IndexCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "index",
        abstract:
            "Index video files and folders into the store (I-features only; P-features are reconstructed on demand).")

    @OptionGroup var library: LibraryOptions
    @Argument(help: "Video files or folders (searched recursively).") var paths: [String] = []
    @Flag(help: "Also re-index every stored video whose file changed since it was indexed (see `rstore stats`).")
    var stale = false
    @Option(help: "Sampling rate, frames per second.") var fps = IndexRecipe.default.fps
    @Option(help: "P-frames per I-frame (N).") var n = IndexRecipe.default.n
    @Option(help: "Fraction of patch tokens dropped on P-frames (p).") var p = IndexRecipe.default.p
    @Option(help: "Token reduction: motion, random, uniform, center.") var strategy = IndexRecipe.default.strategy
    @Option(
        help:
            """
            I-frame placement: fixed (every N+1 sampled frames, as the paper) or adaptive (also at every detected \
            shot cut; at most twice the I-frames). Default: adaptive for new files, and an indexed, unchanged file \
            keeps its placement; given, files indexed with the other placement are re-indexed.
            """
    )
    var iframes: IFramePlacement?
    @Option(help: "Feature codec: f16+lz4 or i8+lz4.") var codec = IndexRecipe.default.codec
    @Option(
        help:
            """
            What ranks patches for --strategy motion in newly indexed files: vectors (the codec's, where it exports \
            them: every frame decoded on one thread) or pixels (difference to the anchor: only sampled frames \
            decoded). Default: \(Library.Configuration.defaultMotionSource.rawValue). An indexed file keeps its \
            source.
            """
    )
    var motionSource: MotionSource?
    @Option(help: "Frames per committed chunk (the unit of crash-safe resume).") var chunkFrames = IndexRecipe.default
        .chunkFrames
    @Flag(
        help:
            """
            Fail damaged or truncated files instead of indexing what decodes (damage is concealed and recorded by \
            default).
            """
    )
    var strict = false
    @Flag(help: "Skip files another rstore process is indexing instead of waiting for them.") var noWait = false
    @Flag(help: "Print a JSON summary (with `cost`: CPU and wall seconds by stage, frames decoded vs sampled).")
    var json = false

    func validate() throws {
        try checkRecipe(recipe)
        guard !paths.isEmpty || stale else { throw ValidationError("give video files or folders to index, or --stale") }
    }

    var recipe: IndexRecipe {
        IndexRecipe(fps: fps, n: n, p: p, strategy: strategy, iframes: iframes, codec: codec, chunkFrames: chunkFrames)
    }

    func run() async throws {
        var config = Library.Configuration()
        config.recipe = recipe
        config.motionSource = motionSource
        config.strict = strict
        config.waitForLeases = !noWait
        let lib = try library.open(config)
        let bar = ProgressBar()
        let framesDone = Counter()
        var urls = paths.map { URL(fileURLWithPath: $0) }
        if stale {
            // Changed files only: moved or deleted ones have nothing to index at their path.
            let changed = try lib.videos().filter { v in
                guard v.status == .ready, case .stale? = lib.staleness(v) else { return false }
                return true
            }
            urls += try changed.map { try lib.file(of: $0) }
        }
        let summary = try await lib.index(urls) { event in
            switch event {
            case .started(let i, let total, let path, let frames):
                bar.update(file: i, of: total, name: path, done: 0, total: frames, framesSoFar: framesDone.value)
            case .progress(let i, let total, let path, let done, let frames):
                framesDone.increment()
                bar.update(file: i, of: total, name: path, done: done, total: frames, framesSoFar: framesDone.value)
            case .waiting(_, _, let path, let holder, let until):
                let left = max(0, until - Date().timeIntervalSince1970)
                bar.log(
                    String(
                        format: "%@: %@ is being indexed by %@ (lease for %.0f s more); %@",
                        noWait ? "skipping" : "waiting",
                        path, holder, left, noWait ? "skipped" : "coming back to it after the other files"))
            case .finished(let r):
                switch r.outcome {
                case .failed: bar.log("failed: \(r.error ?? r.path)")
                case .unchanged: bar.log("unchanged: \(r.path)")
                case .skipped: bar.log("skipped: \(r.error ?? r.path)")
                case .indexed, .resumed:
                    bar.log(
                        String(format: "%@: %@, %d frames in %.1f s", r.outcome.rawValue, r.path, r.frames, r.seconds)
                            + (r.damage.map { " (damaged, concealed: \($0))" } ?? ""))
                }
            }
        }
        bar.finish()
        if summary.indexed > 0 {
            // An archive's approximate index is brought up to date here, not by the next query.
            do {
                let p = try lib.prepareStage1(indexOnly: true)
                if p.mode == .ann {
                    let line = String(
                        format: "stage-1 index: %d I-features, up to date in %.1f s\n", p.rows, p.seconds)
                    FileHandle.standardError.write(Data(line.utf8))
                }
            } catch {
                FileHandle.standardError.write(
                    Data("warning: stage-1 index not updated (\(error)); the next search builds it\n".utf8))
            }
        }
        if json {
            try printJSON(summary)
        } else {
            print(
                String(
                    format: "%d indexed, %d unchanged, %d skipped, %d failed; %d I-frames encoded in %.1f s; store %@",
                    summary.indexed, summary.files.filter { $0.outcome == .unchanged }.count,
                    summary.files.filter { $0.outcome == .skipped }.count, summary.failed,
                    summary.framesEncoded, summary.seconds, lib.storePath))
        }
        if summary.failed > 0 { throw ExitCode(1) }
    }
}

/// A counter shared with a progress callback.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    var value: Int {
        lock.lock()
        defer { lock.unlock() }
        return n
    }
    func increment() {
        lock.lock()
        n += 1
        lock.unlock()
    }
}
