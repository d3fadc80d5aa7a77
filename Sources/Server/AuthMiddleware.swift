import Foundation
import Hummingbird

/// Who may call what.
///
/// - Public, no token ever: `GET /`, `GET /healthz`, `GET /openapi.json` (no library data).
/// - Reads (`GET /v1/...`): free when no token is configured (the server then only binds
///   loopback, see `ServerConfiguration.validate`); with a token, they need
///   `Authorization: Bearer T`, or the `rstore_token` cookie (so `<img>` and `<video>`
///   elements of the page can load thumbnails and media).
/// - Writes (any other method under `/v1/`): always need `Authorization: Bearer T` (the cookie
///   is not accepted, so another site cannot make a browser post on the user's behalf);
///   without a configured token they are refused (403): indexing over HTTP is off.
struct AuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: String?

    static var cookieName: String { "rstore_token" }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        guard path.hasPrefix("/v1/") || path == "/v1" else { return try await next(request, context) }
        let isRead = request.method == .get || request.method == .head
        guard let token else {
            if isRead { return try await next(request, context) }
            throw APIError(.forbidden, "writes_disabled", "write endpoints need a token: start `rstore serve` with --token T (or RSTORE_TOKEN) and send `Authorization: Bearer T`")
        }
        if let presented = Self.bearer(request), Self.constantTimeEqual(presented, token) {
            return try await next(request, context)
        }
        if isRead, let c = Self.cookie(request, Self.cookieName), Self.constantTimeEqual(c, token) {
            return try await next(request, context)
        }
        let hadCredentials = request.headers[.authorization] != nil
        var e = APIError(.unauthorized, hadCredentials ? "bad_token" : "missing_token",
                         hadCredentials ? "the bearer token is not valid" : "this server needs `Authorization: Bearer <token>`")
        e.headers[.wwwAuthenticate] = "Bearer realm=\"rstore\""
        throw e
    }

    static func bearer(_ request: Request) -> String? {
        guard let h = request.headers[.authorization] else { return nil }
        let parts = h.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        return parts[1].trimmingCharacters(in: .whitespaces)
    }

    static func cookie(_ request: Request, _ name: String) -> String? {
        for header in request.headers[values: .cookie] {
            for pair in header.split(separator: ";") {
                let kv = pair.split(separator: "=", maxSplits: 1)
                if kv.count == 2, kv[0].trimmingCharacters(in: .whitespaces) == name {
                    return String(kv[1]).removingPercentEncoding ?? String(kv[1])
                }
            }
        }
        return nil
    }

    /// Compares without an early exit, so response time does not reveal a matching prefix.
    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        var diff = UInt8(x.count == y.count ? 0 : 1)
        for i in 0..<max(x.count, y.count) {
            diff |= (i < x.count ? x[i] : 0) ^ (i < y.count ? y[i] : 0)
        }
        return diff == 0
    }
}
