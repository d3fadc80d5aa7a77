/// Numerically stable softmax over rows of a [rows, cols] matrix, in place.
public enum Softmax {
    public static func rows(_ x: UnsafeMutablePointer<Float>, rows: Int, cols: Int, stride: Int? = nil) {
        let ld = stride ?? cols
        for r in 0..<rows { row(x + r * ld, count: cols) }
    }

    @inlinable
    public static func row(_ p: UnsafeMutablePointer<Float>, count: Int) {
        var maxv = -Float.infinity
        for i in 0..<count where p[i] > maxv { maxv = p[i] }
        var sum: Float = 0
        var i = 0
        let raw = UnsafeMutableRawPointer(p)
        while i + 8 <= count {
            let v = raw.loadUnaligned(fromByteOffset: i * 4, as: FastMath.V.self)
            let e = FastMath.exp(v - maxv)
            raw.storeBytes(of: e, toByteOffset: i * 4, as: FastMath.V.self)
            sum += e.sum()
            i += 8
        }
        while i < count {
            let e = FastMath.exp(p[i] - maxv)
            p[i] = e
            sum += e
            i += 1
        }
        let inv = 1 / sum
        for j in 0..<count { p[j] *= inv }
    }
}
