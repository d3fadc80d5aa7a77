import Digest
import Foundation
import Tensor
import XCTest

/// Each kernel against a plain double-precision loop.
final class KernelTests: XCTestCase {
    func testFastExpAndErfMatchLibm() {
        var worstExp: Double = 0
        var worstErf: Double = 0
        var x: Float = -20
        while x < 20 {
            let v = FastMath.V(repeating: x)
            worstExp = max(
                worstExp, abs(Double(FastMath.exp(v)[0]) - Foundation.exp(Double(x))) / Foundation.exp(Double(x)))
            worstErf = max(worstErf, abs(Double(FastMath.erf(v)[0]) - Foundation.erf(Double(x))))
            x += 0.001
        }
        XCTAssertLessThan(worstExp, 3e-7, "exp relative error")
        XCTAssertLessThan(worstErf, 3e-7, "erf absolute error")
        XCTAssertEqual(FastMath.exp(FastMath.V(repeating: -200))[0], 0, accuracy: 1e-37)
        XCTAssertTrue(FastMath.exp(FastMath.V(repeating: 200))[0].isFinite)
    }

    func testActivationsMatchDefinitions() {
        let xs: [Float] = (0..<37).map { Float($0) * 0.37 - 6 }
        for act in [Activation.gelu, .quickGELU] {
            var y = xs
            y.withUnsafeMutableBufferPointer { act.apply($0.baseAddress!, count: xs.count) }
            for (x, v) in zip(xs, y) {
                let d = Double(x)
                let expected =
                    act == .gelu
                    ? 0.5 * d * (1 + Foundation.erf(d / 2.0.squareRoot())) : d / (1 + Foundation.exp(-1.702 * d))
                XCTAssertEqual(Double(v), expected, accuracy: 1e-6, "\(act) at \(x)")
            }
        }
    }

    func testLayerNormAndLinear() {
        let rows = 5
        let d = 13
        let x = (0..<(rows * d)).map { Float(sin(Double($0))) * 3 }
        let w = (0..<d).map { Float($0) * 0.1 + 0.5 }
        let b = (0..<d).map { Float($0) * -0.05 }
        var y = [Float](repeating: 0, count: rows * d)
        x.withUnsafeBufferPointer { xp in
            y.withUnsafeMutableBufferPointer {
                LayerNorm(weight: w, bias: b)(xp.baseAddress!, rows: rows, into: $0.baseAddress!)
            }
        }
        for r in 0..<rows {
            let row = x[r * d..<(r + 1) * d].map(Double.init)
            let mean = row.reduce(0, +) / Double(d)
            let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(d)
            for i in 0..<d {
                XCTAssertEqual(
                    Double(y[r * d + i]),
                    (row[i] - mean) / (variance + 1e-5).squareRoot() * Double(w[i]) + Double(b[i]), accuracy: 1e-5)
            }
        }
        let out = 7
        let weight = (0..<(out * d)).map { Float(cos(Double($0))) }
        let bias = (0..<out).map { Float($0) }
        var z = [Float](repeating: 1, count: rows * out)
        x.withUnsafeBufferPointer { xp in
            z.withUnsafeMutableBufferPointer {
                Linear(weight: weight, bias: bias, inFeatures: d, outFeatures: out)(
                    xp.baseAddress!, rows: rows, into: $0.baseAddress!, accumulate: true)
            }
        }
        for r in 0..<rows {
            for o in 0..<out {
                var acc = 1.0 + Double(bias[o])
                for i in 0..<d { acc += Double(x[r * d + i]) * Double(weight[o * d + i]) }
                XCTAssertEqual(Double(z[r * out + o]), acc, accuracy: 1e-4)
            }
        }
    }

    func testPackedAttentionMatchesNaive() {
        let width = 8
        let heads = 2
        let hd = 4
        let lengths = [3, 1, 5]
        let packing = Attention.Packing(lengths: lengths)
        let rows = packing.totalRows
        let qkv = (0..<(rows * 3 * width)).map { Float(sin(Double($0) * 0.7)) }
        for causal in [false, true] {
            var out = [Float](repeating: 0, count: rows * width)
            qkv.withUnsafeBufferPointer { q in
                out.withUnsafeMutableBufferPointer {
                    Attention.forward(
                        qkv: q.baseAddress!, packing: packing, heads: heads, width: width, causal: causal,
                        into: $0.baseAddress!)
                }
            }
            for (s, t) in lengths.enumerated() {
                let o = packing.offsets[s]
                for h in 0..<heads {
                    for i in 0..<t {
                        var scores = [Double]()
                        for j in 0..<t {
                            var dot = 0.0
                            for c in 0..<hd {
                                dot +=
                                    Double(qkv[(o + i) * 3 * width + h * hd + c])
                                    * Double(qkv[(o + j) * 3 * width + width + h * hd + c])
                            }
                            scores.append(causal && j > i ? -.infinity : dot / Double(hd).squareRoot())
                        }
                        let m = scores.max()!
                        let e = scores.map { Foundation.exp($0 - m) }
                        let sum = e.reduce(0, +)
                        for c in 0..<hd {
                            var v = 0.0
                            for j in 0..<t {
                                v += e[j] / sum * Double(qkv[(o + j) * 3 * width + 2 * width + h * hd + c])
                            }
                            XCTAssertEqual(
                                Double(out[(o + i) * width + h * hd + c]), v, accuracy: 1e-5,
                                "seq \(s) head \(h) row \(i) causal \(causal)")
                        }
                    }
                }
            }
        }
    }

    func testSHA256KnownVectors() {
        XCTAssertEqual(SHA256.hex(Data()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hex(Data("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(
            SHA256.hex(Data("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        var s = SHA256()
        let million = Data(repeating: UInt8(ascii: "a"), count: 1_000_000)
        // Uneven chunks exercise the block buffer.
        var i = 0
        for size in [1, 63, 64, 65, 1000, 200_000] + Array(repeating: 100_000, count: 8) where i < million.count {
            let end = min(million.count, i + size)
            s.update(million.subdata(in: i..<end))
            i = end
        }
        if i < million.count { s.update(million.subdata(in: i..<million.count)) }
        XCTAssertEqual(
            s.finalize().map { String(format: "%02x", $0) }.joined(),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }
}
