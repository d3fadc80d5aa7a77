import Foundation
import Hummingbird

/// Defeats DNS rebinding and cross-site writes, on every request (before routing, so 404s
/// too).
///
/// - `Host` must name this server: the bound address, `localhost`, `127.0.0.1`, `::1`, or a
///   name given with `--allow-host` (any port). A page on `evil.example` whose name was
///   rebound to 127.0.0.1 still sends `Host: evil.example`, and gets 421. (A request without
///   `Host` cannot come from a browser, so it is let through.)
/// - For every request other than GET/HEAD, an `Origin` header, when present, must be this
///   server's own origin (`http(s)://` + the Host): 403 otherwise. Cookie-authenticated reads
///   get the same check in `AuthMiddleware`.
struct HostGuard<Context: RequestContext>: RouterMiddleware {
    let allowed: Set<String>

    init(boundHost: String, extra: [String]) {
        var a: Set<String> = ["localhost", "127.0.0.1", "::1"]
        a.insert(Self.normalise(boundHost))
        for h in extra { a.insert(Self.hostOf(authority: h) ?? Self.normalise(h)) }  // `name:port` → name
        allowed = a
    }

    /// Lower case, brackets and a trailing dot removed: `[::1]` → `::1`, `Host.` → `host`.
    static func normalise(_ host: String) -> String {
        var h = host.lowercased()
        if h.hasPrefix("["), h.hasSuffix("]") { h = String(h.dropFirst().dropLast()) }
        if h.hasSuffix(".") { h.removeLast() }
        return h
    }

    /// The host part of an authority (`host`, `host:port`, `[v6]`, `[v6]:port`), or nil when
    /// malformed.
    static func hostOf(authority: String) -> String? {
        guard !authority.isEmpty, !authority.contains(where: { $0 == "/" || $0 == "@" || $0 == " " }) else {
            return nil
        }
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            let rest = authority[authority.index(after: close)...]
            guard rest.isEmpty || (rest.first == ":" && rest.dropFirst().allSatisfy(\.isNumber)) else { return nil }
            return normalise(String(authority[...close]))
        }
        let parts = authority.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count <= 2, !parts[0].isEmpty else { return nil }
        if parts.count == 2, !parts[1].allSatisfy(\.isNumber) { return nil }
        return normalise(String(parts[0]))
    }

    func isAllowed(authority: String) -> Bool {
        guard let h = Self.hostOf(authority: authority) else { return false }
        return allowed.contains(h)
    }

    /// Whether the request's `Origin` (when present) is this server's own origin.
    static func originMatches(_ request: Request) -> Bool {
        guard let origin = request.headers[.origin] else { return true }
        guard let authority = request.head.authority else { return false }
        let o = origin.lowercased()
        let a = authority.lowercased()
        return o == "http://" + a || o == "https://" + a
    }

    static func badOrigin(_ request: Request) -> APIError {
        APIError(
            .forbidden, "bad_origin",
            """
            Origin \(request.headers[.origin]?.prefix(100) ?? "") is not this server's origin; cross-site requests \
            are refused
            """
        )
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        if let authority = request.head.authority, !isAllowed(authority: authority) {
            throw APIError(
                .misdirectedRequest, "bad_host",
                """
                Host \(authority.prefix(100)) is not a name of this server (allowed: \
                \(allowed.sorted().joined(separator: ", ")); add one with --allow-host)
                """
            )
        }
        if request.method != .get, request.method != .head, !Self.originMatches(request) {
            throw Self.badOrigin(request)
        }
        return try await next(request, context)
    }
}
