import Foundation
import Hummingbird

/// JSON bodies: sorted keys, slashes unescaped, `application/json`, and one casing for every
/// field of every body: snake_case (`video_id`, `first_frame`, `next_cursor`), derived from the
/// Swift names by the encoder so a new field cannot drift (the contract test checks each
/// field against `openapi.json`). Dictionary keys (data, not fields) are left as they are.
enum JSONResponse {
    static func encoder() -> JSONEncoder {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        enc.keyEncodingStrategy = .convertToSnakeCase
        enc.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return enc
    }

    static func make<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) throws
        -> Response
    {
        let data = try encoder().encode(value)
        var h = headers
        h[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: h, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
