import Foundation

/// Browser sessions of the search page. `POST /v1/session` with the bearer token creates one
/// and sets it as an HttpOnly, SameSite=Strict cookie, so the page never keeps the token and
/// its `<img>`/`<video>` elements can load thumbnails and media. A session is a random
/// 256-bit id, not derived from the token (a leaked cookie reveals nothing and dies with the
/// process); ids live `lifetime` seconds, at most `capacity` at once (the oldest go first).
final class SessionStore: @unchecked Sendable {
    static let cookieName = "rstore_session"

    private let lock = NSLock()
    private var expiry: [String: Date] = [:]
    private var order: [String] = []
    let lifetime: TimeInterval
    let capacity: Int

    init(lifetime: TimeInterval = 12 * 3600, capacity: Int = 256) {
        self.lifetime = lifetime
        self.capacity = max(1, capacity)
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
            if e < now { expiry[id] = nil; order.removeAll { $0 == id }; return false }
            return true
        }
    }

    /// The `Set-Cookie` value for `id`.
    func cookie(_ id: String) -> String {
        "\(Self.cookieName)=\(id); Path=/; HttpOnly; SameSite=Strict; Max-Age=\(Int(lifetime))"
    }
}
