import Foundation
import Hummingbird

/// Query-string parameters, decoded as browsers encode them (`+` is a space, then percent
/// escapes), with typed, bounded accessors that throw 400 `APIError`s naming the parameter.
struct QueryParameters {
    private var values: [String: String] = [:]

    /// Names of the parameters handlers read, collected while a test sets it (`ContractTests`
    /// compares them with the document's parameters); nil, and free, otherwise.
    @TaskLocal static var readNames: NameLog?

    final class NameLog: @unchecked Sendable {
        private let lock = NSLock()
        private var names: Set<String> = []
        func add(_ name: String) { lock.withLock { _ = names.insert(name) } }
        var all: Set<String> { lock.withLock { names } }
    }

    private func value(_ name: String) -> String? {
        Self.readNames?.add(name)
        return values[name]
    }

    init(_ request: Request) {
        guard let q = request.uri.query else { return }
        for pair in q.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = Self.decode(kv[0])
            let value = kv.count > 1 ? Self.decode(kv[1]) : ""
            if values[key] == nil { values[key] = value }
        }
    }

    private static func decode(_ s: Substring) -> String {
        let spaced = s.replacingOccurrences(of: "+", with: " ")
        return spaced.removingPercentEncoding ?? spaced
    }

    func string(_ name: String) -> String? { value(name) }

    /// A required text query, trimmed, 1...maxLength characters.
    func text(_ name: String, maxLength: Int) throws -> String {
        guard let raw = value(name) else { throw APIError.badParameter("missing query parameter `\(name)`") }
        let t = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !t.isEmpty else { throw APIError.badParameter("query parameter `\(name)` is empty") }
        guard t.count <= maxLength else {
            throw APIError.badParameter("query parameter `\(name)` is \(t.count) characters; the limit is \(maxLength)")
        }
        return t
    }

    func int(_ name: String, default def: Int, range: ClosedRange<Int>) throws -> Int {
        guard let raw = value(name), !raw.isEmpty else { return def }
        guard let v = Int(raw) else {
            throw APIError.badParameter("`\(name)` must be an integer, got \"\(raw.prefix(40))\"")
        }
        guard range.contains(v) else {
            throw APIError.badParameter("`\(name)` must be in \(range.lowerBound)...\(range.upperBound), got \(v)")
        }
        return v
    }

    func double(_ name: String) throws -> Double? {
        guard let raw = value(name), !raw.isEmpty else { return nil }
        guard let v = Double(raw), v.isFinite else {
            throw APIError.badParameter("`\(name)` must be a finite number of seconds, got \"\(raw.prefix(40))\"")
        }
        return v
    }

    func bool(_ name: String, default def: Bool) throws -> Bool {
        guard let raw = value(name)?.lowercased(), !raw.isEmpty else { return def }
        switch raw {
        case "1", "true", "yes": return true
        case "0", "false", "no": return false
        default: throw APIError.badParameter("`\(name)` must be true or false, got \"\(raw.prefix(40))\"")
        }
    }
}

extension RequestContext {
    /// A path parameter that must be a non-negative integer (ids, frame indices).
    func integerParameter(_ name: String, what: String) throws -> Int64 {
        guard let raw = parameters.get(name) else { throw APIError.badParameter("missing \(what)") }
        guard let v = Int64(raw), v >= 0 else {
            throw APIError.badParameter("\(what) must be a non-negative integer, got \"\(raw.prefix(40))\"")
        }
        return v
    }
}
