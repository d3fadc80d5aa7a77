/// Ids ready for CLIP's text tower.
public struct TokenizedText: Sendable, Equatable {
    /// `[SOT] + text ids + [EOT]`, at most `CLIPTokenizer.contextLength` long, not padded.
    public let ids: [Int32]
    /// True when text ids were dropped to fit the context.
    public let truncated: Bool

    public init(ids: [Int32], truncated: Bool) {
        self.ids = ids
        self.truncated = truncated
    }
}
