import ArgumentParser
import Foundation
import RStoreCommandLine
import ResidualStore

/// `rstore embed VIDEO --from S --to S`: dense embeddings over a time range.
struct EmbedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Dense frame embeddings of a stored video over a time range (I stored, P reconstructed).")

    enum Format: String, ExpressibleByArgument { case json, npy, npz }

    @OptionGroup var library: LibraryOptions
    @Argument(help: "A stored video: its path or id.") var video: String
    @Option(help: "Start time: seconds or HH:MM:SS.ms (e.g. 95.5 or 00:01:35.500).") var from = TimeArgument(seconds: 0)
    @Option(help: "End time: seconds or HH:MM:SS.ms (default: the end).") var to: TimeArgument?
    @Option(
        help:
            """
            json (one object per frame), npy (float32 [frames, dim] to --out) or npz (to --out: embeddings, times, \
            indices, kinds).
            """
    ) var format = Format.json
    @Option(help: "Output file for npy and npz.") var out: String?

    func validate() throws {
        if format != .json && out == nil { throw ValidationError("--format \(format.rawValue) needs --out FILE") }
    }

    func run() async throws {
        let lib = try library.open()
        let v = try lib.video(video)
        let frames = try lib.embeddings(v, from: from.seconds, to: to?.seconds ?? v.duration)
        switch format {
        case .json:
            for f in frames {
                struct Row: Encodable {
                    let index: Int
                    let time: Double
                    let kind: String
                    let anchor: Int
                    let embedding: [Float]
                }
                try printJSON(
                    Row(index: f.index, time: f.time, kind: f.kind.rawValue, anchor: f.anchor, embedding: f.vector))
            }
        case .npy:
            let dim = lib.embedDim
            try NPY.data(frames.flatMap(\.vector), shape: [frames.count, dim]).write(to: URL(fileURLWithPath: out!))
            FileHandle.standardError.write(Data("wrote \(frames.count) x \(dim) float32 to \(out!)\n".utf8))
        case .npz:
            // numpy.load(out): embeddings [frames, dim] float32, times float64 (s), indices int64, kinds '<U1' ('I'/'P').
            let dim = lib.embedDim
            let archive = try NPZ.archive([
                ("embeddings", NPY.data(frames.flatMap(\.vector), shape: [frames.count, dim])),
                ("times", NPZ.float64(frames.map(\.time))),
                ("indices", NPZ.int64(frames.map(\.index))),
                ("kinds", NPZ.characters(frames.map { Character($0.kind.rawValue) })),
            ])
            try archive.write(to: URL(fileURLWithPath: out!))
            FileHandle.standardError.write(
                Data(
                    """
                    wrote \(frames.count) frames (embeddings \(frames.count) x \(dim), times, indices, kinds) to \
                    \(out!)\n
                    """
                    .utf8))
        }
    }
}
