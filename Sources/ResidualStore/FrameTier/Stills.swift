import Foundation
import Store
import Video

/// Stills: small JPEGs of I-frames, written at ingest from the picture already decoded for
/// the encoder (no extra decode), so a thumbnail never seeks and decodes the original.
///
/// One per shot start and otherwise one every `stillSpacing` seconds (the first I-frame at or
/// past it), not one per shot alone (a shot can last minutes) nor one per I-frame (every 1.5 s
/// by default: 23 MB per video-hour on 720p animation at 320 px, more than the P-frame tier).
/// A moment's thumbnail is then the picture at most `stillSpacing` plus one I-frame spacing
/// before the frame asked for, inside the same shot wherever shots were detected.
/// Keyed by the content hash and the frame's time in milliseconds, so stills outlive a change
/// of fps, N, p or strategy (the picture at a time of the same bytes is the same).
extension FrameTier {
    /// Longer side in pixels: the server's default thumbnail size, so a still is served as is.
    static let stillMaxDimension = 320
    /// libavcodec qscale of the thumbnails the server made by decoding (same look).
    static let stillQuality = 5
    /// Seconds between stills within a shot.
    static let stillSpacing = 4.0

    /// A still read back and checked: its time, JPEG bytes and size.
    package struct Still: Sendable {
        package var ms: Int64
        package var jpeg: Data
        package var width: Int
        package var height: Int
    }

    /// The encoder ingest keeps for a video's stills (swscale downscales the full picture).
    package func makeStillSession() -> JPEGEncoderSession {
        JPEGEncoderSession(JPEGEncoder(quality: Self.stillQuality, maxDimension: Self.stillMaxDimension))
    }

    static func milliseconds(_ seconds: Double) -> Int64 { Int64((seconds * 1000).rounded()) }

    // Payload: "RS1", ms i64, width u16, height u16, JPEG.
    static let stillMagic: [UInt8] = [0x52, 0x53, 0x31]

    func stillPayload(_ jpeg: Data, ms: Int64, width: Int, height: Int) -> Data {
        var out = Data(Self.stillMagic)
        withUnsafeBytes(of: ms.littleEndian) { out.append(contentsOf: $0) }
        for v in [width, height] { withUnsafeBytes(of: UInt16(v).littleEndian) { out.append(contentsOf: $0) } }
        out.append(jpeg)
        return out
    }

    /// Parses and checks a stored still: header, time, size within the still's bounds, and a
    /// JPEG that decodes to exactly that size. nil for anything else.
    func parseStill(_ data: Data, ms: Int64) -> Still? {
        let b = [UInt8](data)
        guard b.count > 15, Array(b[0..<3]) == Self.stillMagic else { return nil }
        let at = (0..<8).reduce(Int64(0)) { $0 | Int64(b[3 + $1]) << (8 * Int64($1)) }
        let w = Int(b[11]) | Int(b[12]) << 8
        let h = Int(b[13]) | Int(b[14]) << 8
        guard at == ms, w > 0, h > 0, max(w, h) <= Self.stillMaxDimension else { return nil }
        let jpeg = Data(b[15...])
        guard let picture = try? JPEGDecoder(maxDimension: Self.stillMaxDimension).decode(jpeg),
            picture.width == w, picture.height == h
        else { return nil }
        return Still(ms: at, jpeg: jpeg, width: w, height: h)
    }

    /// One still to store: the full picture of the I-frame at `time` seconds, downscaled and
    /// encoded now (ingest holds the bytes, not the picture, until it writes a group).
    package func encodeStill(_ image: RGBImage, time: Double, session: JPEGEncoderSession) throws -> (
        ms: Int64, data: Data
    ) {
        let ms = Self.milliseconds(time)
        let (w, h) = session.settings.outputSize(width: image.width, height: image.height)
        return (ms, stillPayload(try session.encode(image), ms: ms, width: w, height: h))
    }

    /// Stores encoded stills of the video with content hash `video`.
    package func writeStills(video: String, _ stills: [(ms: Int64, data: Data)]) throws {
        try file.putStills(video: video, stills: stills)
    }

    /// The still for time `seconds` of the video with content hash `video`: the one at or
    /// before it within `tolerance` seconds, else the nearest after within it. A stored still
    /// that fails its checks is deleted and nil returned (the caller decodes the original).
    package func still(video: String, at seconds: Double, tolerance: Double) -> Still? {
        guard
            let (ms, data) = file.still(
                video: video, at: Self.milliseconds(seconds), tolerance: Self.milliseconds(tolerance))
        else { return nil }
        guard let still = parseStill(data, ms: ms) else {
            file.removeStill(video: video, ms: ms)
            return nil
        }
        return still
    }
}

extension Library {
    /// The stored still for sampled frame `index` of `v` (see `FrameTier.still`), or nil when
    /// the tier is off or holds none near it. Reads no video file.
    package func still(_ v: VideoRecord, index: Int) throws -> FrameTier.Still? {
        guard let tier = frameTier else { return nil }
        let offsets = try offsets(of: v)
        guard offsets.indices.contains(index) else {
            throw StoreError.invalidArgument("frame \(index) is outside \(v.path) (frames 0..<\(offsets.count))")
        }
        // The last still is at most the still spacing plus one I-frame spacing back.
        let spacing = Double(max(0, v.n) + 1) / max(v.fps, 0.001)
        return tier.still(
            video: v.contentHash, at: offsets[index].time, tolerance: FrameTier.stillSpacing + min(spacing, 60) + 0.05)
    }
}
