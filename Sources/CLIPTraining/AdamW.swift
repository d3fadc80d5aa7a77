import CLIP
import Foundation

/// AdamW (Loshchilov & Hutter; PyTorch's `torch.optim.AdamW` semantics): decoupled weight
/// decay p -= lr * wd * p, then the bias-corrected Adam step
/// p -= lr * m_hat / (sqrt(v_hat) + eps). The moments and step count are part of the
/// training checkpoint, so a resumed run continues exactly where it stopped.
public struct AdamW: Sendable, Equatable {
    public var learningRate: Float
    public var beta1: Float
    public var beta2: Float
    public var eps: Float
    public var weightDecay: Float
    /// Steps taken so far (t in the bias corrections).
    public private(set) var step: Int = 0
    /// First and second moments, one array per parameter tensor.
    public private(set) var m: [[Float]]
    public private(set) var v: [[Float]]

    public init(
        sizes: [Int], learningRate: Float, beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8,
        weightDecay: Float = 0.01
    ) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.weightDecay = weightDecay
        m = sizes.map { [Float](repeating: 0, count: $0) }
        v = m
    }

    /// One update of every parameter tensor. `decay[i]` says whether tensor i is decayed
    /// (the trainer decays A's weight, not its bias).
    public mutating func update(_ parameters: inout [[Float]], gradients: [[Float]], decay: [Bool]) {
        precondition(parameters.count == m.count && gradients.count == m.count && decay.count == m.count)
        step += 1
        let c1 = 1 - pow(Double(beta1), Double(step))
        let c2 = 1 - pow(Double(beta2), Double(step))
        for t in 0..<m.count {
            precondition(parameters[t].count == m[t].count && gradients[t].count == m[t].count)
            let shrink = decay[t] ? 1 - learningRate * weightDecay : 1
            for i in 0..<m[t].count {
                let g = gradients[t][i]
                m[t][i] = beta1 * m[t][i] + (1 - beta1) * g
                v[t][i] = beta2 * v[t][i] + (1 - beta2) * g * g
                let mHat = Double(m[t][i]) / c1
                let vHat = Double(v[t][i]) / c2
                parameters[t][i] =
                    parameters[t][i] * shrink - learningRate * Float(mHat / (vHat.squareRoot() + Double(eps)))
            }
        }
    }

    // MARK: Checkpoint

    /// Adds the moments to a safetensors writer (names `adamw.m.i`, `adamw.v.i`) and the
    /// step and hyperparameters to its metadata.
    public func save(into w: inout SafeTensorsWriter) {
        for t in 0..<m.count {
            w.add("adamw.m.\(t)", shape: [m[t].count], values: m[t])
            w.add("adamw.v.\(t)", shape: [v[t].count], values: v[t])
        }
        w.metadata["adamw.step"] = String(step)
        w.metadata["adamw.tensors"] = String(m.count)
        for (k, v) in [
            ("lr", learningRate), ("beta1", beta1), ("beta2", beta2), ("eps", eps), ("weight_decay", weightDecay),
        ] {
            w.metadata["adamw.\(k)"] = String(v)
        }
    }

    /// Restores the moments and step saved by `save(into:)`; the hyperparameters are the
    /// caller's (so a resumed run may, e.g., change the learning rate).
    public mutating func restore(from f: SafeTensorsFile) throws {
        guard let s = f.metadata["adamw.step"], let step = Int(s), step >= 0,
            f.metadata["adamw.tensors"].flatMap(Int.init) == m.count
        else {
            throw WeightsError.badHeader(path: f.path, reason: "no AdamW state for \(m.count) tensors in its metadata")
        }
        for t in 0..<m.count {
            m[t] = try f.floats("adamw.m.\(t)", shape: [m[t].count])
            v[t] = try f.floats("adamw.v.\(t)", shape: [v[t].count])
        }
        self.step = step
    }
}
