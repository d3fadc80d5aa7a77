import ArgumentParser
import Foundation
import RStoreCommandLine
import ResidualStore

/// `rstore export`: the library's features (or a filter's) for FAISS, autofaiss or a
/// dataframe, streamed: rows are written as they are read, one batch in memory at a time.
struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract:
            "Export features with their video, path, time, frame and kind (I stored; --dense adds reconstructed P).",
        discussion: """
            --format npy writes a folder OUT: features.npy (float32, one row per frame: CLIP image embeddings as stored, not normalised; normalise for cosine) and \
            meta.jsonl (line i describes row i: video_id, path, time, frame, kind). --format jsonl writes one JSON \
            object per frame (the same fields and "embedding") to OUT, or to standard output without --out.
            """)

    enum Format: String, ExpressibleByArgument, CaseIterable { case npy, jsonl }

    @OptionGroup var library: LibraryOptions
    @OptionGroup var filters: FilterOptions
    @Option(help: "npy (a folder: features.npy + meta.jsonl) or jsonl.") var format = Format.npy
    @Flag(help: "Every sampled frame: P-features reconstructed (slow: the residual encoder runs on each).") var dense =
        false
    @Option(help: "Output: a folder for npy (created), a file for jsonl (default: standard output).") var out: String?
    @Flag(help: "Print a JSON summary (videos, rows, i_rows, p_rows) to standard error at the end.") var json = false

    func validate() throws {
        if format == .npy && out == nil { throw ValidationError("--format npy needs --out FOLDER") }
    }

    struct Meta: Encodable {
        let video_id: Int64
        let path: String
        let time: Double
        let frame: Int
        let kind: String  // "I" or "P"
    }

    struct Line: Encodable {
        let video_id: Int64
        let path: String
        let time: Double
        let frame: Int
        let kind: String  // "I" or "P"
        let embedding: [Float]
    }

    func run() async throws {
        let lib = try library.open()
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let summary: ExportSummary
        switch format {
        case .npy:
            let folder = URL(fileURLWithPath: out!)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let features = try NPYWriter(url: folder.appendingPathComponent("features.npy"), columns: lib.embedDim)
            let metaURL = folder.appendingPathComponent("meta.jsonl")
            FileManager.default.createFile(atPath: metaURL.path, contents: nil)
            let meta = try FileHandle(forWritingTo: metaURL)
            do {
                summary = try lib.export(filter: filters.filter, dense: dense) { rows in
                    try features.append(rows.flatMap(\.vector))
                    var lines = Data()
                    for r in rows {
                        lines.append(
                            try enc.encode(
                                Meta(
                                    video_id: r.videoID, path: r.path, time: r.time, frame: r.frame,
                                    kind: r.kind.rawValue)))
                        lines.append(0x0A)
                    }
                    try meta.write(contentsOf: lines)
                }
                try meta.close()
                try features.finish()
            } catch {
                features.abandon()
                throw error
            }
        case .jsonl:
            let handle: FileHandle
            if let out {
                FileManager.default.createFile(atPath: out, contents: nil)
                handle = try FileHandle(forWritingTo: URL(fileURLWithPath: out))
            } else {
                handle = FileHandle.standardOutput
            }
            summary = try lib.export(filter: filters.filter, dense: dense) { rows in
                var lines = Data()
                for r in rows {
                    lines.append(
                        try enc.encode(
                            Line(
                                video_id: r.videoID, path: r.path, time: r.time, frame: r.frame, kind: r.kind.rawValue,
                                embedding: r.vector)))
                    lines.append(0x0A)
                }
                try handle.write(contentsOf: lines)
            }
            if out != nil { try handle.close() }
        }
        if json {
            FileHandle.standardError.write(try enc.encode(summary) + Data("\n".utf8))
        } else {
            FileHandle.standardError.write(
                Data(
                    """
                    exported \(summary.rows) rows (\(summary.iRows) I, \(summary.pRows) P) of \(summary.videos) \
                    video(s)\(out.map { " to \($0)" } ?? "")\n
                    """
                    .utf8))
        }
    }
}
