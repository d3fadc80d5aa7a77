import Store
import Video

// The one bridge between the video layer's sample point and the store's row of it (the two
// layers do not know each other; the engine knows both).

extension FrameOffset {
    init(_ r: FrameOffsetRecord) { self.init(index: r.index, pts: r.pts, time: r.time, seekPTS: r.seekPTS) }
}

extension FrameOffsetRecord {
    init(_ o: FrameOffset) { self.init(index: o.index, pts: o.pts, time: o.time, seekPTS: o.seekPTS) }
}
