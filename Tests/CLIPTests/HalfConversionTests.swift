import XCTest

@testable import CLIP

/// The half-to-float conversion used when loading f16 checkpoints equals Swift's own
/// `Float(Float16)` on every one of the 65,536 inputs.
final class HalfConversionTests: XCTestCase {
    func testEveryHalfConvertsExactly() {
        var wrong = 0
        for h in 0...UInt16.max {
            let expected = Float(Float16(bitPattern: h))
            let got = SafeTensorsFile.halfToFloat(h)
            if expected.isNaN ? !got.isNaN : got.bitPattern != expected.bitPattern {
                wrong += 1
                if wrong < 5 { XCTFail(String(format: "0x%04x: %@ != %@", h, "\(got)", "\(expected)")) }
            }
        }
        XCTAssertEqual(wrong, 0)
    }
}
