import Foundation

/// A thread-safe least-recently-used map bounded by bytes, not entries: decoded frames and
/// reconstructed features differ in size by orders of magnitude, and memory is what matters.
///
/// Each entry is charged the cost its owner gives; `stats.bytes` never exceeds the budget.
/// An entry costing more than the whole budget is not stored (and replaces nothing but its
/// own older version).
public final class ByteBudgetLRU<Key: Hashable, Value>: @unchecked Sendable {
    public struct Stats: Sendable, Equatable, CustomStringConvertible {
        public var hits: Int
        public var misses: Int
        /// Entries dropped to make room (not replacements, rejections or `removeAll`).
        public var evictions: Int
        /// Charged bytes held, never above `byteBudget`.
        public var bytes: Int
        public var count: Int
        /// Sum of the entries' raw sizes (equals `bytes` minus overheads when nothing is compressed).
        public var rawBytes: Int
        public var byteBudget: Int

        public var hitRate: Double { hits + misses == 0 ? 0 : Double(hits) / Double(hits + misses) }
        public var description: String {
            """
            \(count) entries, \(bytes)/\(byteBudget) bytes (raw \(rawBytes)), hits \(hits), misses \(misses), \
            evictions \(evictions)
            """
        }
    }

    public let byteBudget: Int

    private struct Node {
        var key: Key
        var value: Value?
        var cost: Int
        var rawCost: Int
        var prev: Int  // towards most recently used; -1 = none
        var next: Int  // towards least recently used; -1 = none
    }

    private let lock = NSLock()
    private var index: [Key: Int] = [:]
    private var nodes: [Node] = []
    private var free: [Int] = []
    private var head = -1, tail = -1
    private var hits = 0, misses = 0, evictions = 0, bytes = 0, rawBytes = 0

    public init(byteBudget: Int) {
        precondition(byteBudget >= 0, "negative byte budget")
        self.byteBudget = byteBudget
    }

    /// The value for `key`, made most recently used; nil counts as a miss.
    public func get(_ key: Key) -> Value? {
        lock.lock()
        defer { lock.unlock() }
        guard let slot = index[key] else {
            misses += 1
            return nil
        }
        hits += 1
        moveToFront(slot)
        return nodes[slot].value
    }

    /// Stores `value` (replacing an older one), evicting least recently used entries to fit.
    public func put(_ key: Key, _ value: Value, cost: Int, rawCost: Int? = nil) {
        lock.lock()
        defer { lock.unlock() }
        if let old = index[key] { remove(slot: old) }
        guard cost <= byteBudget else { return }
        while bytes + cost > byteBudget, tail >= 0 {
            remove(slot: tail)
            evictions += 1
        }
        let node = Node(key: key, value: value, cost: cost, rawCost: rawCost ?? cost, prev: -1, next: head)
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
        rawBytes += node.rawCost
    }

    /// Whether `key` is held (not a hit or a miss; recency unchanged).
    public func contains(_ key: Key) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        return index[key] != nil
    }

    public var stats: Stats {
        lock.lock()
        defer { lock.unlock() }
        return Stats(
            hits: hits, misses: misses, evictions: evictions, bytes: bytes, count: index.count,
            rawBytes: rawBytes, byteBudget: byteBudget)
    }

    /// Drops every entry; counters are kept.
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

    // MARK: list bookkeeping (lock held)

    private func unlink(_ slot: Int) {
        let p = nodes[slot].prev
        let n = nodes[slot].next
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
        index[nodes[slot].key] = nil
        bytes -= nodes[slot].cost
        rawBytes -= nodes[slot].rawCost
        nodes[slot].value = nil  // release now
        free.append(slot)
    }
}
