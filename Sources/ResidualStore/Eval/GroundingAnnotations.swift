import Foundation

/// One query of a temporal grounding dataset: a sentence and the span it describes.
public struct GroundingAnnotation: Sendable, Equatable {
    /// The video's id or relative path as the file gives it.
    public var video: String
    public var start: Double
    public var end: Double
    public var text: String
    /// 1-based line in the annotations file, for messages.
    public var line: Int
}

/// Reads grounding annotations in either of two formats, chosen per line:
/// Charades-STA (`VIDEO START END##SENTENCE`, times in seconds) or JSON Lines
/// (`{"video": ..., "start": s, "end": s, "text": ...}`). Blank lines are skipped. Every line is
/// checked (a known video field, finite times, 0 <= start < end, a non-empty sentence); a bad
/// one is an error naming the file and line.
public enum GroundingAnnotations {
    /// Files larger than this are refused before reading (Charades-STA test: ~0.3 MB).
    public static let maxFileBytes = 256 << 20

    public static func load(_ url: URL) throws -> [GroundingAnnotation] {
        let size = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber)?.intValue
        guard let size else { throw EvalError.badAnnotation(path: url.path, line: 0, reason: "cannot read the file") }
        guard size <= maxFileBytes else {
            throw EvalError.badAnnotation(path: url.path, line: 0, reason: "\(size) bytes, more than \(maxFileBytes)")
        }
        guard let data = try? Data(contentsOf: url) else {
            throw EvalError.badAnnotation(path: url.path, line: 0, reason: "cannot read the file")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw EvalError.badAnnotation(path: url.path, line: 0, reason: "not UTF-8 text")
        }
        return try parse(text, path: url.path)
    }

    public static func parse(_ text: String, path: String) throws -> [GroundingAnnotation] {
        var out: [GroundingAnnotation] = []
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !line.isEmpty else { continue }
            let a =
                line.hasPrefix("{")
                ? try json(line, path: path, line: i + 1) : try charades(line, path: path, line: i + 1)
            func bad(_ reason: String) -> EvalError { .badAnnotation(path: path, line: i + 1, reason: reason) }
            guard !a.video.isEmpty else { throw bad("empty video") }
            guard a.start.isFinite, a.end.isFinite, a.start >= 0, a.end > a.start else {
                throw bad("span \(a.start)-\(a.end) s is not 0 <= start < end")
            }
            guard !a.text.isEmpty else { throw bad("empty sentence") }
            out.append(a)
        }
        guard !out.isEmpty else { throw EvalError.badAnnotation(path: path, line: 0, reason: "no annotations") }
        return out
    }

    private static func charades(_ line: String, path: String, line n: Int) throws -> GroundingAnnotation {
        guard let sep = line.range(of: "##") else {
            throw EvalError.badAnnotation(path: path, line: n, reason: "neither JSON nor `VIDEO START END##SENTENCE`")
        }
        let head = line[..<sep.lowerBound].split(whereSeparator: \.isWhitespace)
        guard head.count == 3, let start = Double(head[1]), let end = Double(head[2]) else {
            throw EvalError.badAnnotation(
                path: path, line: n, reason: "expected `VIDEO START END` before ##, got `\(line[..<sep.lowerBound])`")
        }
        return GroundingAnnotation(
            video: String(head[0]), start: start, end: end,
            text: line[sep.upperBound...].trimmingCharacters(in: .whitespaces), line: n)
    }

    private struct JSONLine: Decodable {
        var video: String
        var start: Double
        var end: Double
        var text: String
    }

    private static func json(_ line: String, path: String, line n: Int) throws -> GroundingAnnotation {
        do {
            let j = try JSONDecoder().decode(JSONLine.self, from: Data(line.utf8))
            return GroundingAnnotation(
                video: j.video, start: j.start, end: j.end, text: j.text.trimmingCharacters(in: .whitespaces), line: n)
        } catch {
            throw EvalError.badAnnotation(
                path: path, line: n, reason: "expected {\"video\", \"start\", \"end\", \"text\"}: \(error)")
        }
    }
}

/// Bad input to an evaluation.
public enum EvalError: Error, CustomStringConvertible, Equatable {
    case badAnnotation(path: String, line: Int, reason: String)
    case noVideos(annotations: String, videos: String)

    public var description: String {
        switch self {
        case .badAnnotation(let p, let l, let r): return l > 0 ? "\(p):\(l): \(r)" : "\(p): \(r)"
        case .noVideos(let a, let v): return "none of the videos named in \(a) were found or readable in \(v)"
        }
    }
}
