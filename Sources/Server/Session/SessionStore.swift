import Foundation

/// Browser sessions of the search page. `POST /v1/session` with the bearer token creates one
/// and sets it as an HttpOnly, SameSite=Strict cookie, so the page never keeps the token and
/// its `<img>`/`<video>` elements can load thumbnails and media. A session is a random
/// 256-bit id, not derived from the token (a leaked cookie reveals nothing and dies with the
/// process); ids live `lifetime` seconds, at most `capacity` at once (the oldest go first).
///
/// Browsers send a cookie to every port of its host, so the name carries a per-server id
/// (`rstore_session_<16 hex>`): two servers on one host (or a restart) never overwrite or read
/// each other's session; another local service still receives it, which is why the value is
/// a random id worth nothing outside this process.
final class SessionStore: @unchecked Sendable {
    static let cookiePrefix = "rstore_session_"
    /// This server's cookie name.
    let cookieName: String

    private let lock = NSLock()
    private var expiry: [String: Date] = [:]
    private var order: [String] = []
    let lifetime: TimeInterval
    let capacity: Int

    init(lifetime: TimeInterval = 12 * 3600, capacity: Int = 256) {
        self.lifetime = lifetime
        self.capacity = max(1, capacity)
        var rng = SystemRandomNumberGenerator()
        cookieName = Self.cookiePrefix + String(format: "%016llx", rng.next() as UInt64)
    }

    /// A new session id (64 hex digits).
    func create(now: Date = Date()) -> String {
        var rng = SystemRandomNumberGenerator()
        let id = (0..<4).map { _ in String(format: "%016llx", rng.next() as UInt64) }.joined()
        lock.withLock {
            expiry[id] = now.addingTimeInterval(lifetime)
            order.append(id)
            while order.count > capacity { expiry[order.removeFirst()] = nil }
        }
        return id
    }

    func isValid(_ id: String, now: Date = Date()) -> Bool {
        guard id.utf8.count == 64 else { return false }
        return lock.withLock {
            guard let e = expiry[id] else { return false }
            if e < now {
                expiry[id] = nil
                order.removeAll { $0 == id }
                return false
            }
            return true
        }
    }

    /// The `Set-Cookie` value for `id`.
    func cookie(_ id: String) -> String {
        "\(cookieName)=\(id); Path=/; HttpOnly; SameSite=Strict; Max-Age=\(Int(lifetime))"
    }
}
