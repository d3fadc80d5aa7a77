import Foundation
import Store

/// Which part of the library a search (or an export) looks at: videos under named library
/// roots, under a path prefix, with given ids, and frames within a span of each video's time.
/// Every condition given must hold; an empty filter admits everything.
///
/// Why here and not after the search: stage 1 scores only the rows a filter admits, so the
/// coarse curves, their thresholds and the candidates stage 2 refines come from the admitted
/// part alone, and no P-frame of a filtered-out video or span is ever computed.
public struct SearchFilter: Sendable, Equatable, Codable {
    /// Named library roots (`NAME` of `--root NAME=PATH`): videos stored as `NAME:...`.
    public var roots: [String]
    /// A stored path prefix, folder-wise: `2024/trip` admits `2024/trip/a.mp4`, not
    /// `2024/trips.mp4`; a prefix ending in `/` or `:` is matched as given. Rooted videos
    /// match by their stored name (`archive:2024/...`) or by their file on this machine.
    public var pathPrefix: String?
    /// Video ids (any of them).
    public var videoIDs: [Int64]
    /// Seconds within each video: frames whose sampling instant (index / fps) lies in
    /// [from, to]. Either bound may be open.
    public var from: Double?
    public var to: Double?

    public init(
        roots: [String] = [], pathPrefix: String? = nil, videoIDs: [Int64] = [], from: Double? = nil, to: Double? = nil
    ) {
        self.roots = roots
        self.pathPrefix = pathPrefix
        self.videoIDs = videoIDs
        self.from = from
        self.to = to
    }

    enum CodingKeys: String, CodingKey {
        case roots, from, to
        case pathPrefix = "path_prefix"
        case videoIDs = "video_ids"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        roots = try c.decodeIfPresent([String].self, forKey: .roots) ?? []
        pathPrefix = try c.decodeIfPresent(String.self, forKey: .pathPrefix)
        videoIDs = try c.decodeIfPresent([Int64].self, forKey: .videoIDs) ?? []
        from = try c.decodeIfPresent(Double.self, forKey: .from)
        to = try c.decodeIfPresent(Double.self, forKey: .to)
    }

    /// Largest number of roots or ids one filter may name (a request's work stays bounded).
    public static let maxItems = 1000
    public static let maxPrefixLength = 4096

    public var isEmpty: Bool { roots.isEmpty && pathPrefix == nil && videoIDs.isEmpty && from == nil && to == nil }

    /// Throws `LibraryError.badFilter` naming what is wrong.
    public func validate() throws {
        func bad(_ m: String) -> LibraryError { .badFilter(m) }
        if roots.count > Self.maxItems || videoIDs.count > Self.maxItems {
            throw bad("at most \(Self.maxItems) roots and \(Self.maxItems) video ids")
        }
        if let r = roots.first(where: { !RootMounts.isValidName($0) }) {
            throw bad("root \"\(r.prefix(64))\" is not a root name (letters, digits, - and _)")
        }
        if let p = pathPrefix {
            if p.isEmpty { throw bad("the path prefix is empty") }
            if p.utf8.count > Self.maxPrefixLength {
                throw bad("the path prefix is longer than \(Self.maxPrefixLength) bytes")
            }
            if p.contains("\0") { throw bad("the path prefix contains a NUL byte") }
        }
        if let id = videoIDs.first(where: { $0 < 0 }) { throw bad("video id \(id) is negative") }
        for (name, t) in [("from", from), ("to", to)] {
            if let t, !(t.isFinite && t >= 0) {
                throw bad("\(name) must be a non-negative number of seconds, got \(t)")
            }
        }
        if let f = from, let t = to, f > t { throw bad("from (\(f) s) is after to (\(t) s)") }
    }

    /// Whether `v` (its stored path and id) is admitted; `localPath` is its file on this
    /// machine when known (a rooted path's mount), for absolute prefixes.
    package func admits(_ v: VideoRecord, localPath: String? = nil) -> Bool {
        if !videoIDs.isEmpty, !videoIDs.contains(v.id ?? -1) { return false }
        if !roots.isEmpty {
            guard case .rooted(let root, _) = StoredPath(v.path), roots.contains(root) else { return false }
        }
        if let p = pathPrefix {
            guard Self.hasPrefix(v.path, p) || localPath.map({ Self.hasPrefix($0, p) }) == true else { return false }
        }
        return true
    }

    static func hasPrefix(_ path: String, _ prefix: String) -> Bool {
        if prefix.hasSuffix("/") || prefix.hasSuffix(":") { return path.hasPrefix(prefix) }
        return path == prefix || path.hasPrefix(prefix + "/")
    }

    /// The sampled frames of a video of `frames` frames at `fps` inside [from, to] (by their
    /// sampling instants k / fps); the whole video without a time bound.
    public func frames(count frames: Int, fps: Double) -> Range<Int> {
        guard from != nil || to != nil, fps > 0, fps.isFinite else { return 0..<frames }
        let lo = from.map { Int(min(Double(frames), ($0 * fps - 1e-9).rounded(.up))) } ?? 0
        let hi = to.map { Int(min(Double(frames - 1), ($0 * fps + 1e-9).rounded(.down))) } ?? frames - 1
        return lo <= hi ? max(0, lo)..<(hi + 1) : 0..<0
    }
}

extension Library {
    /// A rooted video's file on this machine, without touching the disk (path prefix filters).
    func localPath(of v: VideoRecord) -> String? {
        guard case .rooted(let root, let rel) = StoredPath(v.path), let folder = configuration.roots.folders[root]
        else { return nil }
        return folder.appendingPathComponent(rel).standardizedFileURL.path
    }
}
