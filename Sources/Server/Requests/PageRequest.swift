import Foundation

/// Cursor pagination of a list endpoint: `?limit=N&cursor=C`. A list of a whole library (or
/// of a month-long file's millions of frames) in one reply costs the server its size in
/// memory and the client hundreds of MB; every list answers at most `limit` items and, when
/// more follow, `nextCursor`: pass it as `cursor` for the next page. The cursor is the
/// position after the page (a video id, a frame index), so pages stay consistent while
/// videos are added. Without `limit` a page holds `defaultLimit` items: a client that never
/// heard of pages still gets every item of a library (or video) that fits one page.
struct PageRequest: Equatable {
    var limit: Int
    /// Items start after this position (nil: from the start).
    var cursor: Int64?

    init(limit: Int, cursor: Int64?) {
        self.limit = limit
        self.cursor = cursor
    }

    init(_ params: QueryParameters, maxLimit: Int) throws {
        limit = try params.int("limit", default: maxLimit, range: 1...maxLimit)
        if let raw = params.string("cursor"), !raw.isEmpty {
            guard let c = Int64(raw), c >= 0 else {
                throw APIError.badParameter(
                    "`cursor` must be a nextCursor from a previous page, got \"\(raw.prefix(40))\"")
            }
            cursor = c
        }
    }

    /// The page of `items` (sorted by `position`) after the cursor, and the next cursor.
    func page<T>(_ items: [T], position: (T) -> Int64) -> (items: [T], next: String?) {
        let rest = cursor.map { c in items.drop { position($0) <= c } } ?? items[...]
        let page = Array(rest.prefix(limit))
        let next = rest.count > limit ? page.last.map { String(position($0)) } : nil
        return (page, next)
    }
}
