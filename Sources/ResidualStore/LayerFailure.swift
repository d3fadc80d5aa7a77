import Store
import Video

/// An error from a layer below the engine (store, video decoding, JPEG encoding), classified
/// so a front end can answer it without importing those layers: the engine knows which of
/// their errors mean bad input, a missing file, a conflict or an outage.
public struct LayerFailure: Sendable, Equatable {
    public enum Kind: Sendable, Equatable { case badInput, notFound, conflict, unavailable, internalError }
    public var kind: Kind
    /// Stable machine-readable code (the server's `error.code`).
    public var code: String
    public var message: String

    /// Nil when `error` is not one of the lower layers' errors.
    public init?(_ error: any Error) {
        switch error {
        case let e as StoreError:
            switch e {
            case .unknownVideo: self.init(.notFound, "unknown_video", e.description)
            case .notReady: self.init(.conflict, "not_ready", e.description)
            case .invalidArgument: self.init(.badInput, "bad_parameter", e.description)
            case .locked: self.init(.unavailable, "store_locked", e.description)
            case .leaseLost: self.init(.conflict, "being_indexed", e.description)
            case .storageFull: self.init(.unavailable, "storage_full", e.description)
            case .corruptBlob, .corruptRow: self.init(.internalError, "corrupt_store", e.description)
            default: self.init(.internalError, "store_error", e.description)
            }
        case let e as VideoError:
            switch e {
            case .fileNotFound:
                self.init(
                    .notFound, "file_missing", "\(e.description) (the file was moved or deleted since it was indexed)")
            case .invalidArgument: self.init(.badInput, "bad_parameter", e.description)
            case .containerNotAllowed: self.init(.badInput, "container_not_allowed", e.description)
            default: self.init(.internalError, "video_error", e.description)
            }
        case let e as any StoreOutage where e.isOutage:
            self.init(.unavailable, "store_unavailable", e.description)
        case let e as JPEGEncodingError:
            self.init(.internalError, "jpeg_error", e.description)
        default:
            return nil
        }
    }

    init(_ kind: Kind, _ code: String, _ message: String) {
        self.kind = kind
        self.code = code
        self.message = message
    }
}
