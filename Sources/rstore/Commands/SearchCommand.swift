import ArgumentParser
import Foundation
import RStoreCommandLine
import ResidualStore

/// `rstore search "text" -k 10`: moment search over the library, by a text, an image, a
/// stored frame ("more like this") or a vector, optionally within a filter.
struct SearchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract: "Find the moments of the library that best match a text, an image, a stored frame or a vector.")

    @OptionGroup var library: LibraryOptions
    @OptionGroup var filters: FilterOptions
    @Argument(help: "The text to search for (or give --image, --like or --vector).") var text: String?
    @Option(help: "Search by an image file (PNG, JPEG, anything libav reads).") var image: String?
    @Option(
        help:
            """
            More like this: VIDEO@TIME, VIDEO a stored id or path, TIME seconds or HH:MM:SS.ms (e.g. 3@12.5, \
            a.mp4@00:01:20).
            """
    ) var like: String?
    @Option(help: "Search by a vector: a 1-D .npy (float32 or float64) of the model's width.") var vector: String?
    @Option(name: .short, help: "Number of moments.") var k = 10
    @Flag(
        help:
            """
            Print JSON: the moments, query_kind, stage1_ms, stage2_ms, p_frames, decoded_frames, frame_cache_hits, \
            stage1_videos, stage1_rows, stage2_videos.
            """
    ) var json = false
    @Option(help: "P-frames stage 2 may reconstruct; past it, moments keep coarse boundaries (flagged).")
    var maxPFrames = 4096

    func validate() throws {
        let given = [text != nil, image != nil, like != nil, vector != nil].filter { $0 }.count
        guard given == 1 else {
            throw ValidationError("give one query: a text, --image FILE, --like VIDEO@SECONDS or --vector FILE.npy")
        }
        if let like { _ = try Self.parseLike(like) }
    }

    /// `VIDEO@TIME` split at its last `@` (a path may contain one); TIME as `TimeArgument` reads it.
    static func parseLike(_ s: String) throws -> (video: String, time: Double) {
        guard let at = s.lastIndex(of: "@"), let t = TimeArgument.parse(String(s[s.index(after: at)...])),
            at > s.startIndex
        else {
            throw ValidationError("--like \(s): expected VIDEO@SECONDS, e.g. 3@12.5 or clips/a.mp4@80")
        }
        return (String(s[..<at]), t)
    }

    func input() throws -> QueryInput {
        if let text { return .text(text) }
        if let image { return .image(URL(fileURLWithPath: image)) }
        if let like {
            let l = try Self.parseLike(like)
            return .storedFrame(video: l.video, time: l.time)
        }
        return .vector(try NPY.readVector(URL(fileURLWithPath: vector!)))
    }

    struct Output: Encodable {
        let report: SearchReport
        let queryKind: String
        func encode(to encoder: any Encoder) throws {
            try report.encode(to: encoder)
            var c = encoder.container(keyedBy: Key.self)
            try c.encode(queryKind, forKey: Key(stringValue: "query_kind")!)
        }
        struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init?(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }
    }

    func run() async throws {
        let lib = try library.open()
        let query = try input()
        let report = try lib.searchReport(
            query, k: k, filter: filters.filter,
            control: QueryControl(limits: .init(maxPFrames: max(0, maxPFrames))))
        if json {
            try printJSON(Output(report: report, queryKind: query.kind))
            return
        }
        if report.moments.isEmpty {
            print(
                filters.filter.isEmpty
                    ? "no moments (is anything indexed? see `rstore stats`)" : "no moments within the filter")
        }
        for m in report.moments {
            print(
                String(
                    format: "%.4f  %@  %@-%@%@", m.score, m.path, formatTime(m.start), formatTime(m.end),
                    m.refined ? "" : "  (coarse)"))
        }
    }
}
