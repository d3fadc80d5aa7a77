import Foundation
import Hummingbird
import Logging

/// One line per request at `info`: method, the route pattern it matched (`/v1/videos/{id}`,
/// never the raw path or its query, so no query text and no ids of what was searched), status
/// and milliseconds, e.g. `GET /v1/search 200 12.4 ms`. The token never appears (it travels in
/// a header). At `debug` the raw path and query are logged too. The same figures go to
/// `/metrics`. Outermost middleware: it sees the status the error middleware settled on.
struct AccessLog<Context: RequestContext>: RouterMiddleware {
    let logger: Logger
    let metrics: ServerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let start = DispatchTime.now().uptimeNanoseconds
        do {
            // Until the response is ready (a media reply's body streams after it).
            let response = try await next(request, context)
            record(request, context, Int(response.status.code), start)
            return response
        } catch {
            record(request, context, Int((error as? any HTTPResponseError)?.status.code ?? 500), start)
            throw error
        }
    }

    private func record(_ request: Request, _ context: Context, _ status: Int, _ start: UInt64) {
        let ns = DispatchTime.now().uptimeNanoseconds &- start
        let route = Self.route(context.endpointPath)
        let method = Self.method(request.method.rawValue)
        metrics.request(method: method, route: route, status: status, nanoseconds: ns)
        logger.info("\(method) \(route) \(status) \(String(format: "%.1f", Double(ns) / 1e6)) ms")
        logger.debug("\(method) \(request.uri.description) \(status)")
    }

    /// The method, or `other` for one outside HTTP's usual few: a client may send any token
    /// as a method, and each would otherwise become a new series in `/metrics`.
    static func method(_ raw: String) -> String {
        ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"].contains(raw) ? raw : "other"
    }

    /// The router's pattern for the request, or `unmatched` (a path no route has: its text is
    /// the client's, so it is not echoed, and it cannot grow the metrics' label set).
    static func route(_ endpoint: String?) -> String {
        guard let endpoint, endpoint.hasPrefix("/") else { return "unmatched" }
        return endpoint
    }
}
