import Foundation

/// Prints an Encodable as one line of sorted-key JSON, fields in snake_case as the HTTP API
/// writes them (`video_id`, `stage1_ms`).
public func printJSON<T: Encodable>(_ value: T) throws {
    let enc = JSONEncoder()
    enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    enc.keyEncodingStrategy = .convertToSnakeCase
    print(String(decoding: try enc.encode(value), as: UTF8.self))
}
