import CKernels
import Foundation

/// CRC-32 (IEEE 802.3, as zlib): detects corrupted stored blobs before they are decoded.
/// Computed in C (`rs_crc32`, slice-by-8): every stage-1 candidate and every tier frame is
/// checked on read, and the byte-at-a-time Swift loop was half of reading a video's features.
public enum CRC32 {
    public static func checksum<C: Collection>(_ bytes: C) -> UInt32 where C.Element == UInt8 {
        if let data = bytes as? Data { return checksum(data) }
        if let c = bytes.withContiguousStorageIfAvailable({ rs_crc32(0, $0.baseAddress, $0.count) }) { return c }
        return Array(bytes).withUnsafeBufferPointer { rs_crc32(0, $0.baseAddress, $0.count) }
    }

    public static func checksum(_ data: Data) -> UInt32 {
        data.withUnsafeBytes { rs_crc32(0, $0.baseAddress, $0.count) }
    }
}
