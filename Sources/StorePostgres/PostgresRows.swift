import Foundation
import PostgresNIO
import Store
import Timeline

/// Columns and row decoding of the PostgreSQL schema (Migrations/postgres), by column name.
enum PostgresRows {
    static let videoColumns = """
        id, path, content_hash, size, mtime, duration, time_base_num, time_base_den, fps, n, p, strategy, codec, model_id, \
        status, error, frame_count, info, mask_seed, created_at, updated_at, fingerprint, damage, lease_owner, \
        lease_heartbeat_at, lease_expires_at, motion_source, iframes, shot_starts
        """
    static let modelColumns = "id, name, config, weights_sha256, tokenizer_sha256, embed_dim, created_at, config_sha256"

    static func video(_ r: PostgresRandomAccessRow) throws -> VideoRecord {
        let codec = try r["codec"].decode(String.self)
        var v = VideoRecord(
            path: try r["path"].decode(String.self), contentHash: try r["content_hash"].decode(String.self),
            size: try r["size"].decode(Int64.self), mtime: try r["mtime"].decode(Double.self),
            duration: try r["duration"].decode(Double.self), timeBaseNum: try r["time_base_num"].decode(Int.self),
            timeBaseDen: try r["time_base_den"].decode(Int.self), fps: try r["fps"].decode(Double.self),
            n: try r["n"].decode(Int.self), p: try r["p"].decode(Double.self),
            strategy: try r["strategy"].decode(String.self),
            codec: FeatureCodec(rawValue: codec) ?? .f16, info: try r["info"].decode(String.self),
            fingerprint: try r["fingerprint"].decode(String.self))
        v.codec = codec
        v.id = try r["id"].decode(Int64.self)
        v.modelId = try r["model_id"].decode(Int64.self)
        let status = try r["status"].decode(String.self)
        guard let s = VideoRecord.Status(rawValue: status) else {
            throw StoreError.invalidArgument("video \(v.id!): unknown status \(status)")
        }
        v.status = s
        v.error = try r["error"].decode(String?.self)
        v.frameCount = try r["frame_count"].decode(Int.self)
        v.maskSeed = try r["mask_seed"].decode(Int64.self)
        v.createdAt = try r["created_at"].decode(Double.self)
        v.updatedAt = try r["updated_at"].decode(Double.self)
        v.damage = try r["damage"].decode(String?.self)
        v.leaseOwner = try r["lease_owner"].decode(String?.self)
        v.leaseHeartbeatAt = try r["lease_heartbeat_at"].decode(Double?.self)
        v.leaseExpiresAt = try r["lease_expires_at"].decode(Double?.self)
        v.motionSource = try r["motion_source"].decode(String?.self)
        v.iframes = try r["iframes"].decode(String.self)
        v.shotStarts = try (r["shot_starts"].decode(Data?.self)).map(ShotStarts.decode) ?? .none
        return v
    }

    static func model(_ r: PostgresRandomAccessRow) throws -> ModelRecord {
        ModelRecord.stored(
            id: try r["id"].decode(Int64.self), name: try r["name"].decode(String.self),
            config: try r["config"].decode(String.self),
            weightsSha256: try r["weights_sha256"].decode(String.self),
            tokenizerSha256: try r["tokenizer_sha256"].decode(String.self),
            embedDim: try r["embed_dim"].decode(Int.self), createdAt: try r["created_at"].decode(Double.self),
            configSha256: try r["config_sha256"].decode(String.self))
    }

    static func chunk(_ r: PostgresRandomAccessRow) throws -> RawChunk {
        RawChunk(
            firstFrame: try r["first_frame"].decode(Int.self), frameCount: try r["frame_count"].decode(Int.self),
            offsets: try r["offsets"].decode(Data.self), features: try r["features"].decode(Data.self))
    }
}
