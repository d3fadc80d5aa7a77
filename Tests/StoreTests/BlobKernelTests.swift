import Foundation
import Support
import XCTest

@testable import Store

/// The C kernels stored blobs are read with (`rs_crc32`, `rs_f16_to_f32`) against independent
/// references: zlib's published CRC-32 check values and a bitwise CRC; Swift's own `Float16`.
final class BlobKernelTests: XCTestCase {
    /// The bit-at-a-time CRC-32 of the definition (reflected 0xEDB88320), no tables.
    private func bitwiseCRC(_ bytes: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            c ^= UInt32(b)
            for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        }
        return ~c
    }

    func testCRC32MatchesTheCheckValuesAndTheBitwiseDefinition() {
        XCTAssertEqual(CRC32.checksum(Data("123456789".utf8)), 0xCBF4_3926)  // the standard check value
        XCTAssertEqual(CRC32.checksum([UInt8]()), 0)
        XCTAssertEqual(CRC32.checksum(Data("The quick brown fox jumps over the lazy dog".utf8)), 0x414F_A339)
        var rng = SystemRandomNumberGenerator()
        // Every length around the 8-byte stride, slices that do not start at 0, and a large buffer.
        for n in Array(0..<40) + [1000, 4097, 65_536 + 3] {
            let bytes = (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
            XCTAssertEqual(CRC32.checksum(bytes), bitwiseCRC(bytes), "length \(n)")
            let data = Data([9, 9, 9] + bytes)
            XCTAssertEqual(CRC32.checksum(data.dropFirst(3)), bitwiseCRC(bytes), "Data slice, length \(n)")
            XCTAssertEqual(CRC32.checksum(bytes.lazy.map { $0 }), bitwiseCRC(bytes), "non-contiguous, length \(n)")
        }
    }

    /// Every one of the 65,536 halves, through the path this CPU takes and the portable one,
    /// at an odd (unaligned) address: the same value as Swift's conversion; NaNs stay NaNs.
    func testHalfWideningMatchesSwiftForEveryHalfOnBothPaths() {
        let halves = (0...UInt16.max).map { $0 }
        var bytes = [UInt8](repeating: 0, count: 1 + 2 * halves.count)
        for (i, h) in halves.enumerated() {
            bytes[1 + 2 * i] = UInt8(h & 0xFF)
            bytes[2 + 2 * i] = UInt8(h >> 8)
        }
        for portable in [false, true] {
            var out = [Float](repeating: -1, count: halves.count)
            bytes.withUnsafeBytes { src in
                out.withUnsafeMutableBufferPointer { dst in
                    if portable {
                        HalfPrecision.widenPortable(src.baseAddress! + 1, count: halves.count, into: dst.baseAddress!)
                    } else {
                        HalfPrecision.widen(src.baseAddress! + 1, count: halves.count, into: dst.baseAddress!)
                    }
                }
            }
            for (h, f) in zip(halves, out) {
                let want = Float(Float16(bitPattern: h))
                if want.isNaN {
                    XCTAssertTrue(f.isNaN, "half 0x\(String(h, radix: 16)) (portable \(portable))")
                } else if f.bitPattern != want.bitPattern {
                    XCTFail("half 0x\(String(h, radix: 16)): \(f) want \(want) (portable \(portable))")
                    return
                }
            }
        }
        print("f16 widening: this CPU takes the \(HalfPrecision.usesF16C ? "F16C" : "portable") path")
    }

    /// An f16 blob decodes to the values it was encoded from (the codec's fast path end to end),
    /// and a flipped payload byte is still refused by its checksum.
    func testF16BlobRoundTripsAndADamagedOneIsRefused() throws {
        let dim = 24
        let vectors = (0..<7).map { r in (0..<dim).map { Float(Float16(Float(r * dim + $0) / 100 - 0.8)) } }
        let blob = try FeatureCodec.f16.encode(vectors.flatMap { $0 }, dim: dim)
        let (d, values) = try FeatureCodec.decode(blob)
        XCTAssertEqual(d, dim)
        XCTAssertEqual(values, vectors.flatMap { $0 })
        var bad = blob
        bad[bad.count - 1] ^= 0x40
        XCTAssertThrowsError(try FeatureCodec.decode(bad))
    }
}
