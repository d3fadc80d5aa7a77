import Foundation

/// Little-endian reads over a byte buffer, for the engine's own file formats (`<store>.matrix`,
/// `<store>.ann`); reads past the end give zeros (callers check sizes first).
public struct ByteReader {
    public let data: Data
    public var at: Int

    public init(_ data: Data) {
        self.data = data
        at = data.startIndex
    }

    public mutating func bytes(_ n: Int) -> Data {
        defer { at += n }
        return at + n <= data.endIndex ? data[at..<(at + n)] : Data()
    }

    public mutating func u32() -> UInt32 { bytes(4).reversed().reduce(0) { $0 << 8 | UInt32($1) } }
    public mutating func u64() -> UInt64 { bytes(8).reversed().reduce(0) { $0 << 8 | UInt64($1) } }

    /// Copies the next `dst.count` bytes (fewer at the end of the buffer) and moves past them.
    public mutating func copy(into dst: UnsafeMutableRawBufferPointer) {
        let n = min(dst.count, data.endIndex - at)
        guard n > 0 else { return }
        _ = data.copyBytes(to: dst.bindMemory(to: UInt8.self), from: at..<(at + n))
        at += dst.count
    }
}

extension Data {
    /// Appends `v` as little-endian bytes (the writing side of `ByteReader`).
    public mutating func appendLE<T: FixedWidthInteger>(_ v: T) {
        Swift.withUnsafeBytes(of: v.littleEndian) { append(contentsOf: $0) }
    }
}
