import Digest
import Foundation

/// The fixed sentences text distillation tops every step's text set up with, so a corpus
/// without captions (or with few) still scores against hundreds of texts. The shipped set
/// (`Resources/prompts.txt`, 4096 sentences) is written by `Tools/make-prompts.py` from
/// templates x objects, everyday actions and scenes; a user may pass their own file (e.g. a
/// dataset's sentences), one text a line.
public struct PromptSet: Sendable, Equatable {
    public let texts: [String]
    /// SHA-256 of the texts joined by newlines: what the embedding cache and the checkpoint
    /// record, so a changed set is never mistaken for the one A was trained with.
    public let sha256: String
    /// Where it came from, for messages.
    public let source: String

    /// Files larger than this are refused before reading (the shipped set: ~150 KB).
    public static let maxFileBytes = 16 << 20
    public static let resourceName = "prompts.txt"

    public init(texts: [String], source: String) {
        self.texts = texts
        self.source = source
        sha256 = SHA256.hex(Data(texts.joined(separator: "\n").utf8))
    }

    /// The set shipped with rstore, from the resource bundle SwiftPM places beside the
    /// executable (or the test bundle). Looked up by hand rather than through `Bundle.module`,
    /// whose accessor traps when the bundle is missing (a copied binary).
    public static func shipped() throws -> PromptSet {
        var dirs: [URL] = []
        if let exe = Bundle.main.executableURL?.resolvingSymlinksInPath() {
            dirs.append(exe.deletingLastPathComponent())
        }
        dirs.append(Bundle.main.bundleURL)
        for b in Bundle.allBundles + Bundle.allFrameworks { dirs.append(b.bundleURL.deletingLastPathComponent()) }
        return try shipped(searching: dirs)
    }

    static let bundleName = "ResidualStore_CLIPTraining.resources"

    /// The shipped set from the first of `dirs` holding the resource bundle.
    static func shipped(searching dirs: [URL]) throws -> PromptSet {
        for d in dirs {
            let url = d.appendingPathComponent(bundleName).appendingPathComponent(resourceName)
            if FileManager.default.fileExists(atPath: url.path) { return try load(url) }
        }
        throw TrainingError.badParameter(
            "the shipped prompt set (\(bundleName)/\(resourceName)) is not beside the executable "
                + """
                (looked in \(dirs.map(\.path).joined(separator: ", "))); pass a text file of sentences instead \
                (--text-set)
                """
        )
    }

    /// One text a line; blank lines and lines starting with '#' are skipped.
    public static func load(_ url: URL) throws -> PromptSet {
        func fail(_ reason: String) -> TrainingError { .badParameter("\(url.path): \(reason)") }
        let size = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber)?.intValue
        guard let size else { throw fail("cannot read the text set") }
        guard size <= maxFileBytes else { throw fail("text set of \(size) bytes, more than \(maxFileBytes)") }
        guard let data = try? Data(contentsOf: url) else { throw fail("cannot read the text set") }
        guard let text = String(data: data, encoding: .utf8) else { throw fail("text set is not UTF-8") }
        let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
        guard !lines.isEmpty else { throw fail("no texts in the text set") }
        return PromptSet(texts: lines, source: url.path)
    }
}
