import Digest
import Foundation

/// A model's config as the store binds it: canonical JSON (sorted keys, no insignificant
/// whitespace), so the same config written by another encoder, or before migration 3, compares
/// equal, and any field that changes how the weights are read does not.
struct ModelConfig: Equatable {
    let json: String
    let object: Any

    static func == (a: ModelConfig, b: ModelConfig) -> Bool { a.json == b.json }

    /// Parses and normalises `text`; nil when it is not JSON.
    init?(_ text: String) {
        guard let data = text.data(using: .utf8),
            let object = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]),
            let canonical = try? JSONSerialization.data(
                withJSONObject: object, options: [.sortedKeys, .fragmentsAllowed, .withoutEscapingSlashes])
        else {
            return nil
        }
        self.object = object
        json = String(decoding: canonical, as: UTF8.self)
    }

    var sha256: String { SHA256.hex(Data(json.utf8)) }

    /// The fields that differ, as "key.path: stored -> loaded" (at most `limit`).
    func differences(to other: ModelConfig, limit: Int = 8) -> [String] {
        var out: [String] = []
        func walk(_ a: Any?, _ b: Any?, _ path: String) {
            guard out.count < limit else { return }
            if let da = a as? [String: Any], let db = b as? [String: Any] {
                for key in Set(da.keys).union(db.keys).sorted() {
                    walk(da[key], db[key], path.isEmpty ? key : "\(path).\(key)")
                }
                return
            }
            let sa = a.map(Self.text) ?? "absent"
            let sb = b.map(Self.text) ?? "absent"
            if sa != sb { out.append("\(path.isEmpty ? "config" : path): \(sa) -> \(sb)") }
        }
        walk(object, other.object, "")
        return out
    }

    private static func text(_ value: Any) -> String {
        guard
            let d = try? JSONSerialization.data(
                withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed, .withoutEscapingSlashes])
        else { return "\(value)" }
        return String(decoding: d, as: UTF8.self)
    }
}
