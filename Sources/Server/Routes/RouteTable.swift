import Foundation
import Hummingbird

/// Registers routes and remembers each (method, path), so a test can check the OpenAPI
/// document against what is really served. Paths use OpenAPI's `{name}` syntax, which
/// Hummingbird's router understands too.
///
/// Deny by default: `get`/`post` put a route in the authenticated group (the auth middleware
/// wraps the route's own responder, so it runs for whatever request path the router matched,
/// whatever its spelling); only `publicGet` routes, an explicit allow-list, skip it.
public struct RouteTable {
    public struct Entry: Hashable, Sendable, CustomStringConvertible {
        public var method: String
        public var path: String
        public var isPublic = false
        public var description: String { "\(method) \(path)" }
    }

    typealias Handler = @Sendable (Request, RStoreServer.Context) async throws -> Response
    let router: Router<RStoreServer.Context>
    let authenticated: RouterGroup<RStoreServer.Context>
    /// Authenticated like reads (token, or the page's cookie; open without a token).
    let queries: RouterGroup<RStoreServer.Context>
    private(set) var entries: [Entry] = []

    init(router: Router<RStoreServer.Context>, auth: AuthMiddleware<RStoreServer.Context>) {
        self.router = router
        authenticated = router.group().add(middleware: auth)
        var asRead = auth
        asRead.postIsRead = true
        queries = router.group().add(middleware: asRead)
    }

    /// A POST that only reads (a query with a body): authenticated as a GET is.
    mutating func queryPost(_ path: String, _ handler: @escaping Handler) {
        queries.post(RouterPath(path), use: handler)
        entries.append(Entry(method: "POST", path: path))
    }

    /// A route that needs no credentials. Only for routes without library data.
    mutating func publicGet(_ path: String, _ handler: @escaping Handler) {
        router.get(RouterPath(path), use: handler)
        entries.append(Entry(method: "GET", path: path, isPublic: true))
    }

    mutating func get(_ path: String, _ handler: @escaping Handler) {
        authenticated.get(RouterPath(path), use: handler)
        entries.append(Entry(method: "GET", path: path))
    }

    mutating func post(_ path: String, _ handler: @escaping Handler) {
        authenticated.post(RouterPath(path), use: handler)
        entries.append(Entry(method: "POST", path: path))
    }

    mutating func delete(_ path: String, _ handler: @escaping Handler) {
        authenticated.delete(RouterPath(path), use: handler)
        entries.append(Entry(method: "DELETE", path: path))
    }
}
