import Foundation

/// Checks JSON values against the schemas of the OpenAPI document, in the subset it uses
/// ($ref, oneOf, type, properties, required, additionalProperties, items, enum), and records
/// which documented properties real responses carried (so a test can ask the other way round:
/// is every documented field produced by the code?).
final class SchemaCheck: @unchecked Sendable {  // used by one test task at a time
    nonisolated(unsafe) let document: [String: Any]
    /// Documented property locations seen, e.g. `#/components/schemas/Moment/properties/video_id`.
    private(set) var seen: Set<String> = []

    init(document: [String: Any]) { self.document = document }

    /// Every property location the document's component schemas declare.
    var documentedProperties: Set<String> {
        var out = Set<String>()
        func walk(_ o: Any, _ at: String) {
            guard let d = o as? [String: Any] else {
                if let a = o as? [Any] { for (i, x) in a.enumerated() { walk(x, "\(at)/\(i)") } }
                return
            }
            for (k, v) in d {
                if k == "properties", let props = v as? [String: Any] {
                    for (p, s) in props {
                        out.insert("\(at)/properties/\(p)")
                        walk(s, "\(at)/properties/\(p)")
                    }
                } else {
                    walk(v, "\(at)/\(k)")
                }
            }
        }
        let schemas = (document["components"] as? [String: Any])?["schemas"] as? [String: Any] ?? [:]
        for (name, s) in schemas { walk(s, "#/components/schemas/\(name)") }
        return out
    }

    func resolve(_ ref: String) -> Any? {
        guard ref.hasPrefix("#/") else { return nil }
        var node: Any? = document
        for part in ref.dropFirst(2).split(separator: "/") { node = (node as? [String: Any])?[String(part)] }
        return node
    }

    /// Problems of `value` against `schema` (empty: it conforms); `at` names the schema's
    /// location, `path` the value's (for messages).
    func problems(_ value: Any, _ schema: [String: Any], at: String, path: String = "$") -> [String] {
        if let ref = schema["$ref"] as? String {
            guard let target = resolve(ref) as? [String: Any] else { return ["\(path): unresolved \(ref)"] }
            return problems(value, target, at: ref, path: path)
        }
        if let alternatives = schema["oneOf"] as? [[String: Any]] {
            var all: [String] = []
            for (i, alt) in alternatives.enumerated() {
                let before = seen
                let p = problems(value, alt, at: "\(at)/oneOf/\(i)", path: path)
                if p.isEmpty { return [] }
                seen = before
                all += p
            }
            return ["\(path): matches no alternative: \(all.prefix(4))"]
        }
        if let e = schema["enum"] as? [Any], !e.contains(where: { "\($0)" == "\(value)" }) {
            return ["\(path): \(value) is not one of \(e)"]
        }
        switch schema["type"] as? String {
        case "object":
            guard let obj = value as? [String: Any] else { return ["\(path): not an object"] }
            let props = schema["properties"] as? [String: Any] ?? [:]
            var out: [String] = []
            for r in schema["required"] as? [String] ?? [] where obj[r] == nil {
                out.append("\(path): required field `\(r)` missing")
            }
            for (k, v) in obj {
                if let ps = props[k] as? [String: Any] {
                    seen.insert("\(at)/properties/\(k)")
                    out += problems(v, ps, at: "\(at)/properties/\(k)", path: "\(path).\(k)")
                } else if let extra = schema["additionalProperties"] as? [String: Any] {
                    out += problems(v, extra, at: "\(at)/additionalProperties", path: "\(path)[\(k)]")
                } else if schema["additionalProperties"] as? Bool == false || !props.isEmpty {
                    out.append("\(path): field `\(k)` is not in the schema (\(at))")
                }
            }
            return out
        case "array":
            guard let arr = value as? [Any] else { return ["\(path): not an array"] }
            guard let items = schema["items"] as? [String: Any] else { return [] }
            return arr.enumerated().flatMap { problems($1, items, at: "\(at)/items", path: "\(path)[\($0)]") }
        case "string":
            return value is String ? [] : ["\(path): not a string"]
        case "boolean":
            return value is Bool ? [] : ["\(path): not a boolean"]
        case "integer":
            guard let n = value as? NSNumber else { return ["\(path): not an integer"] }
            return n.doubleValue == n.doubleValue.rounded() ? [] : ["\(path): \(n) is not an integer"]
        case "number":
            return value is NSNumber ? [] : ["\(path): not a number"]
        default:
            return []
        }
    }
}
