import Foundation

/// A minimal HTTP/1.1 GET over a loopback TCP socket, for `rstore bench search` to time a real
/// `rstore serve` process. Deliberately not URLSession: linking FoundationNetworking (and
/// libcurl) into rstore would slow every command's start for the sake of one benchmark.
enum BenchHTTPClient {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// GETs `target` (path and query) from 127.0.0.1:`port`; returns the status and the body.
    static func get(port: Int, _ target: String, maxBytes: Int = 64 << 20) throws -> (status: Int, body: Data) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: errno \(errno)") }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard rc == 0 else { throw Failure(description: "connect to 127.0.0.1:\(port): errno \(errno)") }
        let request = Array("GET \(target) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n\r\n".utf8)
        var sent = 0
        while sent < request.count {
            let n = request[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw Failure(description: "send: errno \(errno)") }
            sent += n
        }
        var response = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { break }
            guard n > 0 else { throw Failure(description: "recv: errno \(errno)") }
            response.append(contentsOf: buffer[0..<n])
            guard response.count <= maxBytes else { throw Failure(description: "response over \(maxBytes) bytes") }
        }
        return try parse(response)
    }

    /// Splits a whole HTTP/1.1 response into status and body (Content-Length or chunked).
    static func parse(_ response: Data) throws -> (status: Int, body: Data) {
        guard let split = response.range(of: Data("\r\n\r\n".utf8)) else {
            throw Failure(description: "no HTTP header in \(response.count) bytes")
        }
        let head = String(decoding: response[..<split.lowerBound], as: UTF8.self).lowercased()
        let statusLine = head.split(separator: "\r\n").first ?? ""
        let parts = statusLine.split(separator: " ")
        guard parts.count >= 2, parts[0].hasPrefix("http/1."), let status = Int(parts[1]) else {
            throw Failure(description: "bad status line \(statusLine)")
        }
        var body = Data(response[split.upperBound...])
        if head.contains("transfer-encoding: chunked") {
            var out = Data()
            var rest = body[...]
            while let lineEnd = rest.range(of: Data("\r\n".utf8)),
                let size = Int(
                    String(decoding: rest[..<lineEnd.lowerBound], as: UTF8.self).split(separator: ";").first?
                        .trimmingCharacters(in: .whitespaces) ?? "", radix: 16), size > 0
            {
                let start = lineEnd.upperBound
                guard rest.distance(from: start, to: rest.endIndex) >= size else {
                    throw Failure(description: "truncated chunk")
                }
                out.append(rest[start..<rest.index(start, offsetBy: size)])
                rest = rest[rest.index(start, offsetBy: size)...].dropFirst(2)
            }
            body = out
        }
        return (status, body)
    }
}
