import CLIP
import Tensor

/// Gradient of a loss with respect to the residual tokenizer's parameters.
public struct TokenizerGradient: Sendable, Equatable {
    /// [width, embedDim], the layout of `ResidualTokenizer.weight`.
    public var weight: [Float]
    public var bias: [Float]
}

/// One batch of P-frames through the student E_S = frozen ViT over [CLS] + A(u) + R(patches),
/// recorded so the loss gradient can be carried back to A.
///
/// The residual token is always part of the sequence here, even when A is exactly zero
/// (then it is the zero vector, i.e. pre-LN's bias after normalization). `ResidualEncoder`
/// instead omits the token when A is all zeros — the token-reduction-only baseline — so at
/// A = 0 the two differ; after the first optimizer step A is non-zero and they agree.
public final class StudentPass: @unchecked Sendable {
    public let tape: VisionTape
    /// Student features (raw projected embeddings) [count, embedDim].
    public var features: [Float] { tape.outputs }
    /// The anchors scaled to unit length [count, embedDim]: A's (constant) input.
    public let unitAnchors: [Float]
    public let count: Int
    let vision: VisionTower

    /// - Parameters:
    ///   - pixels: normalized CHW pixels of each P-frame.
    ///   - keeps: kept patch indices of each P-frame.
    ///   - anchors: the anchor I-features [count, embedDim], any scale (teacher features: no
    ///     gradient flows into them).
    public init(
        model: CLIPModel, tokenizer: ResidualTokenizer, pixels: [UnsafePointer<Float>], keeps: [[Int]], anchors: [Float]
    ) {
        let b = model.config.embedDim
        let d = model.config.vision.width
        precondition(pixels.count == keeps.count && anchors.count == pixels.count * b)
        precondition(tokenizer.width == d && tokenizer.embedDim == b)
        count = pixels.count
        vision = model.vision
        unitAnchors = Self.unitRows(anchors, dim: b)
        let tokens = tokenizer.tokens(anchors: unitAnchors, count: count)
        let requests = (0..<count).map { i in
            VisionTower.Request(pixels: pixels[i], keep: keeps[i], extraTokens: Array(tokens[i * d..<(i + 1) * d]))
        }
        tape = model.vision.recordForward(requests)
    }

    /// dL/dA from dL/d(student features) [count, embedDim]: token = W u + b, so
    /// dW = sum_i g_i u_i^T (one GEMM) and db = sum_i g_i, with g = dL/d(token).
    public func gradient(featureGradient: [Float]) -> TokenizerGradient {
        let g = vision.extraTokenGradient(tape, outputGradient: featureGradient)
        let d = vision.width
        let b = vision.config.embedDim
        var dw = [Float](repeating: 0, count: d * b)
        var db = [Float](repeating: 0, count: d)
        guard count > 0 else { return TokenizerGradient(weight: dw, bias: db) }
        g.withUnsafeBufferPointer { gp in
            unitAnchors.withUnsafeBufferPointer { u in
                dw.withUnsafeMutableBufferPointer { w in
                    BLAS.gemmTN(
                        m: d, n: b, k: count, a: gp.baseAddress!, lda: d, b: u.baseAddress!, ldb: b,
                        c: w.baseAddress!, ldc: b)
                }
            }
        }
        for i in 0..<count { for j in 0..<d { db[j] += g[i * d + j] } }
        return TokenizerGradient(weight: dw, bias: db)
    }

    /// Rows scaled to unit length (zero rows stay zero), as `ResidualTokenizer.tokens` does.
    static func unitRows(_ x: [Float], dim: Int) -> [Float] {
        var out = x
        for i in 0..<(dim == 0 ? 0 : x.count / dim) {
            var n: Float = 0
            for j in 0..<dim { n += x[i * dim + j] * x[i * dim + j] }
            let inv = n > 0 ? 1 / n.squareRoot() : 0
            for j in 0..<dim { out[i * dim + j] *= inv }
        }
        return out
    }
}
