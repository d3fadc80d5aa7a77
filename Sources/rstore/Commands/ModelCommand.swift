import ArgumentParser
import CLIP
import Foundation
import RStoreCommandLine

/// `rstore model import|info`: install a downloaded CLIP folder where rstore finds it by default.
struct ModelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model", abstract: "Install and inspect CLIP model folders.",
        subcommands: [Import.self, Info.self, InitRandom.self])

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate a model folder (model.safetensors, config.json, vocab.json, merges.txt) and install it."
        )

        @Argument(help: "The model folder to import.") var path: String
        @Option(help: "Name to install under (default: 'default', what rstore uses when no --model is given).")
        var name = "default"
        @Flag(help: "Symlink instead of copying the files.") var link = false

        func run() async throws {
            let src = URL(fileURLWithPath: path)
            let model = try CLIPModel(directory: src)  // validates every tensor before anything is written
            let dst = ModelLocations.root.appendingPathComponent(name)
            let fm = FileManager.default
            try fm.createDirectory(at: ModelLocations.root, withIntermediateDirectories: true)
            let staging = ModelLocations.root.appendingPathComponent(".\(name).importing")
            try? fm.removeItem(at: staging)
            try fm.createDirectory(at: staging, withIntermediateDirectories: true)
            for file in ["model.safetensors", "config.json", "vocab.json", "merges.txt"] {
                let from = src.appendingPathComponent(file).standardizedFileURL
                guard fm.fileExists(atPath: from.path) else { continue }
                let to = staging.appendingPathComponent(file)
                if link {
                    try fm.createSymbolicLink(at: to, withDestinationURL: from)
                } else {
                    try fm.copyItem(at: from, to: to)
                }
            }
            // Swap in only once complete, so a failed import leaves the old model usable.
            if fm.fileExists(atPath: dst.path) { try fm.removeItem(at: dst) }
            try fm.moveItem(at: staging, to: dst)
            print("imported \(model.config.archName) (sha256 \(model.weightsSHA256.prefix(12))) to \(dst.path)")
        }
    }

    struct Info: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a model's architecture and weights hash.")
        @OptionGroup var model: ModelOption
        @Flag var json = false

        func run() async throws {
            let m = try model.load()
            if json {
                let enc = JSONEncoder()
                enc.outputFormatting = [.sortedKeys]
                struct Out: Encodable {
                    let arch: String
                    let sha256: String
                    let config: CLIPConfig
                    let tokenizer: Bool
                }
                print(
                    String(
                        decoding: try enc.encode(
                            Out(
                                arch: m.config.archName, sha256: m.weightsSHA256, config: m.config,
                                tokenizer: m.tokenizer != nil)), as: UTF8.self))
            } else {
                let c = m.config
                print(
                    """
                    \(m.directory.path)\n  arch \(c.archName), image \(c.imageSize), patch \(c.patchSize), embed \
                    \(c.embedDim)
                    """
                )
                print(
                    "  vision: width \(c.vision.width), layers \(c.vision.layers), heads \(c.vision.heads), \(c.vision.activation.rawValue)"
                )
                if let t = c.text {
                    print(
                        "  text: width \(t.width), layers \(t.layers), heads \(t.heads), vocab \(c.vocabSize), context \(c.contextLength), \(t.activation.rawValue)"
                    )
                }
                print("  sha256 \(m.weightsSHA256)")
            }
        }
    }

    struct InitRandom: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "init-random",
            abstract:
                """
                Write a randomly initialised CLIP of a standard shape (for demos and benchmarks; meaningless \
                similarities).
                """
        )

        @Argument(help: "Folder to write.") var path: String
        @Option(help: "Architecture: B/32, B/16 or L/14.") var arch = "B/32"
        @Option(
            help: "Folder with vocab.json and merges.txt to copy in (CLIP's real BPE; Tools/make-vocab.py writes them)."
        )
        var vocab: String
        @Option(help: "Random seed.") var seed: UInt64 = 0

        func run() async throws {
            guard let config = CLIPConfig.standard(arch) else {
                throw ValidationError("unknown --arch \(arch) (B/32, B/16, L/14)")
            }
            let dir = URL(fileURLWithPath: path)
            let fm = FileManager.default
            let vocabDir = URL(fileURLWithPath: vocab)
            let tokenizer = try CLIPTokenizer(directory: vocabDir)
            guard tokenizer.vocabularySize == config.vocabSize else {
                throw ValidationError(
                    "\(vocabDir.path): \(tokenizer.vocabularySize) tokens, but \(arch) embeds \(config.vocabSize)")
            }
            try RandomCheckpoint.write(config: config, to: dir, seed: seed)
            for f in ["vocab.json", "merges.txt"] {
                let to = dir.appendingPathComponent(f)
                if fm.fileExists(atPath: to.path) { try fm.removeItem(at: to) }
                try fm.copyItem(at: vocabDir.appendingPathComponent(f), to: to)
            }
            print("wrote random \(config.archName) to \(dir.path)")
        }
    }
}
