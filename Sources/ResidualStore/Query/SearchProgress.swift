/// What a search hands its caller before its final report (`Library.searchReport(progress:)`),
/// so a client can show stage 1's answer at once instead of waiting for stage 2: decoding the
/// decisive P-frames of videos the frame tier does not hold takes seconds, stage 1 milliseconds.
public enum SearchProgress: Sendable {
    /// Stage 1's answer, before stage 2 starts: the report a search with no P-frame budget
    /// returns (`refine=false`): boundaries from the stored I-frames alone (`refined` false),
    /// `stage1Ms` up to now, no P-frame, `stage2Videos` empty.
    case coarse(SearchReport)
    /// The moments of `videos` once one batched pass of stage 2 has their P-frames (videos
    /// indexed with the same settings share one pass): the best of those videos' refinements,
    /// ranked as the final report ranks them. None when no candidate is refined (no P-frame
    /// budget). The final report's list is authoritative.
    case refined([Moment], videos: [Int64])
}
