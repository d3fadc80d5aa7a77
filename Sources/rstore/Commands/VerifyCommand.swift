import ArgumentParser
import CLIP
import Foundation
import ResidualStore
import Video

/// `rstore verify`: decode every blob, and recompute a sample of I-features from the video files.
struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "verify", abstract: "Check every stored blob and recompute a sample of I-features.")

    @OptionGroup var library: LibraryOptions
    @Option(help: "I-features to recompute per video.") var sample = 3
    @Option(help: "Minimum cosine between stored and recomputed I-features.") var minCosine = 0.999

    func run() async throws {
        let lib = try library.open()
        var problems = try lib.store.verifyBlobs()
        do { try lib.model.verifyWeightsHash() } catch { problems.append("\(error)") }
        var checked = 0
        for v in try lib.store.videos(status: .ready) {
            let stored = try lib.store.iFeatures(of: v)
            guard !stored.isEmpty else { continue }
            let picks = (0..<min(sample, stored.count)).map { stored[$0 * stored.count / min(sample, stored.count)] }
            let offsets = try lib.store.offsets(of: v)
            if let stale = lib.staleness(v) {
                problems.append("\(stale)")
                continue
            }
            do {
                // Damage concealed at ingest is concealed the same way here.
                let reader = try VideoReader(url: URL(fileURLWithPath: v.path), threads: v.damage != nil ? 1 : 0, concealDamage: v.damage != nil)
                let images = try reader.decode(offsets: picks.map {
                    let o = offsets[$0.index]
                    return FrameOffset(index: o.index, pts: o.pts, time: o.time, seekPTS: o.seekPTS)
                })
                let size = lib.model.config.imageSize
                let pixels = images.flatMap { CLIPPreprocessor.normalize(CLIPPreprocessor.resizeAndCrop($0, size: size)) }
                let fresh = lib.model.encodeImages(pixels: pixels, count: picks.count)
                let dim = lib.model.config.embedDim
                for (j, p) in picks.enumerated() {
                    let a = p.vector, b = Array(fresh[j * dim..<(j + 1) * dim])
                    let cos = zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } / (a.reduce(0) { $0 + $1 * $1 }.squareRoot() * b.reduce(0) { $0 + $1 * $1 }.squareRoot())
                    if Double(cos) < minCosine { problems.append(String(format: "%@ frame %d: stored vs recomputed cosine %.5f", v.path, p.index, cos)) }
                    checked += 1
                }
            } catch {
                problems.append("\(v.path): cannot recompute: \(error)")
            }
        }
        for p in problems { print("problem: \(p)") }
        print("\(checked) I-features recomputed; \(problems.count) problem(s)")
        if !problems.isEmpty { throw ExitCode(1) }
    }
}
