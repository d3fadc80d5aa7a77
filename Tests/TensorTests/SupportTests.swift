import Support
import XCTest

final class SupportTests: XCTestCase {
    func testLRUEvictsLeastRecentlyUsedWithinBudget() {
        let lru = ByteBudgetLRU<Int, String>(byteBudget: 30)
        lru.put(1, "a", cost: 10)
        lru.put(2, "b", cost: 10)
        lru.put(3, "c", cost: 10)
        XCTAssertEqual(lru.get(1), "a")  // 1 becomes most recent
        lru.put(4, "d", cost: 10)  // evicts 2
        XCTAssertNil(lru.get(2))
        XCTAssertEqual(lru.get(3), "c")
        XCTAssertEqual(lru.stats.evictions, 1)
        XCTAssertEqual(lru.stats.bytes, 30)
        lru.put(5, "huge", cost: 31)  // larger than the budget: not stored, nothing evicted
        XCTAssertNil(lru.get(5))
        XCTAssertEqual(lru.stats.count, 3)
        lru.put(3, "c2", cost: 5)  // replacement is not an eviction
        XCTAssertEqual(lru.get(3), "c2")
        XCTAssertEqual(lru.stats.bytes, 25)
        XCTAssertEqual(lru.stats.evictions, 1)
        XCTAssertEqual(lru.stats.hits, 3)
        XCTAssertEqual(lru.stats.misses, 2)
    }

    func testLZ4RoundTripAndCorruption() {
        let raw = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 / 7) }
        let packed = LZ4Block.compress(raw)!
        XCTAssertLessThan(packed.count, raw.count)
        XCTAssertEqual(LZ4Block.decompress(packed, rawCount: raw.count), raw)
        XCTAssertNil(LZ4Block.decompress(packed, rawCount: raw.count + 1), "wrong size is detected")
        XCTAssertNil(
            LZ4Block.decompress(packed.prefix(packed.count / 2), rawCount: raw.count), "truncation is detected")
        XCTAssertEqual(LZ4Block.decompress(LZ4Block.compress([])!, rawCount: 0), [])
    }
}
