import Foundation
import Hummingbird

/// An error as the API reports it: `{"error": {"code": "...", "message": "..."}}` with an
/// HTTP status. Every failure a handler can meet is turned into one of these (see
/// `APIError.from`), so clients never see a stack trace or an HTML error page.
public struct APIError: Error, HTTPResponseError, CustomStringConvertible, Sendable {
    public var status: HTTPResponse.Status
    public var code: String
    public var message: String
    public var headers: HTTPFields = [:]

    public init(_ status: HTTPResponse.Status, _ code: String, _ message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    public var description: String { "\(status.code) \(code): \(message)" }

    static func badParameter(_ message: String) -> APIError { APIError(.badRequest, "bad_parameter", message) }
    static func notFound(_ message: String) -> APIError { APIError(.notFound, "not_found", message) }

    struct Body: Encodable {
        struct Inner: Encodable {
            var code: String
            var message: String
        }
        var error: Inner
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var h = headers
        h[.contentType] = "application/json; charset=utf-8"
        h[.cacheControl] = "no-store"
        let data =
            (try? JSONEncoder().encode(Body(error: .init(code: code, message: message))))
            ?? Data("{\"error\":{\"code\":\"internal\",\"message\":\"\"}}".utf8)
        return Response(status: status, headers: h, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
