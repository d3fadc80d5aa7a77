import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A bare HTTP/1.1 client over a POSIX socket: sends exactly the bytes given (clients such as
/// URLSession or AsyncHTTPClient normalise paths like `//v1/..` or `/v1/../v1`, which is what
/// these tests must not do).
enum RawHTTP {
    struct Reply {
        var status: Int
        var head: String
        var body: String
    }

    static func connect(port: Int) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EIO) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var tv = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let r = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard r == 0 else {
            close(fd)
            throw POSIXError(.ECONNREFUSED)
        }
        return fd
    }

    static func send(_ fd: Int32, _ text: String) {
        let bytes = Array(text.utf8)
        var off = 0
        while off < bytes.count {
            let n = bytes[off...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            off += n
        }
    }

    /// Sends `method target` with the given headers (Host defaults to 127.0.0.1:port) and reads
    /// the whole reply (the request says `Connection: close`).
    static func request(port: Int, _ method: String, _ target: String, headers: [String: String] = [:]) throws -> Reply
    {
        let fd = try connect(port: port)
        defer { close(fd) }
        var h = headers
        if h["Host"] == nil { h["Host"] = "127.0.0.1:\(port)" }
        h["Connection"] = "close"
        var text = "\(method) \(target) HTTP/1.1\r\n"
        for (k, v) in h.sorted(by: { $0.key < $1.key }) where !v.isEmpty { text += "\(k): \(v)\r\n" }
        send(fd, text + "\r\n")
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &buf, buf.count, 0)
            if n <= 0 { break }
            out.append(contentsOf: buf[0..<n])
        }
        let all = String(decoding: out, as: UTF8.self)
        let parts = all.components(separatedBy: "\r\n\r\n")
        let head = parts.first ?? ""
        let status = Int(head.split(separator: " ").dropFirst().first ?? "") ?? -1
        return Reply(status: status, head: head, body: parts.dropFirst().joined(separator: "\r\n\r\n"))
    }

    /// Opens a connection and sends `partial` (a request that never ends): a slow client.
    static func slowClient(port: Int, _ partial: String = "GET /v1/videos HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        throws -> Int32
    {
        let fd = try connect(port: port)
        send(fd, partial)
        return fd
    }

    /// Whether the server closes `fd` within `seconds` (end of stream or reset).
    static func isClosed(_ fd: Int32, within seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        var tv = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var buf = [UInt8](repeating: 0, count: 4096)
        repeat {
            let n = recv(fd, &buf, buf.count, 0)
            if n == 0 { return true }
            if n < 0, errno != EAGAIN, errno != EWOULDBLOCK, errno != EINTR { return true }
        } while Date() < deadline
        return false
    }

    /// `request` on a Dispatch thread: the server under test runs in this process on Swift's
    /// cooperative pool, which blocking clients must not occupy.
    static func requestOffPool(port: Int, _ method: String, _ target: String, headers: [String: String] = [:])
        async throws -> Reply
    {
        try await offPool { try request(port: port, method, target, headers: headers) }
    }

    /// Runs blocking client code on a Dispatch thread (see `requestOffPool`).
    static func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { c in
            DispatchQueue.global().async { c.resume(with: Result { try body() }) }
        }
    }
}
