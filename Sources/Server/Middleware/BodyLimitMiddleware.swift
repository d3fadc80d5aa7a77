import Foundation
import Hummingbird

/// Refuses bodies larger than the limit with 413 before any handler reads them: by the
/// declared Content-Length when there is one, else while collecting (handlers collect with
/// the same bound).
struct BodyLimitMiddleware<Context: RequestContext>: RouterMiddleware {
    let maxBytes: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        if let len = request.headers[.contentLength].flatMap({ Int($0) }), len > maxBytes {
            throw APIError(
                .contentTooLarge, "body_too_large",
                "request body of \(len) bytes exceeds the limit of \(maxBytes) bytes")
        }
        return try await next(request, context)
    }
}

extension Request {
    /// The body, at most `maxBytes` (413 beyond).
    mutating func collectBody(limit maxBytes: Int) async throws -> ByteBuffer {
        do {
            return try await collectBody(upTo: maxBytes)
        } catch let e as HTTPError where e.status == .contentTooLarge {
            throw APIError(.contentTooLarge, "body_too_large", "request body exceeds the limit of \(maxBytes) bytes")
        }
    }
}
