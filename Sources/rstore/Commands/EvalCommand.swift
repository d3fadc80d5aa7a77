import ArgumentParser
import CLIP
import Foundation
import RStoreCommandLine
import ResidualStore
import Timeline

/// `rstore eval ...`: how faithful ResidualViT is to full CLIP, measured on real videos.
struct EvalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Fidelity of P-features to full CLIP, and the paper's zero-shot grounding protocol.",
        subcommands: [EvalFidelityCommand.self, EvalGroundingCommand.self]
    )
}

/// Comma-separated values of an option, each parsed or a validation error naming the option.
func parseList<T>(_ text: String, option: String, _ parse: (String) -> T?) throws -> [T] {
    let parts = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    guard !parts.isEmpty else { throw ValidationError("--\(option) is empty") }
    return try parts.map { part in
        guard let v = parse(part) else { throw ValidationError("--\(option): cannot read \(part)") }
        return v
    }
}

/// Prints `rows` as JSON Lines (one object per row, keys sorted, fields in snake_case).
func printJSONLines<T: Encodable>(_ rows: [T]) throws {
    let enc = JSONEncoder()
    enc.outputFormatting = [.sortedKeys]
    enc.keyEncodingStrategy = .convertToSnakeCase
    for r in rows { print(String(decoding: try enc.encode(r), as: UTF8.self)) }
}

/// `text` padded with spaces to `width` (left-aligned, or right-aligned for numbers).
func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
    let fill = String(repeating: " ", count: max(0, width - text.count))
    return right ? fill + text : text + fill
}

/// The settings grid of both evaluations: every N x p x strategy, with A = 0 and, when given,
/// with the trained A.
struct FidelitySettings {
    var n: String, p: String, strategy: String, tokenizer: String?
    var iframes = "fixed"

    func settings(for clip: CLIPModel) throws -> [FidelityEvaluation.Setting] {
        let ns = try parseList(n, option: "n") { Int($0).flatMap { $0 >= 1 ? $0 : nil } }
        let ps = try parseList(p, option: "p") { Double($0).flatMap { $0 >= 0 && $0 < 1 ? $0 : nil } }
        let strategies =
            strategy == "all"
            ? ReductionStrategy.allCases
            : try parseList(strategy, option: "strategy") { ReductionStrategy(rawValue: $0) }
        var tokenizers = [("A=0", ResidualTokenizer.zero(for: clip))]
        if let tokenizer {
            tokenizers.append(
                (tokenizer, try ResidualTokenizer(contentsOf: URL(fileURLWithPath: tokenizer), for: clip)))
        }
        let placements = try parseList(iframes, option: "iframes") { IFramePlacement(rawValue: $0) }
        var out: [FidelityEvaluation.Setting] = []
        for n in ns {
            for p in ps {
                for s in strategies {
                    for (name, a) in tokenizers {
                        for placement in placements {
                            out.append(
                                .init(n: n, p: p, strategy: s, tokenizerName: name, tokenizer: a, iframes: placement))
                        }
                    }
                }
            }
        }
        return out
    }
}
