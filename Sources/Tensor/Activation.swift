/// The MLP activations CLIP checkpoints use: OpenAI's QuickGELU and exact (erf) GELU.
public enum Activation: String, Sendable, Codable {
    case gelu
    case quickGELU = "quick_gelu"

    /// Applies in place to `count` floats, on all cores.
    public func apply(_ x: UnsafeMutablePointer<Float>, count: Int) {
        switch self {
        case .gelu: Self.forEach(x, count) { v in v * 0.5 * (1 + FastMath.erf(v * 0.70710678118654752)) }
        case .quickGELU: Self.forEach(x, count) { v in v / (1 + FastMath.exp(v * -1.702)) }
        }
    }

    /// Derivative d act(x) / dx, for the backward pass of the frozen ViT.
    public func derivative(_ v: FastMath.V) -> FastMath.V {
        switch self {
        case .gelu:
            let cdf = 0.5 * (1 + FastMath.erf(v * 0.70710678118654752))
            let pdf = FastMath.exp(v * v * -0.5) * 0.3989422804014327
            return cdf + v * pdf
        case .quickGELU:
            let s = 1 / (1 + FastMath.exp(v * -1.702))
            return s + v * 1.702 * s * (1 - s)
        }
    }

    @inline(__always)
    private static func forEach(
        _ x: UnsafeMutablePointer<Float>, _ count: Int,
        _ f: (FastMath.V) -> FastMath.V
    ) {
        parallelChunks(count, minChunk: 1 << 14) { range in
            var i = range.lowerBound
            let raw = UnsafeMutableRawPointer(x)
            while i + 8 <= range.upperBound {
                let v = raw.loadUnaligned(fromByteOffset: i * 4, as: FastMath.V.self)
                raw.storeBytes(of: f(v), toByteOffset: i * 4, as: FastMath.V.self)
                i += 8
            }
            if i < range.upperBound {
                var tail = FastMath.V(repeating: 0)
                for j in i..<range.upperBound { tail[j - i] = x[j] }
                let r = f(tail)
                for j in i..<range.upperBound { x[j] = r[j - i] }
            }
        }
    }
}
