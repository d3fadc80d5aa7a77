import ArgumentParser
import Foundation

/// A time on a video's timeline as users write it: seconds (`95.2`) or ffmpeg's
/// `[HH:]MM:SS[.ms]` (`1:35.2`, `00:01:35.200`). Negative, non-finite and malformed values
/// are refused by the parser, naming the option.
struct TimeArgument: ExpressibleByArgument, Equatable {
    var seconds: Double

    init(seconds: Double) { self.seconds = seconds }

    init?(argument: String) {
        guard let s = Self.parse(argument) else { return nil }
        seconds = s
    }

    static func parse(_ text: String) -> Double? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard (1...3).contains(parts.count), text.count <= 32 else { return nil }
        // Hours and minutes are whole numbers; only the last field has a fraction.
        var total = 0.0
        for (i, p) in parts.enumerated() {
            let last = i == parts.count - 1
            guard !p.isEmpty, p.allSatisfy({ $0.isASCII && ($0.isNumber || (last && $0 == ".")) }), let v = Double(p)
            else { return nil }
            // MM and SS below 60 when a larger unit precedes them.
            if i > 0, v >= 60 { return nil }
            total = total * 60 + v
        }
        return total.isFinite ? total : nil
    }

    static var defaultCompletionKind: CompletionKind { .default }
}

/// A time as rstore prints it, `HH:MM:SS.ss` as ffmpeg writes and reads it
/// (`00:01:35.20`), so a printed time can be pasted into `--from` or `ffmpeg -ss`.
func formatTime(_ s: Double) -> String {
    let centis = Int((max(0, s.isFinite ? s : 0) * 100).rounded())
    let h = centis / 360_000
    let m = centis / 6000 % 60
    let sec = Double(centis % 6000) / 100
    return String(format: "%02d:%02d:%05.2f", h, m, sec)
}
