import ArgumentParser
import Foundation
import ResidualStore

/// `rstore search "text" -k 10`: text-to-moment search over the whole library.
struct SearchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "search", abstract: "Find the moments of the library that best match a text.")

    @OptionGroup var library: LibraryOptions
    @Argument(help: "The text to search for.") var text: String
    @Option(name: .short, help: "Number of moments.") var k = 10
    @Flag(help: "Print JSON: the moments, stage1_ms, stage2_ms, p_frames, decoded_frames, frame_cache_hits.") var json = false
    @Option(help: "P-frames stage 2 may reconstruct; past it, moments keep coarse boundaries (flagged).") var maxPFrames = 4096

    func run() async throws {
        let lib = try library.open()
        let report = try lib.searchReport(text, k: k, control: QueryControl(limits: .init(maxPFrames: max(0, maxPFrames))))
        if json { try printJSON(report); return }
        if report.moments.isEmpty { print("no moments (is anything indexed? see `rstore stats`)") }
        for m in report.moments {
            print(String(format: "%.4f  %@  %@-%@%@", m.score, m.path, formatTime(m.start), formatTime(m.end), m.refined ? "" : "  (coarse)"))
        }
    }
}
