import Foundation
import Hummingbird

/// Who may call an authenticated route. It sits on the route group (see `RouteTable`), so it
/// runs for every request the router matched to such a route, however its path was spelled
/// (`//v1/...`, `/v1//...`): no path is parsed here.
///
/// - No token configured (the server then only binds loopback, see
///   `ServerConfiguration.validate`): reads (GET/HEAD) pass, anything else is refused (403):
///   indexing over HTTP is off.
/// - Token configured: `Authorization: Bearer T` passes. Reads also pass with the page's
///   session cookie (HttpOnly, SameSite=Strict, set by `POST /v1/session`), so `<img>` and
///   `<video>` elements can load thumbnails and media; a cookie-authenticated request must
///   not carry a foreign `Origin`. Writes need the header: another site cannot make a
///   browser write on the user's behalf.
struct AuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: String?
    let sessions: SessionStore
    /// POST counts as a read: queries whose question is a body (`POST /v1/search`) change
    /// nothing, so they pass as GETs do (see `RouteTable.queryPost`).
    var postIsRead = false

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let isRead = request.method == .get || request.method == .head || (postIsRead && request.method == .post)
        guard let token else {
            if isRead { return try await next(request, context) }
            throw APIError(
                .forbidden, "writes_disabled",
                """
                write endpoints need a token: start `rstore serve` with --token-file FILE (or RSTORE_TOKEN) and send \
                `Authorization: Bearer T`
                """
            )
        }
        if let presented = Self.bearer(request), Self.constantTimeEqual(presented, token) {
            return try await next(request, context)
        }
        if isRead, let c = Self.cookie(request, sessions.cookieName), sessions.isValid(c) {
            guard HostGuard<Context>.originMatches(request) else { throw HostGuard<Context>.badOrigin(request) }
            return try await next(request, context)
        }
        let hadCredentials = request.headers[.authorization] != nil
        var e = APIError(
            .unauthorized, hadCredentials ? "bad_token" : "missing_token",
            hadCredentials
                ? "the bearer token is not valid"
                : """
                this server needs `Authorization: Bearer <token>` (the page: POST /v1/session with it sets a \
                session cookie)
                """
        )
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
                    return kv[1].trimmingCharacters(in: .whitespaces)
                }
            }
        }
        return nil
    }

    /// Compares without an early exit, so response time does not reveal a matching prefix.
    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8)
        let y = Array(b.utf8)
        var diff = UInt8(x.count == y.count ? 0 : 1)
        for i in 0..<max(x.count, y.count) {
            diff |= (i < x.count ? x[i] : 0) ^ (i < y.count ? y[i] : 0)
        }
        return diff == 0
    }
}
