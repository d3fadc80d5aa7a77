import CKernels

/// IEEE half-precision vectors (the store's f16 codec) widened to Float in C: F16C where the
/// CPU has it, a portable loop elsewhere (`rs_f16_to_f32`). Swift's `Float(Float16)` compiles
/// to a libgcc call per value on x86, a quarter of reading a video's I-features.
public enum HalfPrecision {
    /// Widens `count` little-endian halves at `source` (any alignment) into `destination`.
    public static func widen(_ source: UnsafeRawPointer, count: Int, into destination: UnsafeMutablePointer<Float>) {
        #if _endian(little)
        rs_f16_to_f32(source.assumingMemoryBound(to: UInt16.self), destination, count)
        #else
        for i in 0..<count {
            destination[i] = Float(
                Float16(bitPattern: UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))))
        }
        #endif
    }

    /// Which path `widen` takes on this CPU (the other is tested through `widenPortable`).
    public static var usesF16C: Bool { rs_f16c_supported() != 0 }

    /// The portable path, whatever the CPU: for tests that both paths agree.
    public static func widenPortable(
        _ source: UnsafeRawPointer, count: Int, into destination: UnsafeMutablePointer<Float>
    ) {
        rs_f16_to_f32_portable(source.assumingMemoryBound(to: UInt16.self), destination, count)
    }
}
