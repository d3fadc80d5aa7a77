import ArgumentParser
import Foundation
import RStoreCommandLine
import ResidualStore

/// `rstore ls`: the stored videos, one line each (or JSON), so a user can see what a library
/// holds and pick ids for `rm`, `embed` or `ground`.
struct ListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ls", abstract: "List the stored videos: id, status, duration, frames, path.")

    @OptionGroup var library: LibraryOptions
    @Option(help: "Only videos of this status: ready, indexing or failed.") var status: Status?
    @Flag(help: "Print JSON (one array).") var json = false

    enum Status: String, ExpressibleByArgument, CaseIterable { case ready, indexing, failed }

    struct Row: Encodable {
        let id: Int64
        let path: String
        let status: String
        let duration_s: Double
        let frames: Int
        let i_frames: Int
        let iframes: String
        let error: String?
    }

    func run() async throws {
        let lib = try library.open()
        let videos = try lib.videos(status: status.map { Library.StoredVideo.Status(rawValue: $0.rawValue)! })
        let rows = videos.map { v in
            Row(
                id: v.id ?? -1, path: v.path, status: v.status.rawValue, duration_s: v.duration, frames: v.frameCount,
                i_frames: v.layout.iFrameCount(frames: v.frameCount), iframes: v.iframes, error: v.error)
        }
        if json { return try printJSON(rows) }
        for r in rows {
            let cols = [
                pad(String(r.id), 6, left: true), pad(r.status, 8), pad(formatTime(r.duration_s), 11, left: true),
                pad("\(r.frames) frames", 13, left: true), r.path,
            ]
            print(cols.joined(separator: "  ") + (r.error.map { "  (\($0))" } ?? ""))
        }
        print("\(rows.count) video(s)")
    }

    func pad(_ s: String, _ width: Int, left: Bool = false) -> String {
        let fill = String(repeating: " ", count: max(0, width - s.count))
        return left ? fill + s : s + fill
    }
}

/// `rstore rm`: removes stored videos by id or path (every stored version of a path). Files on
/// disk are never touched; only what the library holds about them.
struct RemoveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm", abstract: "Remove stored videos (by id or path) from the library; the files stay.")

    @OptionGroup var library: LibraryOptions
    @Argument(help: "Video ids (from `rstore ls`) or paths.") var videos: [String]
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        let lib = try library.open()
        let all = try lib.videos()
        var removed: [Int64] = []
        var problems: [String] = []
        for ref in videos {
            let ids: [Int64]
            if let id = Int64(ref) {
                ids = [id]
            } else {
                let stored = try? lib.video(ref).path
                ids = all.filter {
                    $0.path == stored || $0.path == ref || $0.path == URL(fileURLWithPath: ref).standardizedFileURL.path
                }.compactMap(\.id)
            }
            if ids.isEmpty {
                problems.append("\(ref): no such video in \(lib.storePath)")
                continue
            }
            for id in ids {
                do {
                    if try lib.delete(videoID: id) {
                        removed.append(id)
                    } else {
                        problems.append("\(ref): no video \(id) in \(lib.storePath)")
                    }
                } catch { problems.append("\(error)") }
            }
        }
        if json {
            struct Out: Encodable {
                let removed: [Int64]
                let problems: [String]
            }
            try printJSON(Out(removed: removed, problems: problems))
        } else {
            for id in removed { print("removed \(id)") }
            for p in problems { FileHandle.standardError.write(Data("rstore rm: \(p)\n".utf8)) }
        }
        if !problems.isEmpty { throw ExitCode(1) }
    }
}

/// `rstore prune`: removes what no longer describes a file: versions whose file is gone, and
/// failed attempts. `--dry-run` only lists them.
struct PruneCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Remove stored videos whose files are gone (--missing) and failed attempts (--failed).")

    @OptionGroup var library: LibraryOptions
    @Flag(
        help: "Videos whose file was moved or deleted (a changed file is re-indexed by `rstore index --stale` instead)."
    ) var missing = false
    @Flag(help: "Failed indexing attempts.") var failed = false
    @Flag(help: "List what would be removed; remove nothing.") var dryRun = false
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        guard missing || failed else { throw ValidationError("say what to prune: --missing, --failed, or both") }
    }

    func run() async throws {
        let lib = try library.open()
        var victims = missing ? try lib.missingVideos() : []
        if failed { victims += try lib.videos(status: .failed) }
        var removed: [Int64] = []
        if !dryRun {
            for v in victims where try lib.delete(videoID: v.id!) { removed.append(v.id!) }
        }
        if json {
            struct Out: Encodable {
                let candidates: [String]
                let removed: [Int64]
                let dry_run: Bool
            }
            return try printJSON(Out(candidates: victims.map(\.path), removed: removed, dry_run: dryRun))
        }
        for v in victims {
            print("\(dryRun ? "would remove" : "removed") \(v.id ?? -1) \(v.path) (\(v.status.rawValue))")
        }
        print("\(dryRun ? victims.count : removed.count) video(s) \(dryRun ? "would be " : "")removed")
    }
}
