import CLIP
import Foundation
import XCTest

@testable import Video

final class FrameCacheTests: XCTestCase {
    /// A deterministic image per key: smooth (LZ4-compressible) or noise (incompressible).
    static func image(_ key: FrameKey, width: Int = 16, height: Int = 16, noise: Bool = false) -> RGBImage {
        var rng = SplitMix(seed: UInt64(key.index) &* 7919 &+ UInt64(key.videoHash.utf8.count))
        var px = [UInt8](repeating: 0, count: width * height * 3)
        for i in 0..<px.count {
            px[i] =
                noise ? UInt8(truncatingIfNeeded: rng.next()) : UInt8(truncatingIfNeeded: (i / 48 + key.index) & 0xFF)
        }
        return RGBImage(width: width, height: height, pixels: px)
    }

    static func key(_ i: Int, _ video: String = "v") -> FrameKey { FrameKey(videoHash: video, fps: 2, index: i) }

    static let cost16 = 16 * 16 * 3 + FrameCache.entryOverhead

    func testMissThenHit() {
        let cache = FrameCache()
        let k = Self.key(1)
        XCTAssertNil(cache.get(k))
        let img = Self.image(k)
        cache.put(k, img)
        XCTAssertEqual(cache.get(k), img)
        XCTAssertNil(cache.get(Self.key(1, "other")))
        let s = cache.stats
        XCTAssertEqual(s.hits, 1)
        XCTAssertEqual(s.misses, 2)
        XCTAssertEqual(s.evictions, 0)
        XCTAssertEqual(s.count, 1)
        XCTAssertEqual(s.bytes, Self.cost16)
        XCTAssertEqual(s.rawBytes, 16 * 16 * 3)
        XCTAssertEqual(s.byteBudget, 512 << 20)
        XCTAssertEqual(s.hitRate, 1.0 / 3.0, accuracy: 1e-12)
    }

    func testLRUOrder() {
        let cache = FrameCache(byteBudget: 3 * Self.cost16)
        for i in 0..<3 { cache.put(Self.key(i), Self.image(Self.key(i))) }
        XCTAssertEqual(cache.stats.count, 3)
        // Touch 0: the least recently used is now 1.
        XCTAssertNotNil(cache.get(Self.key(0)))
        cache.put(Self.key(3), Self.image(Self.key(3)))
        XCTAssertTrue(cache.contains(Self.key(0)))
        XCTAssertFalse(cache.contains(Self.key(1)))
        XCTAssertTrue(cache.contains(Self.key(2)))
        XCTAssertTrue(cache.contains(Self.key(3)))
        XCTAssertEqual(cache.stats.evictions, 1)
        // Next to go: 2, then 0 (3 was inserted after 0 was touched).
        cache.put(Self.key(4), Self.image(Self.key(4)))
        XCTAssertFalse(cache.contains(Self.key(2)))
        cache.put(Self.key(5), Self.image(Self.key(5)))
        XCTAssertFalse(cache.contains(Self.key(0)))
        XCTAssertEqual(Set((0..<6).filter { cache.contains(Self.key($0)) }), [3, 4, 5])
        XCTAssertEqual(cache.stats.evictions, 3)
        XCTAssertEqual(cache.stats.count, 3)
        // Re-putting an existing key replaces it in place and makes it most recent; no eviction.
        cache.put(Self.key(3), Self.image(Self.key(3)))
        cache.put(Self.key(6), Self.image(Self.key(6)))
        XCTAssertEqual(Set((0..<7).filter { cache.contains(Self.key($0)) }), [3, 5, 6])
        XCTAssertEqual(cache.stats.evictions, 4)
        // contains() does not touch recency or counters.
        XCTAssertEqual(cache.stats.hits, 1)
        XCTAssertEqual(cache.stats.misses, 0)
    }

    func testByteBudgetNeverExceeded() {
        let budget = 40_000
        let cache = FrameCache(byteBudget: budget)
        var rng = SplitMix(seed: 3)
        var evictionsSeen = 0
        var expectedEvictions = 0
        var live: [FrameKey: Int] = [:]  // key -> cost, mirrored LRU (oldest first)
        var order: [FrameKey] = []
        for i in 0..<500 {
            let k = Self.key(Int(rng.next() % 40))
            let side = Int(rng.next() % 60) + 1
            let img = Self.image(k, width: side, height: side)
            let cost = side * side * 3 + FrameCache.entryOverhead
            // Model: replace, reject oversize, evict oldest until it fits.
            if live[k] != nil {
                live[k] = nil
                order.removeAll { $0 == k }
            }
            if cost <= budget {
                while live.values.reduce(0, +) + cost > budget {
                    live[order.removeFirst()] = nil
                    expectedEvictions += 1
                }
                live[k] = cost
                order.append(k)
            }
            cache.put(k, img)
            if i % 3 == 0, let hit = order.first, cache.get(hit) != nil {  // touch the oldest
                order.removeFirst()
                order.append(hit)
            }
            let s = cache.stats
            XCTAssertLessThanOrEqual(s.bytes, budget)
            XCTAssertEqual(s.bytes, live.values.reduce(0, +))
            XCTAssertEqual(s.count, live.count)
            XCTAssertGreaterThanOrEqual(s.evictions, evictionsSeen)
            evictionsSeen = s.evictions
        }
        XCTAssertEqual(cache.stats.evictions, expectedEvictions)
        XCTAssertGreaterThan(expectedEvictions, 50)
        for k in live.keys { XCTAssertTrue(cache.contains(k)) }
    }

    func testOversizeEntryIsNotStored() {
        let cache = FrameCache(byteBudget: 2 * Self.cost16)
        cache.put(Self.key(0), Self.image(Self.key(0)))
        cache.put(Self.key(1), Self.image(Self.key(1), width: 32, height: 32))  // 3072 + overhead > budget
        XCTAssertFalse(cache.contains(Self.key(1)))
        XCTAssertTrue(cache.contains(Self.key(0)), "a rejected entry evicts nothing")
        XCTAssertEqual(cache.stats.evictions, 0)
        XCTAssertEqual(cache.stats.count, 1)
        // Replacing a cached key with an oversize image drops the stale entry.
        cache.put(Self.key(0), Self.image(Self.key(0), width: 32, height: 32))
        XCTAssertFalse(cache.contains(Self.key(0)))
        XCTAssertEqual(cache.stats.count, 0)
        XCTAssertEqual(cache.stats.bytes, 0)
        let zero = FrameCache(byteBudget: 0)
        zero.put(Self.key(0), Self.image(Self.key(0)))
        XCTAssertNil(zero.get(Self.key(0)))
    }

    func testCompressedRoundTripIsIdentical() throws {
        let cache = FrameCache(byteBudget: 64 << 20, compress: true)
        // A real 224x224 crop (the preprocessing fixture), a smooth image and pure noise.
        let frameCase = try XCTUnwrap(PreprocessTests.manifest().cases.last { $0.kind == "png" })
        let crop = try PreprocessTests.bytes(frameCase.crop)
        let real = RGBImage(width: 224, height: 224, pixels: crop)
        let smooth = Self.image(Self.key(1), width: 224, height: 224)
        let noise = Self.image(Self.key(2), width: 224, height: 224, noise: true)
        let odd = Self.image(Self.key(3), width: 7, height: 3, noise: true)
        let images = [real, smooth, noise, odd]
        for (i, img) in images.enumerated() { cache.put(Self.key(i, "lz4"), img) }
        for (i, img) in images.enumerated() { XCTAssertEqual(cache.get(Self.key(i, "lz4")), img, "image \(i)") }
        let s = cache.stats
        XCTAssertEqual(s.rawBytes, images.reduce(0) { $0 + $1.pixels.count })
        // Smooth content shrinks; noise is kept raw (LZ4 cannot shrink it), so never above raw + overhead.
        XCTAssertLessThan(s.bytes, s.rawBytes)
        XCTAssertLessThanOrEqual(s.bytes, s.rawBytes + 4 * FrameCache.entryOverhead)
        let smoothOnly = FrameCache(compress: true)
        smoothOnly.put(Self.key(0), smooth)
        XCTAssertLessThan(smoothOnly.stats.bytes, smooth.pixels.count / 4)
        print("FrameCache LZ4: \(s)")
    }

    func testRemoveAll() {
        let cache = FrameCache(compress: true)
        for i in 0..<10 { cache.put(Self.key(i), Self.image(Self.key(i))) }
        XCTAssertNotNil(cache.get(Self.key(3)))
        cache.removeAll()
        let s = cache.stats
        XCTAssertEqual(s.count, 0)
        XCTAssertEqual(s.bytes, 0)
        XCTAssertEqual(s.rawBytes, 0)
        XCTAssertEqual(s.hits, 1)
        XCTAssertEqual(s.evictions, 0)
        XCTAssertNil(cache.get(Self.key(3)))
        cache.put(Self.key(3), Self.image(Self.key(3)))
        XCTAssertEqual(cache.get(Self.key(3)), Self.image(Self.key(3)))
    }

    func testConcurrentAccess() {
        for compress in [false, true] {
            let budget = 20 * Self.cost16
            let cache = FrameCache(byteBudget: budget, compress: compress)
            let images = (0..<64).map { Self.image(Self.key($0), noise: $0 % 2 == 0) }
            let gets = Counter()
            let found = Counter()
            let wrong = Counter()
            let threads = 8
            let opsPerThread = 3000
            DispatchQueue.concurrentPerform(iterations: threads) { t in
                var rng = SplitMix(seed: UInt64(t) + 100)
                for _ in 0..<opsPerThread {
                    let i = Int(rng.next() % 64)
                    switch rng.next() % 10 {
                    case 0..<4:
                        cache.put(Self.key(i), images[i])
                    case 9:
                        _ = cache.stats
                    default:
                        gets.add()
                        if let img = cache.get(Self.key(i)) {
                            found.add()
                            if img != images[i] { wrong.add() }
                        }
                    }
                }
            }
            let s = cache.stats
            XCTAssertEqual(wrong.value, 0, "a get returned another key's pixels")
            XCTAssertEqual(s.hits + s.misses, gets.value)
            XCTAssertEqual(s.hits, found.value)
            XCTAssertLessThanOrEqual(s.bytes, budget)
            XCTAssertLessThanOrEqual(s.count, 64)
            let present = (0..<64).filter { cache.contains(Self.key($0)) }
            XCTAssertEqual(present.count, s.count)
            XCTAssertEqual(s.rawBytes, s.count * 16 * 16 * 3)
            if !compress { XCTAssertEqual(s.bytes, s.count * Self.cost16) }
            XCTAssertGreaterThan(s.evictions, 0)
            for i in present { XCTAssertEqual(cache.get(Self.key(i)), images[i]) }
        }
    }
}

/// A thread-safe counter for the concurrency test.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    func add() {
        lock.lock()
        n += 1
        lock.unlock()
    }
    var value: Int {
        lock.lock()
        defer { lock.unlock() }
        return n
    }
}
