import CLIP
import CLIPTraining
import Foundation
import Tensor
import TestSupport
import XCTest

/// The hand-written backward pass through the frozen ViT to A, checked against torch
/// autograd (Tools/fixtures/make_residual_fixture.py) and against finite differences.
final class ResidualTrainingBackwardTests: XCTestCase {
    static let model = TinyCLIP.model

    struct Cases: Decodable {
        let keeps: [[Int]]
        let anchor_of: [Int]
        let scale: Float
        let losses: [String: Float]
    }

    struct Reference {
        let cases: Cases
        let file: SafeTensorsFile
        let pixels: [Float]
        let tokenizer: ResidualTokenizer
        let teacher: [Float]
        let anchors: [Float]
        let texts: [Float]
    }

    static func reference() throws -> Reference {
        let model = try model.get()
        let dir = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent(
            "residual-reference")
        let cases = try JSONDecoder().decode(
            Cases.self, from: Data(contentsOf: dir.appendingPathComponent("cases.json")))
        let f = try SafeTensorsFile(url: dir.appendingPathComponent("reference.safetensors"))
        let d = model.config.vision.width
        let b = model.config.embedDim
        let a = ResidualTokenizer(
            weight: try f.floats("weight", shape: [d, b]), bias: try f.floats("bias", shape: [d]),
            embedDim: b, width: d, clipSHA256: model.weightsSHA256)
        return Reference(
            cases: cases, file: f,
            pixels: SyntheticPixels.make(count: cases.keeps.count, size: model.config.imageSize),
            tokenizer: a, teacher: try f.floats("teacher"), anchors: try f.floats("anchors"),
            texts: try f.floats("texts"))
    }

    /// Runs the student on the reference batch and returns (loss, gradient) for `loss`.
    static func run(_ r: Reference, tokenizer: ResidualTokenizer, loss: String) throws -> (
        Float, TokenizerGradient, StudentPass
    ) {
        let model = try model.get()
        let stride = 3 * model.config.imageSize * model.config.imageSize
        let b = model.config.embedDim
        return r.pixels.withUnsafeBufferPointer { px in
            let pass = StudentPass(
                model: model, tokenizer: tokenizer,
                pixels: (0..<r.cases.keeps.count).map { px.baseAddress! + $0 * stride },
                keeps: r.cases.keeps, anchors: r.anchors)
            let l: LossResult
            switch loss {
            case "visual":
                l = DistillationLosses.visualSoftTarget(
                    student: pass.features, teacher: r.teacher, dim: b, scale: r.cases.scale)
            case "caption":
                l = DistillationLosses.softTarget(
                    student: pass.features, teacher: r.teacher, bank: r.texts, dim: b, scale: r.cases.scale)
            default: l = DistillationLosses.cosine(student: pass.features, teacher: r.teacher, dim: b)
            }
            return (l.value, pass.gradient(featureGradient: l.gradient), pass)
        }
    }

    func assertRelative(
        _ a: [Float], _ b: [Float], _ tol: Float, _ what: String, file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertEqual(a.count, b.count, what, file: file, line: line)
        var diff: Float = 0
        var norm: Float = 0
        for i in 0..<min(a.count, b.count) {
            diff = max(diff, abs(a[i] - b[i]))
            norm = max(norm, abs(b[i]))
        }
        XCTAssertLessThanOrEqual(
            diff / max(norm, 1e-12), tol, "\(what): max diff \(diff) vs max |ref| \(norm)", file: file, line: line)
    }

    func testStudentFeaturesMatchTorch() throws {
        let r = try Self.reference()
        let (_, _, pass) = try Self.run(r, tokenizer: r.tokenizer, loss: "cosine")
        assertRelative(pass.features, try r.file.floats("student"), 1e-4, "student features")
        // The recorded forward is the plain forward pass.
        let model = try Self.model.get()
        let stride = 3 * model.config.imageSize * model.config.imageSize
        let tokens = r.tokenizer.tokens(anchors: r.anchors, count: r.cases.keeps.count)
        let d = model.config.vision.width
        let plain = r.pixels.withUnsafeBufferPointer { px in
            model.vision.encode(
                (0..<r.cases.keeps.count).map {
                    VisionTower.Request(
                        pixels: px.baseAddress! + $0 * stride, keep: r.cases.keeps[$0],
                        extraTokens: Array(tokens[$0 * d..<($0 + 1) * d]))
                })
        }
        assertClose(pass.features, plain, tolerance: 1e-6, "recorded vs plain forward")
    }

    func testGradientsMatchTorchAutograd() throws {
        let r = try Self.reference()
        for name in ["visual", "caption", "cosine"] {
            let (value, grad, pass) = try Self.run(r, tokenizer: r.tokenizer, loss: name)
            XCTAssertEqual(
                value, r.cases.losses[name]!, accuracy: 1e-4 * max(1, abs(r.cases.losses[name]!)), "\(name) loss")
            assertRelative(grad.weight, try r.file.floats("\(name)_grad_weight"), 1e-4, "\(name) dL/dW")
            assertRelative(grad.bias, try r.file.floats("\(name)_grad_bias"), 1e-4, "\(name) dL/db")
            _ = pass
        }
    }

    func testGradientMatchesFiniteDifferences() throws {
        let r = try Self.reference()
        // The caption loss: its gradients are large enough for float32 central differences.
        let (_, grad, _) = try Self.run(r, tokenizer: r.tokenizer, loss: "caption")
        let b = r.tokenizer.embedDim
        let eps: Float = 1e-2
        // A few weight coordinates (largest gradients and some others) and bias coordinates.
        let byMagnitude = grad.weight.indices.sorted { abs(grad.weight[$0]) > abs(grad.weight[$1]) }
        let weightCoords = Array(byMagnitude.prefix(3)) + [byMagnitude[40], byMagnitude[200], 5 * b + 7]
        let biasCoords = Array(grad.bias.indices.sorted { abs(grad.bias[$0]) > abs(grad.bias[$1]) }.prefix(3))
        func loss(_ a: ResidualTokenizer) throws -> Double { Double(try Self.run(r, tokenizer: a, loss: "caption").0) }
        for (isBias, idx) in weightCoords.map({ (false, $0) }) + biasCoords.map({ (true, $0) }) {
            var plus = r.tokenizer
            var minus = r.tokenizer
            if isBias {
                plus.bias[idx] += eps
                minus.bias[idx] -= eps
            } else {
                plus.weight[idx] += eps
                minus.weight[idx] -= eps
            }
            let numeric = (try loss(plus) - loss(minus)) / Double(2 * eps)
            let analytic = Double(isBias ? grad.bias[idx] : grad.weight[idx])
            let scale = max(abs(numeric), abs(analytic), 1e-2 * Double(grad.weight.map(abs).max()!))
            // 2%: float32 central differences of the whole forward pass carry ~1% of noise at
            // coordinates with small gradients, and how much depends on OpenBLAS's kernels
            // (1.2% at weight[127] with SkylakeX kernels, under 1% with Haswell ones).
            XCTAssertLessThan(
                abs(numeric - analytic) / scale, 2e-2,
                "\(isBias ? "bias" : "weight")[\(idx)]: numeric \(numeric) vs analytic \(analytic)")
        }
    }

    /// The same check on a random QuickGELU tower (OpenAI checkpoints use QuickGELU; the
    /// torch fixture's tiny model uses GELU), with a second extra-long keep list.
    func testQuickGELUGradientMatchesFiniteDifferences() throws {
        var config = try Self.model.get().config
        config.vision.activation = .quickGELU
        let model = CLIPModel(randomWith: config, seed: 3)
        let d = config.vision.width
        let b = config.embedDim
        let stride = 3 * config.imageSize * config.imageSize
        let pixels = SyntheticPixels.make(count: 2, size: config.imageSize)
        var rng = SplitMix(seed: 11)
        let a = ResidualTokenizer(
            weight: (0..<(d * b)).map { _ in rng.normal() * 0.1 }, bias: (0..<d).map { _ in rng.normal() * 0.1 },
            embedDim: b, width: d, clipSHA256: model.weightsSHA256)
        let anchors = (0..<(2 * b)).map { _ in rng.normal() }
        let bank = (0..<(2 * b)).map { _ in rng.normal() }
        let keeps = [[4, 9, 33, 60, 61, 62, 150], Array(0..<40)]
        func run(_ a: ResidualTokenizer) -> (Double, TokenizerGradient) {
            pixels.withUnsafeBufferPointer { px in
                let pass = StudentPass(
                    model: model, tokenizer: a, pixels: [px.baseAddress!, px.baseAddress! + stride],
                    keeps: keeps, anchors: anchors)
                // A linear loss c . f: large gradients, so float32 differences resolve them.
                let value = zip(pass.features, bank).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
                return (value, pass.gradient(featureGradient: bank))
            }
        }
        let grad = run(a).1
        let top = grad.bias.indices.sorted { abs(grad.bias[$0]) > abs(grad.bias[$1]) }.prefix(4)
        let eps: Float = 1e-2
        for i in top {
            var plus = a
            var minus = a
            plus.bias[i] += eps
            minus.bias[i] -= eps
            let numeric = (run(plus).0 - run(minus).0) / Double(2 * eps)
            let analytic = Double(grad.bias[i])
            XCTAssertLessThan(
                abs(numeric - analytic) / max(abs(numeric), abs(analytic)), 1e-2,
                "bias[\(i)]: numeric \(numeric) vs analytic \(analytic)")
        }
    }

    func testAdamWStepMatchesHandComputation() {
        var opt = AdamW(sizes: [2, 1], learningRate: 0.1, weightDecay: 0.5)
        var params: [[Float]] = [[1, -2], [0.5]]
        let g: [[Float]] = [[0.5, -1], [2]]
        opt.update(&params, gradients: g, decay: [true, false])
        // Step 1: m = 0.1 g, v = 0.001 g^2, m_hat = g, v_hat = g^2: p = p (1 - lr wd) - lr sign(g).
        XCTAssertEqual(params[0][0], 1 * 0.95 - 0.1 * Float(0.5 / (0.5 + 1e-8)), accuracy: 1e-6)
        XCTAssertEqual(params[0][1], -2 * 0.95 + 0.1, accuracy: 1e-6)
        XCTAssertEqual(params[1][0], 0.5 - 0.1, accuracy: 1e-6)
        // Step 2 with a different gradient, by hand in Double.
        let g2: [[Float]] = [[-0.25, 0.5], [1]]
        let before = params
        opt.update(&params, gradients: g2, decay: [true, false])
        func expected(_ p: Float, _ g1: Float, _ g2: Float, decay: Bool) -> Float {
            let m = 0.9 * (0.1 * Double(g1)) + 0.1 * Double(g2)
            let v = 0.999 * (0.001 * Double(g1) * Double(g1)) + 0.001 * Double(g2) * Double(g2)
            let mh = m / (1 - 0.81)
            let vh = v / (1 - 0.999 * 0.999)
            return Float(Double(p) * (decay ? 0.95 : 1) - 0.1 * mh / (vh.squareRoot() + 1e-8))
        }
        XCTAssertEqual(params[0][0], expected(before[0][0], 0.5, -0.25, decay: true), accuracy: 1e-6)
        XCTAssertEqual(params[0][1], expected(before[0][1], -1, 0.5, decay: true), accuracy: 1e-6)
        XCTAssertEqual(params[1][0], expected(before[1][0], 2, 1, decay: false), accuracy: 1e-6)
        XCTAssertEqual(opt.step, 2)
    }
}
