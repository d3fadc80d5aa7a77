import ArgumentParser
import CLIP
import Foundation
import RStoreCommandLine
import Tensor

/// `rstore bench encoder`: image-tower throughput against the sgemm roofline of this machine,
/// both measured in the same run; where the CPU has AVX512-BF16, fp32 and bf16 side by side with
/// the cosine of bf16 features to fp32's.
struct BenchEncoderCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encoder",
        abstract: "Images/s and GFLOP/s of the CLIP image tower (random weights) vs sgemm GFLOP/s.")

    @Option(help: "Architecture: B/32, B/16 or L/14.") var arch = "B/32"
    @Option(help: "Images per forward pass.") var batch = 16
    @Option(help: "Seconds to measure (at least one pass).") var seconds = 5.0
    @Option(help: "fp32, bf16, or both (bf16 where the CPU has AVX512-BF16).") var precision = "both"
    @Flag(help: "Print one JSON object.") var json = false

    func validate() throws {
        guard CLIPConfig.standard(arch) != nil else {
            throw ValidationError("unknown --arch \(arch) (B/32, B/16, L/14)")
        }
        guard batch >= 1 && batch <= 1024 else { throw ValidationError("--batch must be in 1...1024") }
        guard ["fp32", "bf16", "both"].contains(precision) else {
            throw ValidationError("--precision \(precision): fp32, bf16 or both")
        }
    }

    func run() async throws {
        let config = CLIPConfig.standard(arch)!
        let model = CLIPModel(randomWith: config)
        let sgemm = Roofline.sgemmGFLOPs(seconds: min(2, seconds))
        let stride = config.imageFloats
        var rng = SplitMix(seed: 1)
        let pixels = (0..<(batch * stride)).map { _ in rng.normal() }
        let chosen = Precision.current
        defer { Precision.current = chosen }
        var wanted: [Precision] = precision == "both" ? [.fp32, .bf16] : [Precision(rawValue: precision)!]
        if !Precision.bf16Available { wanted = [.fp32] }
        var rates: [Precision: Double] = [:]
        var features: [Precision: [Float]] = [:]
        for p in wanted {
            Precision.current = p
            features[p] = model.encodeImages(pixels: pixels, count: batch)  // warm-up: page in weights, pack bf16
            let clock = ContinuousClock()
            var passes = 0
            let start = clock.now
            repeat {
                _ = model.encodeImages(pixels: pixels, count: batch)
                passes += 1
            } while (clock.now - start).seconds < seconds
            rates[p] = Double(passes * batch) / (clock.now - start).seconds
        }
        var cosine: Double? = nil
        if let a = features[.fp32], let b = features[.bf16] {
            let d = config.embedDim
            cosine = (0..<batch).map { i in
                Double(VectorMath.cosine(a[(i * d)..<((i + 1) * d)], b[(i * d)..<((i + 1) * d)]))
            }.min()
        }
        let best = wanted.contains(.bf16) ? Precision.bf16 : .fp32
        let imagesPerSecond = rates[best]!
        let gflops = imagesPerSecond * model.vision.flops() / 1e9
        let result = Result(
            arch: config.archName.replacingOccurrences(of: "ViT-", with: ""), batch: batch,
            images_per_s: imagesPerSecond, gflops: gflops, sgemm_gflops: sgemm,
            roofline_ratio: gflops / sgemm, blas_core: BLASCore.summary, precision: best.rawValue,
            bf16_available: Precision.bf16Available, fp32_images_per_s: rates[.fp32],
            bf16_images_per_s: rates[.bf16], bf16_speedup: rates[.bf16].flatMap { b in rates[.fp32].map { b / $0 } },
            bf16_min_cosine: cosine)
        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.sortedKeys]
            print(String(decoding: try enc.encode(result), as: UTF8.self))
        } else {
            print(
                String(
                    format:
                        """
                        %@ batch %d, %@: %.2f images/s, %.1f GFLOP/s (%.2f GFLOP/image); sgemm %.1f GFLOP/s; ratio \
                        %.2f (threads %d, kernels %@)
                        """,
                    config.archName, batch, best.rawValue, imagesPerSecond, gflops, model.vision.flops() / 1e9, sgemm,
                    gflops / sgemm, BLAS.threads, BLASCore.summary))
            if let f = rates[.fp32], let b = rates[.bf16], let cosine {
                print(
                    String(
                        format: "fp32 %.2f images/s, bf16 %.2f images/s: %.2fx; bf16 vs fp32 features: min cosine %.5f",
                        f, b, b / f, cosine))
            } else if !Precision.bf16Available {
                print("this CPU has no AVX512-BF16: fp32 only")
            }
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
        let precision: String
        let bf16_available: Bool
        let fp32_images_per_s: Double?
        let bf16_images_per_s: Double?
        let bf16_speedup: Double?
        let bf16_min_cosine: Double?
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}
