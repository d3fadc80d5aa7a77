import Foundation
import Support
import XCTest

@testable import Store

/// Crafted blobs (the header lies outside the checksum) give a BlobError before anything large
/// is allocated, and checked arithmetic where deltas add up.
final class HostileBlobTests: XCTestCase {
    /// An "RSO2" blob around `raw`, stored without LZ4, with any header the test wants.
    func offsetsBlob(count: UInt32, first: UInt32 = 0, raw: [UInt8], rawLength: UInt32? = nil) -> Data {
        var b = Data("RSO2".utf8)
        b.append(1)  // stored raw
        b.appendLE(count)
        b.appendLE(first)
        b.appendLE(rawLength ?? UInt32(raw.count))
        b.appendLE(CRC32.checksum(raw))
        b.append(contentsOf: raw)
        return b
    }

    /// The BlobError's message, nil when `body` succeeds.
    func error(_ body: () throws -> Void) -> String? {
        do {
            try body()
            return nil
        } catch let e as BlobError { return e.description } catch { return "not a BlobError: \(error)" }
    }

    func testOffsetCountIsBoundedByTheBlobFromAbove() throws {
        // A real one-frame payload whose header claims 4 billion frames: refused on the header,
        // before reserving room for them (a 137 GB reservation before this check).
        let good = try OffsetCodec.encode([FrameOffsetRecord(index: 0, pts: 0, time: 0, seekPTS: 0)])
        let raw = try OffsetCodec.unpack(good).raw
        for count in [UInt32.max, 1 << 24, 4] {
            let reason = error { _ = try OffsetCodec.decode(offsetsBlob(count: count, raw: raw)) }
            XCTAssertNotNil(reason, "count \(count)")
            XCTAssertTrue(reason?.contains("claims \(count) frames") ?? false, "refused on the header: \(reason ?? "")")
        }
        XCTAssertEqual(try OffsetCodec.decode(offsetsBlob(count: 1, raw: raw)).count, 1)
    }

    func testOffsetDeltasThatOverflowAreErrors() throws {
        // pts delta Int64.max then +1: wrapped to Int64.min before; now an error naming the frame.
        var raw: [UInt8] = []
        withUnsafeBytes(of: 0.0.bitPattern.littleEndian) { raw.append(contentsOf: $0) }
        for d in [Int64.max, 1] {
            OffsetCodec.varint(OffsetCodec.zigzag(d), &raw)
            OffsetCodec.varint(0, &raw)
            OffsetCodec.varint(0, &raw)
        }
        let reason = error { _ = try OffsetCodec.decode(offsetsBlob(count: 2, first: 7, raw: raw)) }
        XCTAssertEqual(reason, "frame 8: pts or seek point overflows 64 bits")
        // The encoder refuses what the decoder would refuse.
        let far = [
            FrameOffsetRecord(index: 0, pts: .min, time: 0, seekPTS: .min),
            FrameOffsetRecord(index: 1, pts: .max, time: 1, seekPTS: .max),
        ]
        XCTAssertNotNil(error { _ = try OffsetCodec.encode(far) })
        // Extreme but representable timelines still round-trip.
        let edge = [
            FrameOffsetRecord(index: 3, pts: .max - 1, time: 0, seekPTS: .max - 1),
            FrameOffsetRecord(index: 4, pts: .max, time: 1, seekPTS: .max - 1),
        ]
        XCTAssertEqual(try OffsetCodec.decode(OffsetCodec.encode(edge)), edge)
    }

    func testFeatureBlobRawSizeIsCapped() throws {
        // A well-formed blob of 33,300 x 1024 f16 (68 MB of zeros, 270 KB of LZ4): decoded whole
        // before; now refused from its header, and the encoder will not write one either.
        let dim = 1024
        let count = 33_300
        let raw = [UInt8](repeating: 0, count: count * 2 * dim)
        let packed = try XCTUnwrap(LZ4Block.compress(raw))
        var b = Data("RSF1".utf8)
        b.append(FeatureCodec.f16.tag)
        b.appendLE(UInt16(dim))
        b.appendLE(UInt32(count))
        b.appendLE(UInt32(raw.count))
        b.appendLE(CRC32.checksum(packed))
        b.append(contentsOf: packed)
        let reason = error { _ = try FeatureCodec.decode(b) }
        XCTAssertTrue(reason?.contains("more than a blob may hold") ?? false, reason ?? "decoded")
        XCTAssertNotNil(error { _ = try FeatureCodec.header(b) })
        XCTAssertNotNil(error { _ = try FeatureCodec.f16.encode([Float](repeating: 0, count: count * dim), dim: dim) })
        // The largest chunk the engine writes (240 vectors of 65,535 dims, f32) still fits.
        XCTAssertLessThanOrEqual(240 * FeatureCodec.f32.rawBytes(dim: Int(UInt16.max)), FeatureCodec.maxRawBytes)
    }
}
