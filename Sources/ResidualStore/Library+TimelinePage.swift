import Foundation
import Store

extension Library {
    /// The timeline frames of `v` with index in `frames`: one page of `timeline(_:)`, read
    /// from the chunks that overlap the range only (a month-long file has millions of frames;
    /// the server pages through them). A video still indexing has no chunk index to seek by
    /// yet: its committed frames are read and cut.
    public func timeline(_ v: VideoRecord, frames: Range<Int>) throws -> [TimelineFrame] {
        let layout = v.layout
        let records: [FrameOffsetRecord]
        if v.status == .ready, let id = v.id {
            records = try store.frameOffsets(video: id, range: frames)
        } else {
            records = try store.offsets(of: v).filter { frames.contains($0.index) }
        }
        return records.map {
            TimelineFrame(
                index: $0.index, time: $0.time, kind: layout.kind(of: $0.index), anchor: layout.anchor(of: $0.index))
        }
    }
}
