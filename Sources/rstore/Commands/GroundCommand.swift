import ArgumentParser
import Foundation
import RStoreCommandLine
import ResidualStore

/// `rstore ground VIDEO "text"`: zero-shot temporal grounding in one video.
struct GroundCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ground",
        abstract:
            "Ground a sentence in one video: similarity curve, 15-frame moving average, runs above the mean, ranked.")

    @OptionGroup var library: LibraryOptions
    @Argument(help: "A stored video: its path or id.") var video: String
    @Argument(help: "The sentence.") var text: String
    @Option(name: .short, help: "Number of proposals to print.") var k = 1
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        let lib = try library.open()
        let proposals = Array(try lib.ground(try lib.video(video), text: text).prefix(max(1, k)))
        if json {
            try printJSON(proposals)
            return
        }
        for m in proposals {
            print(String(format: "%@-%@  %.4f  %@", formatTime(m.start), formatTime(m.end), m.score, m.path))
        }
    }
}
