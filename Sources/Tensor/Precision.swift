import CKernels
import Foundation
import Synchronization

/// The arithmetic of the linear layers (where a ViT spends ~95% of its FLOPs). fp32 is the
/// reference; bf16 rounds activations and weights to bf16 and sums in fp32 (AVX512-BF16's
/// vdpbf16ps, about twice the fp32 rate), chosen at run time where the CPU has it.
/// Attention scores, softmax, layer norm and GELU stay fp32 in both.
public enum Precision: String, Sendable, CaseIterable {
    case fp32, bf16

    /// Whether this CPU and OS run the bf16 kernels.
    public static let bf16Available: Bool = rs_bf16_supported() != 0

    private static let active = Atomic<Bool>(defaultIsBF16())

    /// The precision linear layers use now: `RSTORE_PRECISION` (fp32, bf16 or auto) at start,
    /// auto (bf16 where available) when unset; set it to force one (tests, benchmarks).
    public static var current: Precision {
        get { active.load(ordering: .relaxed) ? .bf16 : .fp32 }
        set { active.store(newValue == .bf16 && bf16Available, ordering: .relaxed) }
    }

    /// Parses a user's choice: fp32, bf16 or auto. bf16 where the CPU lacks it falls back to fp32.
    public static func resolve(_ text: String) -> Precision? {
        switch text.lowercased() {
        case "fp32", "f32": return .fp32
        case "bf16": return bf16Available ? .bf16 : .fp32
        case "auto": return bf16Available ? .bf16 : .fp32
        default: return nil
        }
    }

    private static func defaultIsBF16() -> Bool {
        let env = ProcessInfo.processInfo.environment["RSTORE_PRECISION"] ?? "auto"
        return (resolve(env) ?? (bf16Available ? .bf16 : .fp32)) == .bf16
    }
}
