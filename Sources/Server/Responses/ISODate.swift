import Foundation

/// Dates in API bodies: ISO 8601 strings in UTC with milliseconds (`2026-12-03T09:18:40.123Z`),
/// never epoch numbers. Media times (a moment's start, a frame's time) stay seconds.
enum ISODate {
    static func string(epochSeconds s: Double) -> String { string(Date(timeIntervalSince1970: s)) }

    static func string(_ date: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.string(from: date)
    }
}
