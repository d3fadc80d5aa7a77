import ArgumentParser
import CLIP
import Foundation
import Tensor

/// `rstore bench residual`: measured cost of full and P-frame passes, the interleaved
/// average for N in 1...4 and several p, and measured vs predicted speed-up.
struct BenchResidualCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "residual",
        abstract:
            """
            ms per full frame and per P-frame (random weights), interleaved speed-up measured vs the paper's cost \
            model.
            """
    )

    @Option(help: "Architectures, comma-separated.") var arch = "B/32,B/16"
    @Option(help: "Drop ratios p, comma-separated.") var p = "0.5,0.75,0.85,0.9"
    @Option(help: "Full frames per forward pass.") var batchFull = 16
    @Option(help: "P-frames per forward pass.") var batchP = 256
    @Option(help: "Seconds to measure each configuration.") var seconds = 2.0
    @Flag(help: "Print a JSON list.") var json = false

    struct Row: Encodable {
        let arch: String, n: Int, p: Double
        let ms_full: Double, ms_p: Double, ms_interleaved: Double
        let speedup_measured: Double, speedup_predicted: Double, speedup_flops: Double
    }

    func run() async throws {
        let ps = p.split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
        var rows: [Row] = []
        for name in arch.split(separator: ",").map(String.init) {
            guard let config = CLIPConfig.standard(name) else { throw ValidationError("unknown arch \(name)") }
            let model = CLIPModel(randomWith: config)
            let stride = config.imageFloats
            var rng = SplitMix(seed: 2)
            let frames = max(batchFull, batchP)
            let pixels = (0..<(frames * stride)).map { _ in rng.normal() }
            let anchors = (0..<(batchP * config.embedDim)).map { _ in rng.normal() }
            let a = ResidualTokenizer(
                weight: (0..<(config.vision.width * config.embedDim)).map { _ in rng.normal() * 0.02 },
                bias: [Float](repeating: 0, count: config.vision.width),
                embedDim: config.embedDim, width: config.vision.width, clipSHA256: model.weightsSHA256)
            let msFull = pixels.withUnsafeBufferPointer { px in
                let reqs = (0..<batchFull).map { VisionTower.Request(pixels: px.baseAddress! + $0 * stride) }
                return Self.time(seconds) { _ = model.vision.encode(reqs) } / Double(batchFull)
            }
            for pv in ps {
                let enc = try ResidualEncoder(
                    model: model, tokenizer: a, n: 2, reduction: TokenReduction(p: pv, strategy: .motion))
                let msP = pixels.withUnsafeBufferPointer { px in
                    let pf = (0..<batchP).map { i in
                        ResidualEncoder.PFrame(
                            index: i + 1, pixels: px.baseAddress! + i * stride,
                            anchorPixels: px.baseAddress! + ((i + 1) % frames) * stride,
                            anchorFeature: anchors[i * config.embedDim..<(i + 1) * config.embedDim])
                    }
                    return Self.time(seconds) { _ = enc.encodePFrames(pf) } / Double(batchP)
                }
                for n in 1...4 {
                    let inter = (msFull + Double(n) * msP) / Double(n + 1)
                    let flopsAvg = (enc.flopsFull + Double(n) * enc.flopsP) / Double(n + 1)
                    rows.append(
                        Row(
                            arch: name, n: n, p: pv, ms_full: msFull, ms_p: msP, ms_interleaved: inter,
                            speedup_measured: msFull / inter,
                            speedup_predicted: 1 / ResidualEncoder.paperCostRatio(n: n, p: pv),
                            speedup_flops: enc.flopsFull / flopsAvg))
                }
            }
        }
        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.sortedKeys]
            print(String(decoding: try enc.encode(rows), as: UTF8.self))
        } else {
            print("arch  N  p     ms/full  ms/P    ms/avg   speedup  predicted  ratio  (flops-based)")
            for r in rows {
                print(
                    String(
                        format: "%@  %d  %.2f  %7.2f  %6.3f  %7.2f  %6.2fx  %8.2fx  %5.2f  (%.2fx)", r.arch, r.n, r.p,
                        r.ms_full, r.ms_p,
                        r.ms_interleaved, r.speedup_measured, r.speedup_predicted,
                        r.speedup_measured / r.speedup_predicted, r.speedup_flops))
            }
        }
    }

    /// Mean seconds→ms per call over about `seconds` after one warm-up call.
    static func time(_ seconds: Double, _ body: () -> Void) -> Double {
        body()
        let clock = ContinuousClock()
        var calls = 0
        let start = clock.now
        repeat {
            body()
            calls += 1
        } while (clock.now - start).seconds < seconds
        return (clock.now - start).seconds * 1000 / Double(calls)
    }
}
