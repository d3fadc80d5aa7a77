import Foundation
import ResidualStore

/// A stored video as the API shows it.
struct VideoSummary: Encodable {
    var id: Int64
    var path: String
    var name: String
    var status: String
    var error: String?
    var duration: Double
    var frames: Int
    var iFrames: Int
    var fps: Double
    var n: Int
    var p: Double
    var strategy: String
    var codec: String
    var width: Int?
    var height: Int?
    var videoCodec: String?
    var frameRate: Double?
    var sizeBytes: Int64
    /// When this version was stored (ISO 8601).
    var indexedAt: String
    /// Damage concealed while indexing (corrupt packets, damaged pictures, truncation), if any.
    var damage: Library.DamageReport?

    init(_ v: Library.StoredVideo) {
        id = v.id ?? -1
        path = v.path
        name = (v.path as NSString).lastPathComponent
        status = v.status.rawValue
        error = v.error
        duration = v.duration
        frames = v.frameCount
        iFrames = v.layout.iFrameCount(frames: v.frameCount)
        fps = v.fps
        n = v.n
        p = v.p
        strategy = v.strategy
        codec = v.codec
        sizeBytes = v.size
        indexedAt = ISODate.string(epochSeconds: v.updatedAt)
        damage = v.damageReport
        if let info = v.streamInfo {
            width = info.width
            height = info.height
            videoCodec = info.codecName
            frameRate = info.frameRate
        }
    }
}
