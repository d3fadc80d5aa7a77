import Foundation

/// A caption of a time span of one training video.
public struct Caption: Sendable, Equatable {
    /// Index into the trainer's videos.
    public let video: Int
    public let start: Double
    public let end: Double
    public let text: String
    /// 1-based line of the captions file, for messages.
    public let line: Int

    public init(video: Int, start: Double, end: Double, text: String, line: Int) {
        self.video = video
        self.start = start
        self.end = end
        self.text = text
        self.line = line
    }

    /// Whether a P-frame at `time` gets this caption's text: start <= time <= end.
    public func covers(_ time: Double) -> Bool { time >= start && time <= end }
}

/// Captions as JSON Lines, one object a line: {"path": ..., "start": s, "end": s, "text": ...}.
/// Blank lines and lines starting with '#' are skipped.
public enum CaptionFile {
    /// Parses and checks every line against the videos: a path that names none of them, a
    /// span outside a video (start < 0, end < start, start beyond the end, end more than one
    /// second past it) or an empty text is an error naming the line.
    ///
    /// A caption's path matches a video when, after resolving it against the captions file's
    /// folder or the working directory, it is the same file; or when its last path component
    /// is the name of exactly one video.
    public static func load(_ url: URL, videos: [TrainingVideo]) throws -> [Caption] {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw TrainingError.badCaption(
                path: url.path, line: 0, reason: "cannot read the captions file: \(error.localizedDescription)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw TrainingError.badCaption(path: url.path, line: 0, reason: "not UTF-8 text")
        }
        return try parse(text, path: url.path, baseDirectory: url.deletingLastPathComponent(), videos: videos)
    }

    public static func parse(_ text: String, path: String, baseDirectory: URL?, videos: [TrainingVideo]) throws
        -> [Caption]
    {
        let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        func canonical(_ p: String, relativeTo base: URL) -> String {
            let u = p.hasPrefix("/") ? URL(fileURLWithPath: p) : base.appendingPathComponent(p)
            return u.standardizedFileURL.resolvingSymlinksInPath().path
        }
        var byPath: [String: Int] = [:]
        var byName: [String: [Int]] = [:]
        for (i, v) in videos.enumerated() {
            byPath[canonical(v.name, relativeTo: cwd)] = i
            byName[(v.name as NSString).lastPathComponent, default: []].append(i)
        }
        var out: [Caption] = []
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = n + 1
            let s = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if s.isEmpty || s.hasPrefix("#") { continue }
            func fail(_ reason: String) -> TrainingError { .badCaption(path: path, line: line, reason: reason) }
            guard let obj = (try? JSONSerialization.jsonObject(with: Data(s.utf8))) as? [String: Any] else {
                throw fail("not a JSON object")
            }
            guard let p = obj["path"] as? String, !p.isEmpty else { throw fail("no \"path\" string") }
            guard let start = (obj["start"] as? NSNumber)?.doubleValue,
                let end = (obj["end"] as? NSNumber)?.doubleValue,
                start.isFinite, end.isFinite
            else {
                throw fail("\"start\" and \"end\" must be numbers (seconds)")
            }
            guard let caption = obj["text"] as? String,
                !caption.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
            else { throw fail("no \"text\" (or it is empty)") }
            var candidates = [canonical(p, relativeTo: cwd)]
            if let baseDirectory { candidates.append(canonical(p, relativeTo: baseDirectory)) }
            var video = candidates.lazy.compactMap { byPath[$0] }.first
            if video == nil, let same = byName[(p as NSString).lastPathComponent], same.count == 1 { video = same[0] }
            guard let v = video else {
                throw fail(
                    "\"\(p)\" is not one of the videos being trained on (\(videos.map(\.name).joined(separator: ", ")))"
                )
            }
            let duration = videos[v].duration
            guard start >= 0, end >= start else { throw fail("span [\(start), \(end)] s is not a valid time range") }
            guard start < duration + 1e-6, end <= duration + 1 else {
                throw fail(
                    """
                    span [\(start), \(end)] s lies outside \(videos[v].name) (duration \
                    \(String(format: "%.3f", duration)) s)
                    """
                )
            }
            out.append(Caption(video: v, start: start, end: end, text: caption, line: line))
        }
        return out
    }
}
