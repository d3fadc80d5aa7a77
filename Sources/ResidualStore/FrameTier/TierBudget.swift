import Foundation

/// How many bytes the decoded-frame tier may hold: by default enough for the whole library
/// (its video-hours at the measured bytes per hour, with room to grow), capped at a share of
/// the disk it lives on, so a library the disk can afford answers first queries from the tier
/// rather than from the originals (~2 s vs ~20 s cold on 720p; README). `--frame-tier-mb`
/// fixes it instead (0: no tier).
public struct TierBudget: Sendable, Equatable, Codable {
    /// P-frame payload bytes per video-hour the default plans for: the most measured at 720p
    /// (19.3 MB at 4:4:4 on the bench's six scenes, docs/DESIGN.md), rounded up.
    public static let framesPerHour = 24 << 20
    /// Still bytes per video-hour the default plans for (320 px JPEGs every 4 s and at shot
    /// starts: ~900-1000 an hour, 4-10 KB each on 720p; docs/DESIGN.md), rounded up.
    public static let stillsPerHour = 12 << 20
    /// Hours of room beyond the library (a file being indexed, the next ones).
    public static let headroomHours = 10.0
    /// The most of the disk's free space (plus what the tier holds already) the default takes.
    public static let diskShare = 0.25

    /// Payload bytes for P-frames and for stills (each evicted within its own budget).
    public var frames: Int
    public var stills: Int
    /// True when the free-disk ceiling, not the library's size, set the default.
    public var cappedByDisk: Bool

    public init(frames: Int, stills: Int, cappedByDisk: Bool = false) {
        self.frames = frames
        self.stills = stills
        self.cappedByDisk = cappedByDisk
    }

    /// The budget for a library of `hours` video-hours. `fixedFrames`: the frames' budget
    /// given by the user (0: off; stills then get the same share of it as by default);
    /// nil: follows the library, capped by `diskShare` of `freeDiskBytes` plus the
    /// `tierBytes` the tier holds already (no cap when the free space is unknown).
    public static func compute(hours: Double, freeDiskBytes: Int64?, tierBytes: Int = 0, fixedFrames: Int?)
        -> TierBudget
    {
        if let fixed = fixedFrames {
            let f = max(0, fixed)
            return TierBudget(frames: f, stills: Int(Double(f) * Double(stillsPerHour) / Double(framesPerHour)))
        }
        let h = max(0, hours.isFinite ? hours : 0) + headroomHours
        let perHour = Double(framesPerHour + stillsPerHour)
        var total = h * perHour
        var capped = false
        if let free = freeDiskBytes {
            let ceiling = diskShare * Double(max(0, free) + Int64(max(0, tierBytes)))
            if ceiling < total { (total, capped) = (ceiling, true) }
        }
        let frames = Int(total * Double(framesPerHour) / perHour)
        let stills = Int(total * Double(stillsPerHour) / perHour)
        return TierBudget(frames: frames, stills: stills, cappedByDisk: capped)
    }

    /// Free bytes of the file system holding `url`'s folder (nil when it cannot be read).
    public static func freeDiskBytes(at url: URL) -> Int64? {
        let folder = url.deletingLastPathComponent().path
        let attrs = try? FileManager.default.attributesOfFileSystem(forPath: folder)
        return (attrs?[.systemFreeSize] as? NSNumber)?.int64Value
    }
}
