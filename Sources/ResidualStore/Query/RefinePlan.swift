/// Stage 2's plan, a value (`MomentSearch.plan`): how each chosen candidate is refined, and the
/// frames whose features that needs, per video. The library computes the requests' features
/// (stored I-features, P-features reconstructed in one batched pass) and `MomentSearch.rank`
/// turns them into moments.
package struct RefinePlan: Sendable {
    /// One chosen candidate and how stage 2 refines it.
    package struct Refinement: Sendable {
        package var candidate: MomentSearch.Candidate
        package var video: MomentSearch.VideoContext
        /// The frames its refined curve covers (`MomentSearch.span`).
        package var span: Range<Int>
        /// Its decisive P-frames (`MomentSearch.decisiveFrames`); empty when not refined.
        package var pFrames: [Int]
        /// False when the P-frame budget ran out (or the video's file cannot be read here):
        /// the moment keeps coarse, I-frame-only boundaries.
        package var refined: Bool
    }

    /// The frames of one video whose features stage 2 needs: stored I-frames and the
    /// decisive P-frames of its refined candidates, ascending.
    package struct FrameRequest: Sendable, Equatable {
        package var video: Int64
        package var frameIndices: [Int]
    }

    /// In candidate order (best first).
    package var refinements: [Refinement]
    /// One request per video, by id.
    package var requests: [FrameRequest]

    /// The plan of `requests` (indices into `requests`, ascending) alone: those requests and
    /// the refinements of their videos, for the moments of one finished pass of stage 2.
    package func part(_ indices: [Int]) -> RefinePlan {
        let chosen = indices.map { requests[$0] }
        let ids = Set(chosen.map(\.video))
        return RefinePlan(refinements: refinements.filter { ids.contains($0.video.id) }, requests: chosen)
    }
}
