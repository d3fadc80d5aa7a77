import ArgumentParser
import Foundation
import ResidualStore
import Timeline

/// `rstore embed VIDEO --from S --to S`: dense embeddings over a time range.
struct EmbedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Dense frame embeddings of a stored video over a time range (I stored, P reconstructed).")

    enum Format: String, ExpressibleByArgument { case json, npy }

    @OptionGroup var library: LibraryOptions
    @Argument(help: "A stored video: its path or id.") var video: String
    @Option(help: "Start time: seconds or HH:MM:SS.ms (e.g. 95.5 or 00:01:35.500).") var from = TimeArgument(seconds: 0)
    @Option(help: "End time: seconds or HH:MM:SS.ms (default: the end).") var to: TimeArgument?
    @Option(help: "json (one object per frame) or npy (float32 [frames, dim] to --out).") var format = Format.json
    @Option(help: "Output file for npy.") var out: String?

    func validate() throws {
        if format == .npy && out == nil { throw ValidationError("--format npy needs --out FILE") }
    }

    func run() async throws {
        let lib = try library.open()
        let v = try lib.video(video)
        let frames = try lib.embeddings(v, from: from.seconds, to: to?.seconds ?? v.duration)
        switch format {
        case .json:
            for f in frames {
                struct Row: Encodable { let index: Int; let time: Double; let kind: FrameKind; let anchor: Int; let embedding: [Float] }
                try printJSON(Row(index: f.index, time: f.time, kind: f.kind, anchor: f.anchor, embedding: f.vector))
            }
        case .npy:
            let dim = lib.embedDim
            try NPY.write(frames.flatMap(\.vector), shape: [frames.count, dim], to: URL(fileURLWithPath: out!))
            FileHandle.standardError.write(Data("wrote \(frames.count) x \(dim) float32 to \(out!)\n".utf8))
        }
    }
}

/// Minimal NumPy .npy writer (format 1.0, little-endian float32, C order).
enum NPY {
    static func write(_ values: [Float], shape: [Int], to url: URL) throws {
        let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': \(shapeText), }"
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var data = Data([0x93]) + Data("NUMPY".utf8) + Data([1, 0])
        let len = UInt16(header.utf8.count)
        data.append(contentsOf: [UInt8(len & 0xff), UInt8(len >> 8)])
        data.append(Data(header.utf8))
        values.withUnsafeBufferPointer { data.append(Data(buffer: $0)) }
        try data.write(to: url)
    }
}
