/// What A is fed: the anchor I-feature as the store gives it back.
///
/// The library reconstructs P-features from stored I-features, which went through the store's
/// codec (f16, or i8 with a per-vector scale). Training and evaluation must feed A the same
/// rounded vector, not the float one the ViT produced, or they measure a path the library never
/// runs. The CLIP module knows nothing of the store, so the round trip is handed in by the
/// engine (`AnchorQuantizer.stored(codec)` there); `exact` is the float32 identity.
public struct AnchorQuantizer: Sendable, Equatable, CustomStringConvertible {
    /// The codec's name (e.g. "f16+lz4"), written into A's metadata and checkpoints.
    public let name: String
    private let roundTrip: @Sendable (_ rows: [Float], _ dim: Int) throws -> [Float]

    /// - Parameter roundTrip: quantises and restores `rows.count / dim` row-major vectors.
    public init(name: String, roundTrip: @escaping @Sendable (_ rows: [Float], _ dim: Int) throws -> [Float]) {
        self.name = name
        self.roundTrip = roundTrip
    }

    /// No rounding: float32 anchors, as the ViT produced them.
    public static let exact = AnchorQuantizer(name: "f32+lz4") { rows, _ in rows }

    /// The anchors as the store would return them ([count, dim] row-major).
    public func callAsFunction(_ rows: [Float], dim: Int) throws -> [Float] {
        let out = try roundTrip(rows, dim)
        precondition(out.count == rows.count, "anchor quantizer \(name) changed the number of values")
        return out
    }

    public var description: String { name }
    public static func == (a: AnchorQuantizer, b: AnchorQuantizer) -> Bool { a.name == b.name }
}
