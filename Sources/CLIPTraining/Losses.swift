import Foundation

/// A loss value and its gradient with respect to the raw (unnormalized) student features.
public struct LossResult: Sendable {
    public var value: Float
    /// dL/d(student feature) [count, embedDim], through the L2 normalization.
    public var gradient: [Float]
}

/// The visual-only losses `--visual-loss` named before text distillation was the default
/// (kept as an alias of `DistillationLoss`).
public enum VisualLoss: String, Sendable, Codable, CaseIterable {
    case softTarget = "soft-ce"
    case cosine

    public var loss: DistillationLoss { self == .cosine ? .cosine : .visualSoftTarget }
}

/// What A is trained to preserve.
public enum DistillationLoss: String, Sendable, Codable, CaseIterable {
    /// The paper's: soft-target cross-entropy of the teacher's and the student's similarities
    /// to a set of texts (the corpus's captions topped up from a fixed prompt set), so A keeps
    /// what text queries see.
    case text
    /// Mean of 1 - cos(student, teacher): visual only, no text tower needed.
    case cosine
    /// Soft-target cross-entropy over the batch's teacher features (both directions).
    case visualSoftTarget = "soft-ce"
}

/// Which softmaxes the text loss takes: over the texts for each frame (image -> text, the
/// authors' training script), or also over the frames for each text.
public enum TextDirections: String, Sendable, Codable, CaseIterable {
    case imageToText = "image-to-text"
    case both
}

/// The distillation losses for training A. Every loss compares L2-normalized features; the
/// gradients include the normalization's backward, dx = (df - f (f . df)) / |x|.
/// Computed in Double: the matrices are batch x batch (or batch x texts), so it is cheap.
public enum DistillationLosses {
    /// The paper's soft-target cross-entropy through a bank of embeddings g_j (the step's text
    /// embeddings, or the batch's teacher features for the visual-only variant):
    ///   J_{I->T} = -1/B sum_i sum_j softmax_j(s g_j.f^V_i) log softmax_j(s g_j.f^S_i)
    ///   J_{T->I} = -1/M sum_j sum_i softmax_i(s g_j.f^V_i) log softmax_i(s g_j.f^S_i)
    /// and returns J_{I->T}, or J_{I->T} + J_{T->I} with `.both` (means rather than sums, so the
    /// scale does not depend on the batch size). `scale` s multiplies the cosines (100 for text
    /// distillation, CLIP's exp(logit_scale) for pretrained weights).
    public static func softTarget(
        student: [Float], teacher: [Float], bank: [Float], dim: Int, scale: Float,
        directions: TextDirections = .both
    ) -> LossResult {
        let b = dim
        let n = student.count / dim
        let m = bank.count / dim
        precondition(teacher.count == student.count && n * b == student.count && m * b == bank.count)
        guard n > 0, m > 0 else { return LossResult(value: 0, gradient: [Float](repeating: 0, count: student.count)) }
        let (fs, norms) = normalized(student, dim: b)
        let fv = normalized(teacher, dim: b).0
        let g = normalized(bank, dim: b).0
        let s = Double(scale)
        func logits(_ f: [Double]) -> [Double] {
            var out = [Double](repeating: 0, count: n * m)
            for i in 0..<n {
                for j in 0..<m {
                    var dot = 0.0
                    for k in 0..<b { dot += f[i * b + k] * g[j * b + k] }
                    out[i * m + j] = s * dot
                }
            }
            return out
        }
        let ls = logits(fs)
        let lv = logits(fv)
        var value = 0.0
        var dl = [Double](repeating: 0, count: n * m)  // dJ / d logits
        // I->T: softmax over the bank (j) for each frame i.
        for i in 0..<n {
            let q = softmax(ls, start: i * m, count: m, stride: 1)
            let t = softmax(lv, start: i * m, count: m, stride: 1)
            let lq = logSoftmax(ls, start: i * m, count: m, stride: 1)
            for j in 0..<m {
                value -= t[j] * lq[j] / Double(n)
                dl[i * m + j] += (q[j] - t[j]) / Double(n)
            }
        }
        // T->I: softmax over the frames (i) for each bank entry j.
        for j in 0..<m where directions == .both {
            let q = softmax(ls, start: j, count: n, stride: m)
            let t = softmax(lv, start: j, count: n, stride: m)
            let lq = logSoftmax(ls, start: j, count: n, stride: m)
            for i in 0..<n {
                value -= t[i] * lq[i] / Double(m)
                dl[i * m + j] += (q[i] - t[i]) / Double(m)
            }
        }
        var df = [Double](repeating: 0, count: n * b)
        for i in 0..<n {
            for j in 0..<m where dl[i * m + j] != 0 {
                let c = s * dl[i * m + j]
                for k in 0..<b { df[i * b + k] += c * g[j * b + k] }
            }
        }
        return LossResult(value: Float(value), gradient: normalizationBackward(fs, norms: norms, df: df, dim: b))
    }

    /// Visual-only soft-target CE: `softTarget` with the batch's teacher features as the bank.
    public static func visualSoftTarget(student: [Float], teacher: [Float], dim: Int, scale: Float) -> LossResult {
        softTarget(student: student, teacher: teacher, bank: teacher, dim: dim, scale: scale)
    }

    /// Mean over the batch of 1 - cos(student_i, teacher_i).
    public static func cosine(student: [Float], teacher: [Float], dim: Int) -> LossResult {
        let b = dim
        let n = student.count / dim
        precondition(teacher.count == student.count)
        guard n > 0 else { return LossResult(value: 0, gradient: []) }
        let (fs, norms) = normalized(student, dim: b)
        let fv = normalized(teacher, dim: b).0
        var value = 0.0
        var df = [Double](repeating: 0, count: n * b)
        for i in 0..<n {
            var dot = 0.0
            for k in 0..<b { dot += fs[i * b + k] * fv[i * b + k] }
            value += (1 - dot) / Double(n)
            for k in 0..<b { df[i * b + k] = -fv[i * b + k] / Double(n) }
        }
        return LossResult(value: Float(value), gradient: normalizationBackward(fs, norms: norms, df: df, dim: b))
    }

    // MARK: Helpers

    static func normalized(_ x: [Float], dim: Int) -> ([Double], [Double]) {
        let n = x.count / dim
        var out = x.map(Double.init)
        var norms = [Double](repeating: 0, count: n)
        for i in 0..<n {
            var s = 0.0
            for k in 0..<dim { s += out[i * dim + k] * out[i * dim + k] }
            norms[i] = s.squareRoot()
            let inv = norms[i] > 0 ? 1 / norms[i] : 0
            for k in 0..<dim { out[i * dim + k] *= inv }
        }
        return (out, norms)
    }

    /// dx = (df - f (f . df)) / |x| per row.
    static func normalizationBackward(_ f: [Double], norms: [Double], df: [Double], dim: Int) -> [Float] {
        var dx = [Float](repeating: 0, count: f.count)
        for i in 0..<norms.count where norms[i] > 0 {
            var dot = 0.0
            for k in 0..<dim { dot += f[i * dim + k] * df[i * dim + k] }
            for k in 0..<dim { dx[i * dim + k] = Float((df[i * dim + k] - f[i * dim + k] * dot) / norms[i]) }
        }
        return dx
    }

    static func logSoftmax(_ x: [Double], start: Int, count: Int, stride: Int) -> [Double] {
        var mx = -Double.infinity
        for i in 0..<count { mx = max(mx, x[start + i * stride]) }
        var sum = 0.0
        for i in 0..<count { sum += Foundation.exp(x[start + i * stride] - mx) }
        let lse = mx + Foundation.log(sum)
        return (0..<count).map { x[start + $0 * stride] - lse }
    }

    static func softmax(_ x: [Double], start: Int, count: Int, stride: Int) -> [Double] {
        logSoftmax(x, start: start, count: count, stride: stride).map { Foundation.exp($0) }
    }
}
