import Store

/// What stage 1 did for one query: the coarse candidates, best first, the ready videos they
/// come from, and what was scored (reported in `SearchReport`).
package struct Stage1Plan: Sendable {
    package var candidates: [MomentSearch.Candidate]
    package var ready: [Int64: VideoRecord]
    package var mode: Stage1Mode
    /// Videos whose curves were built (all ready videos on the exact path) and their rows.
    package var videosScored: Int
    package var rowsScored = 0
    /// The frames a filter admits of each video it admits (`Stage1Selection.frames`); nil
    /// without a filter. Stage 2 refines within them.
    var allowed: [Int64: Range<Int>]? = nil
}
