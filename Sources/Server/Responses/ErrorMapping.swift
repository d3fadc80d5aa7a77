import Foundation
import Hummingbird
import ResidualStore

extension APIError {
    /// The API's view of any error thrown below a handler.
    static func from(_ error: any Error) -> APIError {
        // Store, video and JPEG errors as the engine classifies them.
        if let f = LayerFailure(error) {
            let status: HTTPResponse.Status =
                switch f.kind {
                case .badInput: .badRequest
                case .notFound: .notFound
                case .conflict: .conflict
                case .unavailable: .serviceUnavailable
                case .internalError: .internalServerError
                }
            return APIError(status, f.code, f.message)
        }
        switch error {
        case let e as APIError:
            return e
        case let e as LibraryError:
            switch e {
            case .emptyQuery, .badK, .badRange: return .badParameter(e.description)
            case .notAVideo: return APIError(.badRequest, "not_a_video", e.description)
            case .settingsMismatch: return APIError(.conflict, "settings_mismatch", e.description)
            case .notShared: return APIError(.conflict, "not_shared", e.description)
            case .badVector: return APIError(.badRequest, "bad_vector", e.description)
            case .badImage: return APIError(.badRequest, "bad_image", e.description)
            case .imageTooLarge: return APIError(.contentTooLarge, "image_too_large", e.description)
            case .timeOutsideVideo: return APIError(.badRequest, "time_outside_video", e.description)
            case .badFilter: return APIError(.badRequest, "bad_filter", e.description)
            }
        case let e as RootError:
            switch e {
            // Another server behind the same balancer may mount it: the store is fine, this host is not.
            case .notMounted: return APIError(.serviceUnavailable, "root_not_mounted", e.description)
            case .badPath(_, .traversal): return APIError(.badRequest, "path_traversal", e.description)
            case .badPath, .badName: return .badParameter(e.description)
            case .leavesRoot: return APIError(.forbidden, "outside_library_roots", e.description)
            case .underNoRoot: return APIError(.forbidden, "outside_named_roots", e.description)
            }
        case let e as FreshnessError:
            switch e {
            case .missing: return APIError(.notFound, "file_missing", e.description)
            case .stale: return APIError(.conflict, "stale", e.description)
            case .unreadable: return APIError(.internalServerError, "file_unreadable", e.description)
            }
        case let e as QueryError:
            switch e {
            case .cancelled:
                return APIError(
                    .serviceUnavailable, "cancelled",
                    "the request was cancelled (its client went away or the server is stopping)")
            case .overBudget(let budget, _, _):
                return APIError(
                    .badRequest, "over_limit",
                    "\(e.description) (the server's \(budget == .pFrames ? "--max-p-frames" : "--max-decoded-frames"))")
            }
        case let e as HTTPError:
            switch e.status {
            case .contentTooLarge:
                return APIError(.contentTooLarge, "body_too_large", e.body ?? "request body too large")
            case .notFound: return APIError(.notFound, "no_route", e.body ?? "no such route")
            case .methodNotAllowed:
                return APIError(.methodNotAllowed, "method_not_allowed", e.body ?? "method not allowed")
            default: return APIError(e.status, "http_\(e.status.code)", e.body ?? e.status.reasonPhrase)
            }
        case let e as any HTTPResponseError:
            return APIError(e.status, "http_\(e.status.code)", e.status.reasonPhrase)
        case is CancellationError:
            return APIError(.serviceUnavailable, "cancelled", "the request was cancelled")
        case let e as CustomStringConvertible:
            return APIError(.internalServerError, "internal", e.description)
        default:
            return APIError(.internalServerError, "internal", "\(type(of: error))")
        }
    }
}

/// Turns every error (including the router's own 404/405) into the JSON error shape.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        do {
            return try await next(request, context)
        } catch {
            let api = APIError.from(error)
            if api.status.code >= 500, api.status != .serviceUnavailable {
                context.logger.error("\(request.method) \(request.uri.path): \(api.message)")
            }
            return try api.response(from: request, context: context)
        }
    }
}
