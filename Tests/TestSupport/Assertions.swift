import XCTest

/// Fails unless `a` and `b` have the same length and differ by at most `tolerance` anywhere;
/// the message names the worst difference.
public func assertClose(
    _ a: [Float], _ b: [Float], tolerance: Float = 1e-4, _ what: String,
    file: StaticString = #filePath, line: UInt = #line
) {
    XCTAssertEqual(a.count, b.count, "\(what): length", file: file, line: line)
    guard a.count == b.count else { return }
    var worst: Float = 0
    for i in 0..<a.count { worst = max(worst, abs(a[i] - b[i])) }
    XCTAssertLessThanOrEqual(worst, tolerance, "\(what): max abs diff \(worst)", file: file, line: line)
}
