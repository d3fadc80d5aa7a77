import Foundation

/// A single `Range: bytes=...` request resolved against a file size (RFC 9110 §14.1.2).
/// Multiple ranges are answered with the first one only (allowed: a server may ignore or
/// coalesce ranges); syntax errors mean "ignore the header" (200 with the whole file).
enum ByteRange: Equatable {
    case whole
    case partial(ClosedRange<Int>)
    case unsatisfiable

    static func parse(_ header: String?, size: Int) -> ByteRange {
        guard let header, let eq = header.firstIndex(of: "=") else { return .whole }
        let unit = header[..<eq].trimmingCharacters(in: .whitespaces).lowercased()
        guard unit == "bytes" else { return .whole }
        let specs = header[header.index(after: eq)...].split(separator: ",")
        guard let first = specs.first else { return .whole }
        let parts = first.trimmingCharacters(in: .whitespaces).split(
            separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { return .whole }
        let a = parts[0].trimmingCharacters(in: .whitespaces)
        let b = parts[1].trimmingCharacters(in: .whitespaces)
        if a.isEmpty {
            // Suffix: the last b bytes.
            guard let n = Int(b), n >= 0 else { return .whole }
            guard n > 0, size > 0 else { return .unsatisfiable }
            return .partial(max(0, size - n)...(size - 1))
        }
        guard let start = Int(a), start >= 0 else { return .whole }
        var end = size - 1
        if !b.isEmpty {
            guard let e = Int(b), e >= start else { return .whole }
            end = min(e, size - 1)
        }
        guard start < size else { return .unsatisfiable }
        return .partial(start...end)
    }
}
