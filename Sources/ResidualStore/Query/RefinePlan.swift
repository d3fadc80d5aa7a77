/// Stage 2's plan, a value (`MomentSearch.plan`): how each chosen candidate is refined, and the
/// frames whose features that needs, per video. The library computes the requests' features
/// (stored I-features, P-features reconstructed in one batched pass) and `MomentSearch.rank`
/// turns them into moments.
public struct RefinePlan: Sendable {
    /// One chosen candidate and how stage 2 refines it.
    public struct Refinement: Sendable {
        public var candidate: MomentSearch.Candidate
        public var video: MomentSearch.VideoContext
        /// The frames its refined curve covers (`MomentSearch.span`).
        public var span: Range<Int>
        /// Its decisive P-frames (`MomentSearch.decisiveFrames`); empty when not refined.
        public var pFrames: [Int]
        /// False when the P-frame budget ran out (or the video's file cannot be read here):
        /// the moment keeps coarse, I-frame-only boundaries.
        public var refined: Bool
    }

    /// The frames of one video whose features stage 2 needs: stored I-frames and the
    /// decisive P-frames of its refined candidates, ascending.
    public struct FrameRequest: Sendable, Equatable {
        public var video: Int64
        public var frameIndices: [Int]
    }

    /// In candidate order (best first).
    public var refinements: [Refinement]
    /// One request per video, by id.
    public var requests: [FrameRequest]
}
