import CFaiss
import Foundation

/// A FAISS index (inner product over float32 rows) through the CFaiss wrapper: every C++
/// failure comes back as a `FaissError` naming the operation, never as a crash.
///
/// Not safe for concurrent mutation: the owner serialises `train`, `add` and `remove` against
/// searches (see `Stage1ANNCache`).
package final class FaissIndex: @unchecked Sendable {
    package struct FaissError: Error, CustomStringConvertible {
        package var operation: String
        package var message: String
        package var description: String { "FAISS \(operation) failed: \(message)" }
    }

    let handle: OpaquePointer

    /// A new, untrained index from a FAISS factory string (e.g. "IVF1024,PQ32").
    package init(dim: Int, factory: String) throws {
        var err = [CChar](repeating: 0, count: 512)
        guard dim > 0, dim <= 1 << 16, let h = rs_faiss_create(Int32(dim), factory, &err, err.count) else {
            throw FaissError(
                operation: "create \(factory) (dim \(dim))",
                message: dim > 0 && dim <= 1 << 16 ? Self.text(err) : "bad dimension")
        }
        handle = h
    }

    /// An index read back from `serialized()`'s bytes (checked by FAISS as it parses).
    package init(serialized bytes: UnsafeRawBufferPointer) throws {
        var err = [CChar](repeating: 0, count: 512)
        guard let base = bytes.baseAddress, bytes.count > 0,
            let h = rs_faiss_deserialize(base.assumingMemoryBound(to: UInt8.self), bytes.count, &err, err.count)
        else {
            throw FaissError(operation: "read", message: bytes.isEmpty ? "no bytes" : Self.text(err))
        }
        handle = h
    }

    deinit { rs_faiss_free(handle) }

    package var dim: Int { Int(rs_faiss_dim(handle)) }
    package var count: Int { Int(rs_faiss_ntotal(handle)) }
    package var isTrained: Bool { rs_faiss_is_trained(handle) != 0 }
    /// Bytes of one stored code (each vector also keeps an 8-byte id).
    package var codeSize: Int { rs_faiss_code_size(handle) }
    package var lists: Int { rs_faiss_nlist(handle) }

    /// Trains the quantisers on `vectors` (rows of `dim`).
    package func train(_ vectors: [Float]) throws {
        let n = try rowCount(vectors)
        try call("train (\(n) vectors)") { rs_faiss_train(handle, Int64(n), vectors, $0, $1) }
    }

    /// Adds rows with their ids.
    package func add(_ vectors: [Float], ids: [Int64]) throws {
        let n = try rowCount(vectors)
        guard ids.count == n else { throw FaissError(operation: "add", message: "\(ids.count) ids for \(n) vectors") }
        guard n > 0 else { return }
        try call("add (\(n) vectors)") { rs_faiss_add_with_ids(handle, Int64(n), vectors, ids, $0, $1) }
    }

    /// Removes every vector whose `id >> shift` is in `groups`; returns how many went.
    @discardableResult
    package func remove(groups: [Int64], shift: Int) throws -> Int {
        var removed: Int64 = 0
        try call("remove (\(groups.count) groups)") {
            rs_faiss_remove_groups(handle, groups, groups.count, Int32(shift), &removed, $0, $1)
        }
        return Int(removed)
    }

    /// The `k` best rows for `query` (highest inner product first), probing `nprobe` lists.
    package func search(_ query: [Float], k: Int, nprobe: Int) throws -> [(id: Int64, score: Float)] {
        guard query.count == dim else {
            throw FaissError(operation: "search", message: "query of \(query.count) values, index of \(dim)")
        }
        let kk = max(1, min(k, max(1, count)))
        var scores = [Float](repeating: 0, count: kk)
        var labels = [Int64](repeating: -1, count: kk)
        try call("search (k \(kk), nprobe \(nprobe))") {
            rs_faiss_search(handle, 1, query, Int64(kk), max(1, nprobe), &scores, &labels, $0, $1)
        }
        return zip(labels, scores).compactMap { $0.0 < 0 ? nil : (id: $0.0, score: $0.1) }
    }

    /// The index in FAISS's serialised form.
    package func serialized() throws -> Data {
        var out: UnsafeMutablePointer<UInt8>?
        var size = 0
        try call("write") { rs_faiss_serialize(handle, &out, &size, $0, $1) }
        guard let out else { throw FaissError(operation: "write", message: "no buffer") }
        return Data(
            bytesNoCopy: out, count: size,
            deallocator: .custom { p, _ in rs_faiss_buffer_free(p.assumingMemoryBound(to: UInt8.self)) })
    }

    /// Threads FAISS's OpenMP loops (training, batched adds) may use.
    package static func setThreads(_ n: Int) { rs_faiss_set_threads(Int32(n)) }

    private func rowCount(_ vectors: [Float]) throws -> Int {
        guard vectors.count % dim == 0 else {
            throw FaissError(
                operation: "input", message: "\(vectors.count) values is not a whole number of \(dim)-d rows")
        }
        return vectors.count / dim
    }

    private func call(_ operation: String, _ body: (UnsafeMutablePointer<CChar>, Int) -> Int32) throws {
        var err = [CChar](repeating: 0, count: 512)
        let rc = err.withUnsafeMutableBufferPointer { body($0.baseAddress!, $0.count) }
        if rc != 0 { throw FaissError(operation: operation, message: Self.text(err)) }
    }

    private static func text(_ err: [CChar]) -> String {
        String(decoding: err.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
