import CKernels
import Foundation
import Tensor
import XCTest

/// The bf16 linear path against an independent reference (operands rounded to bf16 in Swift,
/// products summed in double), the fp32 fallback against BLAS, and the CPU check against what
/// the kernel reports in /proc/cpuinfo.
final class BF16Tests: XCTestCase {
    override func tearDown() {
        Precision.current =
            Precision.resolve(ProcessInfo.processInfo.environment["RSTORE_PRECISION"] ?? "auto") ?? .fp32
    }

    /// Round to nearest even, as the kernel does (finite inputs).
    static func bf16(_ x: Float) -> Double {
        var u = x.bitPattern
        u &+= 0x7fff &+ ((u >> 16) & 1)
        return Double(Float(bitPattern: u & 0xffff_0000))
    }

    func testDetectionAgreesWithTheKernelsFlags() throws {
        let cpuinfo = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        guard let flags = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else {
            throw XCTSkip("no flags line")
        }
        let has = flags.split(separator: " ").contains("avx512_bf16")
        XCTAssertEqual(Precision.bf16Available, has, "cpuid says \(Precision.bf16Available), the kernel says \(has)")
    }

    func testForcedFP32IsBLASExactly() {
        Precision.current = .fp32
        XCTAssertEqual(Precision.current, .fp32)
        var rng = SystemRandomNumberGenerator()
        let (m, n, k) = (5, 7, 9)
        let w = (0..<(n * k)).map { _ in Float.random(in: -1...1, using: &rng) }
        let x = (0..<(m * k)).map { _ in Float.random(in: -1...1, using: &rng) }
        var y = [Float](repeating: 0, count: m * n)
        var z = y
        let layer = Linear(weight: w, bias: nil, inFeatures: k, outFeatures: n)
        x.withUnsafeBufferPointer { px in
            y.withUnsafeMutableBufferPointer { layer(px.baseAddress!, rows: m, into: $0.baseAddress!) }
            w.withUnsafeBufferPointer { pw in
                z.withUnsafeMutableBufferPointer {
                    BLAS.gemmNT(
                        m: m, n: n, k: k, a: px.baseAddress!, lda: k, b: pw.baseAddress!, ldb: k, c: $0.baseAddress!,
                        ldc: n)
                }
            }
        }
        XCTAssertEqual(y, z)
    }

    func testBF16LinearMatchesRoundedOperandsSummedInDouble() throws {
        guard Precision.bf16Available else {
            throw XCTSkip("this CPU has no AVX512-BF16: the fp32 path is the one that runs")
        }
        Precision.current = .bf16
        XCTAssertEqual(Precision.current, .bf16)
        var seed: UInt64 = 7
        func next() -> Float {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(Int64(bitPattern: seed >> 11) % 2000) / 1000 - 1
        }
        // Odd k, n not a multiple of 32, rows not a multiple of 8; with bias, then accumulating.
        for (m, n, k) in [(13, 45, 33), (1, 3, 1), (16, 64, 768), (9, 100, 17)] {
            let w = (0..<(n * k)).map { _ in next() }
            let b = (0..<n).map { _ in next() }
            let x = (0..<(m * k)).map { _ in next() }
            let layer = Linear(weight: w, bias: b, inFeatures: k, outFeatures: n)
            var y = [Float](repeating: 0, count: m * n)
            x.withUnsafeBufferPointer { px in
                y.withUnsafeMutableBufferPointer { layer(px.baseAddress!, rows: m, into: $0.baseAddress!) }
            }
            var worst = 0.0
            for r in 0..<m {
                for j in 0..<n {
                    var s = Double(b[j])
                    for i in 0..<k { s += Self.bf16(x[r * k + i]) * Self.bf16(w[j * k + i]) }
                    worst = max(worst, abs(Double(y[r * n + j]) - s) / max(1, abs(s)))
                }
            }
            XCTAssertLessThan(worst, 1e-5, "m \(m) n \(n) k \(k): bf16 products summed in fp32")
            // Accumulate: adds bias and product onto what is there (the fused residual add).
            var acc = y
            x.withUnsafeBufferPointer { px in
                acc.withUnsafeMutableBufferPointer {
                    layer(px.baseAddress!, rows: m, into: $0.baseAddress!, accumulate: true)
                }
            }
            for i in y.indices { XCTAssertEqual(acc[i], 2 * y[i], accuracy: 1e-4 * max(1, abs(y[i]))) }
        }
    }
}
