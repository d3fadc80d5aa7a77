import ArgumentParser
import Foundation
import ResidualStore

/// `rstore search "text" -k 10`: text-to-moment search over the whole library.
struct SearchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "search", abstract: "Find the moments of the library that best match a text.")

    @OptionGroup var library: LibraryOptions
    @Argument(help: "The text to search for.") var text: String
    @Option(name: .short, help: "Number of moments.") var k = 10
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        let lib = try library.open()
        let moments = try lib.search(text, k: k)
        if json { try printJSON(moments); return }
        if moments.isEmpty { print("no moments (is anything indexed? see `rstore stats`)") }
        for m in moments {
            print(String(format: "%.4f  %@  %@-%@", m.score, m.path, formatTime(m.start), formatTime(m.end)))
        }
    }
}
