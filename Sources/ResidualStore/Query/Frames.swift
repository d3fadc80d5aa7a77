import Foundation
import Store
import Video

extension Library {
    /// Sampled frame `index` of a stored video, decoded at full size from its stored seek point
    /// (what thumbnails are made of). Throws `StoreError.invalidArgument` for an index outside
    /// the video's sampled frames. Every frame the decoder outputs on the way (from the seek
    /// keyframe on) is charged to `control`.
    package func frameImage(_ v: VideoRecord, index: Int, control: QueryControl = QueryControl()) throws -> RGBImage {
        let offsets = try offsets(of: v)
        guard offsets.indices.contains(index) else {
            throw StoreError.invalidArgument("frame \(index) is outside \(v.path) (frames 0..<\(offsets.count))")
        }
        try checkFresh(v)
        let reader = try VideoReader(url: try file(of: v), threads: 1, concealDamage: true)
        return try reader.decode(offsets[index], meter: control.decodeMeter)
    }
}
