import ArgumentParser
import CLIP
import Foundation
import Tensor

/// `rstore bench encoder`: image-tower throughput against the sgemm roofline of this machine,
/// both measured in the same run.
struct BenchEncoderCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encoder",
        abstract: "Images/s and GFLOP/s of the CLIP image tower (random weights) vs sgemm GFLOP/s.")

    @Option(help: "Architecture: B/32, B/16 or L/14.") var arch = "B/32"
    @Option(help: "Images per forward pass.") var batch = 16
    @Option(help: "Seconds to measure (at least one pass).") var seconds = 5.0
    @Flag(help: "Print one JSON object.") var json = false

    func validate() throws {
        guard CLIPConfig.standard(arch) != nil else { throw ValidationError("unknown --arch \(arch) (B/32, B/16, L/14)") }
        guard batch >= 1 && batch <= 1024 else { throw ValidationError("--batch must be in 1...1024") }
    }

    func run() async throws {
        let config = CLIPConfig.standard(arch)!
        let model = CLIPModel(randomWith: config)
        let sgemm = Roofline.sgemmGFLOPs(seconds: min(2, seconds))
        let stride = 3 * config.imageSize * config.imageSize
        var rng = SplitMix(seed: 1)
        let pixels = (0..<(batch * stride)).map { _ in rng.normal() }
        _ = model.encodeImages(pixels: pixels, count: batch)     // warm-up: page in weights, allocator
        let clock = ContinuousClock()
        var passes = 0
        let start = clock.now
        repeat {
            _ = model.encodeImages(pixels: pixels, count: batch)
            passes += 1
        } while (clock.now - start).seconds < seconds
        let elapsed = (clock.now - start).seconds
        let imagesPerSecond = Double(passes * batch) / elapsed
        let gflops = imagesPerSecond * model.vision.flops() / 1e9
        let result = Result(arch: config.archName.replacingOccurrences(of: "ViT-", with: ""), batch: batch,
                            images_per_s: imagesPerSecond, gflops: gflops, sgemm_gflops: sgemm,
                            roofline_ratio: gflops / sgemm, blas_core: BLASCore.summary)
        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.sortedKeys]
            print(String(decoding: try enc.encode(result), as: UTF8.self))
        } else {
            print(String(format: "%@ batch %d: %.2f images/s, %.1f GFLOP/s (%.2f GFLOP/image); sgemm %.1f GFLOP/s; ratio %.2f (threads %d, kernels %@)",
                         config.archName, batch, imagesPerSecond, gflops, model.vision.flops() / 1e9, sgemm, gflops / sgemm, BLAS.threads, BLASCore.summary))
        }
    }

    struct Result: Encodable {
        let arch: String
        let batch: Int
        let images_per_s: Double
        let gflops: Double
        let sgemm_gflops: Double
        let roofline_ratio: Double
        let blas_core: String
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}
