import Store

/// What stage 1 did for one query: the coarse candidates, best first, the ready videos they
/// come from, and what was scored (reported in `SearchReport`).
public struct Stage1Plan: Sendable {
    public var candidates: [MomentSearch.Candidate]
    public var ready: [Int64: VideoRecord]
    public var mode: Stage1Mode
    /// Videos whose curves were built (all ready videos on the exact path) and their rows.
    public var videosScored: Int
    public var rowsScored = 0
    /// The frames a filter admits of each video it admits (`Stage1Selection.frames`); nil
    /// without a filter. Stage 2 refines within them.
    var allowed: [Int64: Range<Int>]? = nil
}
