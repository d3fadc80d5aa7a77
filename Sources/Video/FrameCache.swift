import CLZ4
import Foundation

/// Identifies one sampled frame of one video: the video's content hash and the frame's index in
/// the sampled sequence.
public struct FrameKey: Hashable, Sendable, CustomStringConvertible {
    public var videoHash: String
    public var index: Int

    public init(videoHash: String, index: Int) {
        self.videoHash = videoHash
        self.index = index
    }

    public var description: String { "\(videoHash)#\(index)" }
}

/// A thread-safe LRU cache of decoded, preprocessed frames (typically 224x224 RGB crops), bounded
/// by bytes rather than by count.
///
/// - Each entry costs its stored pixel bytes (after LZ4 when `compress` is on) plus
///   `entryOverhead` for the key and bookkeeping; `stats.bytes` (the sum) never exceeds the budget.
/// - `put` evicts least recently used entries until the new one fits; an entry that alone costs more
///   than the budget is not stored (and any older entry under the same key is dropped).
/// - `get` returns the image bit-identical to the one `put`, and marks it most recently used.
/// - Compression and decompression run outside the lock; only the bookkeeping is serialised.
public final class FrameCache: @unchecked Sendable {
    /// Counters and occupancy at one instant.
    public struct Stats: Sendable, Equatable, CustomStringConvertible {
        /// `get`s that found their key.
        public var hits: Int
        /// `get`s that did not.
        public var misses: Int
        /// Entries dropped to make room (not counting replacements, oversize rejections or `removeAll`).
        public var evictions: Int
        /// Bytes held: stored pixel bytes plus `entryOverhead` per entry. Never above `byteBudget`.
        public var bytes: Int
        /// Entries held.
        public var count: Int
        /// Uncompressed pixel bytes of the entries held (equals stored bytes without compression).
        public var rawBytes: Int
        /// The budget `bytes` stays within.
        public var byteBudget: Int

        public var hitRate: Double { hits + misses == 0 ? 0 : Double(hits) / Double(hits + misses) }

        public var description: String {
            "\(count) frames, \(bytes)/\(byteBudget) bytes (raw \(rawBytes)), hits \(hits), misses \(misses), "
                + "evictions \(evictions)"
        }
    }

    /// Bytes charged per entry on top of its pixels (key, node, array header): an estimate, so that
    /// many tiny entries cannot exceed the budget in practice.
    public static let entryOverhead = 96

    public let byteBudget: Int
    public let compress: Bool

    private struct Node {
        var key: FrameKey
        var width: Int
        var height: Int
        /// Raw RGB24, or LZ4 block when `compressed`.
        var data: [UInt8]
        var compressed: Bool
        var cost: Int
        var prev: Int  // towards most recently used; -1 = none
        var next: Int  // towards least recently used; -1 = none
    }

    private let lock = NSLock()
    private var index: [FrameKey: Int] = [:]
    private var nodes: [Node] = []
    private var free: [Int] = []
    private var head = -1  // most recently used
    private var tail = -1  // least recently used
    private var hits = 0, misses = 0, evictions = 0, bytes = 0, rawBytes = 0

    /// - Parameters:
    ///   - byteBudget: upper bound of `stats.bytes` (default 512 MiB).
    ///   - compress: store pixels LZ4-compressed (kept raw when LZ4 does not make them smaller).
    public init(byteBudget: Int = 512 << 20, compress: Bool = false) {
        precondition(byteBudget >= 0, "FrameCache: negative byte budget")
        self.byteBudget = byteBudget
        self.compress = compress
    }

    /// The cached image for `key`, or nil. A hit makes the entry the most recently used.
    public func get(_ key: FrameKey) -> RGBImage? {
        lock.lock()
        guard let slot = index[key] else {
            misses += 1
            lock.unlock()
            return nil
        }
        hits += 1
        moveToFront(slot)
        let node = nodes[slot]  // copies the array reference only
        lock.unlock()
        if !node.compressed {
            return RGBImage(width: node.width, height: node.height, pixels: node.data)
        }
        return RGBImage(width: node.width, height: node.height,
                        pixels: Self.decompress(node.data, rawCount: node.width * node.height * 3))
    }

    /// Stores `image` under `key` (replacing any previous entry), evicting least recently used
    /// entries as needed. Not stored if its cost alone exceeds the budget.
    public func put(_ key: FrameKey, _ image: RGBImage) {
        var data = image.pixels
        var compressed = false
        if compress, let packed = Self.compressLZ4(image.pixels), packed.count < image.pixels.count {
            data = packed
            compressed = true
        }
        let cost = data.count + Self.entryOverhead
        lock.lock()
        defer { lock.unlock() }
        if let old = index[key] { remove(slot: old) }
        guard cost <= byteBudget else { return }
        while bytes + cost > byteBudget, tail >= 0 {
            remove(slot: tail)
            evictions += 1
        }
        let node = Node(key: key, width: image.width, height: image.height, data: data,
                        compressed: compressed, cost: cost, prev: -1, next: head)
        let slot: Int
        if let reuse = free.popLast() {
            slot = reuse
            nodes[slot] = node
        } else {
            slot = nodes.count
            nodes.append(node)
        }
        if head >= 0 { nodes[head].prev = slot }
        head = slot
        if tail < 0 { tail = slot }
        index[key] = slot
        bytes += cost
        rawBytes += image.pixels.count
    }

    /// Whether `key` is cached (does not count as a hit or miss, does not touch recency).
    public func contains(_ key: FrameKey) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        return index[key] != nil
    }

    public var stats: Stats {
        lock.lock()
        defer { lock.unlock() }
        return Stats(hits: hits, misses: misses, evictions: evictions, bytes: bytes, count: index.count,
                     rawBytes: rawBytes, byteBudget: byteBudget)
    }

    /// Drops every entry (counters are kept; this is not counted as evictions).
    public func removeAll() {
        lock.lock()
        defer { lock.unlock() }
        index.removeAll()
        nodes.removeAll()
        free.removeAll()
        head = -1
        tail = -1
        bytes = 0
        rawBytes = 0
    }

    // MARK: - list bookkeeping (lock held)

    private func unlink(_ slot: Int) {
        let p = nodes[slot].prev, n = nodes[slot].next
        if p >= 0 { nodes[p].next = n } else { head = n }
        if n >= 0 { nodes[n].prev = p } else { tail = p }
        nodes[slot].prev = -1
        nodes[slot].next = -1
    }

    private func moveToFront(_ slot: Int) {
        guard head != slot else { return }
        unlink(slot)
        nodes[slot].next = head
        if head >= 0 { nodes[head].prev = slot }
        head = slot
        if tail < 0 { tail = slot }
    }

    private func remove(slot: Int) {
        unlink(slot)
        let node = nodes[slot]
        index[node.key] = nil
        bytes -= node.cost
        rawBytes -= node.width * node.height * 3
        nodes[slot].data = []  // release the pixels now
        free.append(slot)
    }

    // MARK: - LZ4

    /// LZ4 block compression (`LZ4_compress_default`), nil if it fails.
    static func compressLZ4(_ raw: [UInt8]) -> [UInt8]? {
        guard !raw.isEmpty, raw.count <= Int(LZ4_MAX_INPUT_SIZE) else { return nil }
        let bound = Int(LZ4_compressBound(Int32(raw.count)))
        var out = [UInt8](repeating: 0, count: bound)
        let n = raw.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                src.withMemoryRebound(to: CChar.self) { s in
                    dst.withMemoryRebound(to: CChar.self) { d in
                        LZ4_compress_default(s.baseAddress, d.baseAddress, Int32(raw.count), Int32(bound))
                    }
                }
            }
        }
        guard n > 0 else { return nil }
        out.removeSubrange(Int(n)...)
        return out
    }

    /// Inverse of `compressLZ4` for a block of known uncompressed size.
    static func decompress(_ packed: [UInt8], rawCount: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: rawCount)
        let n = packed.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                src.withMemoryRebound(to: CChar.self) { s in
                    dst.withMemoryRebound(to: CChar.self) { d in
                        LZ4_decompress_safe(s.baseAddress, d.baseAddress, Int32(packed.count), Int32(rawCount))
                    }
                }
            }
        }
        // The cache wrote this block itself; anything else is memory corruption.
        precondition(Int(n) == rawCount, "FrameCache: LZ4 block does not decompress to \(rawCount) bytes (\(n))")
        return out
    }
}
