/// Why training A could not start or continue; each case names the input at fault.
public enum TrainingError: Error, CustomStringConvertible, Equatable {
    case badParameter(String)
    /// A captions file line that cannot be used (1-based line number).
    case badCaption(path: String, line: Int, reason: String)
    case noSamples(String)
    case cannotResume(path: String, reason: String)

    public var description: String {
        switch self {
        case .badParameter(let m): return m
        case .badCaption(let p, let l, let r): return "\(p):\(l): \(r)"
        case .noSamples(let m): return m
        case .cannotResume(let p, let r): return "cannot resume from \(p): \(r)"
        }
    }
}
