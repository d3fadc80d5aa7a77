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
    @Flag(
        help:
            """
            Stage 1's moments only: boundaries from the stored I-frames (flagged coarse), no P-frame reconstructed \
            and no video decoded.
            """
    ) var coarse = false
    @Option(
        help:
            """
            Seconds (from the command's start) to wait for refined moments; when they pass first, refining stops \
            and stage 1's moments are printed, flagged coarse (exit status 0; with --json, "deadline_passed": true). \
            Stage 1's answer is always printed, even when it comes after the deadline.
            """
    ) var deadline: Double?

    func validate() throws {
        let given = [text != nil, image != nil, like != nil, vector != nil].filter { $0 }.count
        guard given == 1 else {
            throw ValidationError("give one query: a text, --image FILE, --like VIDEO@SECONDS or --vector FILE.npy")
        }
        if let like { _ = try Self.parseLike(like) }
        if let deadline, !(deadline > 0 && deadline <= 86_400) {
            throw ValidationError("--deadline must be in (0, 86400] seconds, got \(deadline)")
        }
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
        /// True when --deadline passed before stage 2 finished (the moments are stage 1's).
        var deadlinePassed: Bool?
        func encode(to encoder: any Encoder) throws {
            try report.encode(to: encoder)
            var c = encoder.container(keyedBy: Key.self)
            try c.encode(queryKind, forKey: Key(stringValue: "query_kind")!)
            try c.encodeIfPresent(deadlinePassed, forKey: Key(stringValue: "deadline_passed")!)
        }
        struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init?(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }
    }

    func run() async throws {
        let started = Date()
        let lib = try library.open()
        let query = try input()
        let control = QueryControl(limits: .init(maxPFrames: coarse ? 0 : max(0, maxPFrames)))
        var report: SearchReport
        var passed: Bool?
        if let deadline {
            let (k, filter) = (k, filters.filter)
            let answer = try SearchDeadline(at: started.addingTimeInterval(deadline), control: control).run {
                progress in
                try lib.searchReport(query, k: k, filter: filter, control: control, progress: progress)
            }
            (report, passed) = (answer.report, answer.passed)
            if answer.passed {
                FileHandle.standardError.write(
                    Data(
                        "rstore: --deadline \(deadline) s passed before stage 2 finished: stage 1's coarse moments\n"
                            .utf8))
            }
        } else {
            report = try lib.searchReport(query, k: k, filter: filters.filter, control: control)
        }
        if json {
            try printJSON(Output(report: report, queryKind: query.kind, deadlinePassed: passed))
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
