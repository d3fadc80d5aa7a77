import Foundation

/// Why a tokenizer could not be loaded. Every case names the file, because the usual
/// cause is a wrong or half-downloaded model folder and the path is what the user must fix.
public enum TokenizerError: Error, CustomStringConvertible, Sendable {
    /// The file does not exist (or is not a regular file).
    case missingFile(URL)
    /// The file exists but could not be read or is not UTF-8.
    case unreadableFile(URL, reason: String)
    /// vocab.json is not a JSON object of token -> integer id.
    case invalidVocabulary(URL, reason: String)
    /// merges.txt does not start with the `#version` header line Hugging Face files have
    /// (Hugging Face silently drops the first line, so a header-less file would lose a merge).
    case missingMergesHeader(URL)
    /// A merges.txt line is not two space-separated symbols. `line` is 1-based.
    case malformedMerge(URL, line: Int, content: String)
    /// A merge produces a token that vocab.json does not contain. `line` is 1-based.
    case mergeNotInVocabulary(URL, line: Int, token: String)
    /// vocab.json lacks `<|startoftext|>` and/or `<|endoftext|>`.
    case missingSpecialTokens(URL, missing: [String])

    public var description: String {
        switch self {
        case .missingFile(let url):
            return "tokenizer file not found: \(url.path)"
        case .unreadableFile(let url, let reason):
            return "cannot read tokenizer file \(url.path): \(reason)"
        case .invalidVocabulary(let url, let reason):
            return "bad vocabulary JSON in \(url.path): \(reason)"
        case .missingMergesHeader(let url):
            return "\(url.path): line 1 must be the '#version: 0.2' header of a Hugging Face merges.txt"
        case .malformedMerge(let url, let line, let content):
            return "\(url.path):\(line): expected two space-separated symbols, got \(String(reflecting: content))"
        case .mergeNotInVocabulary(let url, let line, let token):
            return "\(url.path):\(line): merged token \(String(reflecting: token)) is not in the vocabulary"
        case .missingSpecialTokens(let url, let missing):
            return "vocabulary \(url.path) lacks special token(s) \(missing.joined(separator: ", "))"
        }
    }
}
