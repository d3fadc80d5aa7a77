import Foundation
import Hummingbird

/// Registers routes on the router and remembers each (method, path), so a test can check the
/// OpenAPI document against what is really served. Paths use OpenAPI's `{name}` syntax, which
/// Hummingbird's router understands too.
public struct RouteTable {
    public struct Entry: Hashable, Sendable, CustomStringConvertible {
        public var method: String
        public var path: String
        public var description: String { "\(method) \(path)" }
    }

    let router: Router<RStoreServer.Context>
    private(set) var entries: [Entry] = []

    init(router: Router<RStoreServer.Context>) { self.router = router }

    mutating func get(_ path: String, _ handler: @escaping @Sendable (Request, RStoreServer.Context) async throws -> Response) {
        router.get(RouterPath(path), use: handler)
        entries.append(Entry(method: "GET", path: path))
    }

    mutating func post(_ path: String, _ handler: @escaping @Sendable (Request, RStoreServer.Context) async throws -> Response) {
        router.post(RouterPath(path), use: handler)
        entries.append(Entry(method: "POST", path: path))
    }
}
