import Foundation

/// Why a checkpoint could not be used; every case names the file and, where it applies, the tensor.
public enum WeightsError: Error, CustomStringConvertible, Equatable {
    case missingFile(path: String)
    case unreadable(path: String, reason: String)
    case badHeader(path: String, reason: String)
    case badTensor(path: String, tensor: String, reason: String)
    case missingTensor(path: String, tensor: String)
    case shapeMismatch(path: String, tensor: String, expected: [Int], actual: [Int])
    case unsupportedDType(path: String, tensor: String, dtype: String)
    case badConfig(path: String, reason: String)

    public var description: String {
        switch self {
        case .missingFile(let p): return "\(p): no such file"
        case .unreadable(let p, let r): return "\(p): cannot read: \(r)"
        case .badHeader(let p, let r): return "\(p): not a valid safetensors file: \(r)"
        case .badTensor(let p, let t, let r): return "\(p): tensor '\(t)': \(r)"
        case .missingTensor(let p, let t): return "\(p): missing tensor '\(t)'"
        case .shapeMismatch(let p, let t, let e, let a):
            return "\(p): tensor '\(t)' has shape \(a), expected \(e)"
        case .unsupportedDType(let p, let t, let d):
            return "\(p): tensor '\(t)' has dtype \(d); supported: F32, F16, BF16"
        case .badConfig(let p, let r): return "\(p): bad model config: \(r)"
        }
    }
}
