import Foundation

/// A `multipart/form-data` body split into its named parts (RFC 7578), for uploads to
/// `POST /v1/search`. The body is already bounded by the server's body limit; the parser
/// bounds the parts and header lines too and never copies more than the body.
struct MultipartForm {
    struct Part {
        var name: String
        var contentType: String?
        var data: Data
    }
    private(set) var parts: [Part] = []
    static let maxParts = 8

    /// The boundary of a `multipart/form-data; boundary=...` content type, nil otherwise.
    static func boundary(of contentType: String) -> String? {
        let items = contentType.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        guard items.first?.lowercased() == "multipart/form-data" else { return nil }
        for item in items.dropFirst() where item.lowercased().hasPrefix("boundary=") {
            var b = String(item.dropFirst("boundary=".count))
            if b.hasPrefix("\""), b.hasSuffix("\""), b.count >= 2 { b = String(b.dropFirst().dropLast()) }
            return (1...70).contains(b.utf8.count) ? b : nil
        }
        return nil
    }

    init(_ body: Data, boundary: String) throws {
        func bad(_ why: String) -> APIError { .badParameter("multipart body: \(why)") }
        let delimiter = Data("--\(boundary)".utf8)
        let crlf = Data("\r\n".utf8)
        let headEnd = Data("\r\n\r\n".utf8)
        guard var at = body.range(of: delimiter)?.upperBound else {
            throw bad("no boundary \"\(boundary.prefix(70))\"")
        }
        while true {
            // After a delimiter: "--" ends the body, CRLF starts a part.
            if body[at...].starts(with: Data("--".utf8)) { break }
            guard body[at...].starts(with: crlf) else { throw bad("a boundary not followed by a line break") }
            at += 2
            guard let head = body.range(of: headEnd, in: at..<body.endIndex) else {
                throw bad("a part without the end of its headers")
            }
            guard head.lowerBound - at <= 4096 else { throw bad("part headers longer than 4096 bytes") }
            let headers = String(decoding: body[at..<head.lowerBound], as: UTF8.self)
            guard let next = body.range(of: crlf + delimiter, in: head.upperBound..<body.endIndex) else {
                throw bad("a part that does not end with the boundary")
            }
            var name: String?
            var type: String?
            for line in headers.components(separatedBy: "\r\n") {
                let lower = line.lowercased()
                if lower.hasPrefix("content-disposition:") { name = Self.parameter("name", in: line) }
                if lower.hasPrefix("content-type:") {
                    type = line.dropFirst("content-type:".count).trimmingCharacters(in: .whitespaces)
                }
            }
            guard let name else { throw bad("a part without a name") }
            guard parts.count < Self.maxParts else { throw bad("more than \(Self.maxParts) parts") }
            parts.append(Part(name: name, contentType: type, data: Data(body[head.upperBound..<next.lowerBound])))
            at = next.upperBound
        }
    }

    /// `name="value"` of a header line.
    static func parameter(_ key: String, in line: String) -> String? {
        for item in line.split(separator: ";").map({ $0.trimmingCharacters(in: .whitespaces) })
        where item.lowercased().hasPrefix(key + "=") {
            var v = String(item.dropFirst(key.count + 1))
            if v.hasPrefix("\""), v.hasSuffix("\""), v.count >= 2 { v = String(v.dropFirst().dropLast()) }
            return v
        }
        return nil
    }

    func part(_ name: String) -> Part? { parts.first { $0.name == name } }
}
