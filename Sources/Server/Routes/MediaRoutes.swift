import Foundation
import Hummingbird
import ResidualStore

extension RStoreServer {
    static func mediaType(_ path: String) -> String {
        switch (path as NSString).pathExtension.lowercased() {
        case "mp4", "m4v": return "video/mp4"
        case "webm": return "video/webm"
        case "mkv": return "video/x-matroska"
        case "mov": return "video/quicktime"
        case "ogv": return "video/ogg"
        case "ts", "mts", "m2ts": return "video/mp2t"
        case "avi": return "video/x-msvideo"
        default: return "application/octet-stream"
        }
    }

    func registerMediaRoutes(_ t: inout RouteTable) {
        // GET /v1/videos/{id}/media: the video file, with single-range Range support.
        t.get("/v1/videos/{id}/media") { [self] request, context in
            let v = try await videoRecord(context)
            let library = self.library
            let (path, size) = try await blocking("checking the file of video \(v.id ?? -1)", store: false) {
                try self.checkServable(v)
                try library.checkFresh(v)  // a replaced file is not the indexed video
                let path = try library.file(of: v).path
                let attrs: [FileAttributeKey: Any]
                do { attrs = try FileManager.default.attributesOfItem(atPath: path) } catch {
                    throw APIError(
                        .notFound, "file_missing", "\(v.path): the file was moved or deleted since it was indexed")
                }
                return (path, (attrs[.size] as? NSNumber)?.intValue ?? 0)
            }
            var headers = HTTPFields()
            headers[.contentType] = Self.mediaType(v.path)
            headers[.acceptRanges] = "bytes"
            headers[.eTag] = "\"\(v.contentHash.prefix(16))\""
            let fileIO = FileIO()
            switch ByteRange.parse(request.headers[.range], size: size) {
            case .unsatisfiable:
                var e = APIError(
                    .rangeNotSatisfiable, "range_not_satisfiable",
                    "the requested range is outside the file (\(size) bytes)")
                e.headers[.contentRange] = "bytes */\(size)"
                throw e
            case .whole:
                guard size > 0 else { return Response(status: .ok, headers: headers) }
                headers[.contentLength] = String(size)
                let body = try await fileIO.loadFile(path: path, range: 0...(size - 1), context: context)
                return Response(status: .ok, headers: headers, body: body)
            case .partial(let r):
                // Cap one reply; players ask again from where it ended.
                let end = min(r.upperBound, r.lowerBound + configuration.limits.maxMediaChunk - 1)
                headers[.contentRange] = "bytes \(r.lowerBound)-\(end)/\(size)"
                headers[.contentLength] = String(end - r.lowerBound + 1)
                let body = try await fileIO.loadFile(path: path, range: r.lowerBound...end, context: context)
                return Response(status: .partialContent, headers: headers, body: body)
            }
        }
    }
}
